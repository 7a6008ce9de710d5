"""`make demo`의 두 번째 단계: 여러분의 quiz_search.py를 `python quiz_search.py`처럼 실행합니다.

    python quizzes/run_quiz_search.py [파일]      # 파일을 주지 않으면 이 폴더의 quiz_search.py

아직 채우지 않은 함수(NotImplementedError)가 있으면 traceback 대신 어느 함수인지와 그 힌트를 한국어로 알려 줍니다.
다른 오류는 평소처럼 traceback을 보여 줍니다: 어디를 고칠지 찾는 데 필요하니까요.
(이 파일은 학생용 배포본에만 있습니다: tools/student_edition/quizzes/run_quiz_search.py에서 복사됩니다.)
"""

import runpy
import sys
from pathlib import Path

QUIZ_FILE = Path(__file__).resolve().parent / "quiz_search.py"


def unfinished_function(error: BaseException, path: Path) -> str | None:
    """The innermost function of `path` the error passed through: the one the student has not written yet."""
    name, trace = None, error.__traceback__
    while trace is not None:
        if Path(trace.tb_frame.f_code.co_filename).resolve() == path.resolve():
            name = trace.tb_frame.f_code.co_name
        trace = trace.tb_next
    return name


def unfinished_hint(error: NotImplementedError, path: Path) -> str:
    """What to tell a student whose function still raises NotImplementedError, in Korean."""
    function = unfinished_function(error, path)
    where = f"{function}()" if function and function != "<module>" else "함수 하나"
    hint = str(error).strip() or "아직 작성하지 않았습니다."
    return f"아직 완성하지 않은 함수가 있습니다: {where}\n  힌트: {hint}"


def main(argv: list[str]) -> int:
    path = Path(argv[0]).resolve() if argv else QUIZ_FILE
    if not path.is_file():
        print(f"{path.name}이(가) 없습니다: 퀴즈 3-6(quiz_search.py)이 아직 나오지 않았거나 파일 이름이 다릅니다.")
        return 0
    try:
        runpy.run_path(str(path), run_name="__main__")
    except NotImplementedError as error:
        print(unfinished_hint(error, path))
        print(f"  {path.name}의 '# TODO' 자리를 채운 뒤 다시 실행하세요. 함수마다 확인하려면: make self-check")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
