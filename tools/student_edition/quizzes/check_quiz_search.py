"""퀴즈 3-6 스스로 확인하기: quiz_search.py의 함수 네 개와 main()을 공개된 것만으로 검사합니다.

    python quizzes/check_quiz_search.py [파일]     # 파일을 주지 않으면 이 폴더의 quiz_search.py (make self-check)

무엇을 보나: 모양, 순서, 값(mmembed가 같은 모델로 계산한 값과 코사인 유사도 > 0.99), 공개된 QUERY의 Top-1,
그리고 `python quiz_search.py`가 출력하는 네 줄. 함수마다 올바른 입력을 따로 넣어 보므로, 한 함수가 미완성이어도
나머지 함수는 검사합니다. 모델은 채점 모델(mmembed.grading.GRADING_MODEL, 기본 오프라인 모델 mini)입니다.

이 검사는 피드백이지 성적이 아닙니다. 채점기는 여기에 없는 숨은 문장으로도 검사하고, mmembed의 함수(load_clip 말고)를
부른 단계는 점수를 주지 않습니다. 이 스크립트는 비교할 값을 만들려고 mmembed를 부르지만, 여러분의 quiz_search.py는
부르면 안 됩니다. (이 파일은 학생용 배포본에만 있습니다: tools/student_edition/quizzes/check_quiz_search.py의 복사본.)
"""

import os
import random
import subprocess
import sys
import traceback
from pathlib import Path, PurePath

import numpy as np
import torch

import mmembed
from mmembed.grading import GRADING_MODEL
from mmembed.modules import load_module
from mmembed.paths import QUIZ_IMAGE_DIR

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_quiz_search import QUIZ_FILE, unfinished_hint  # noqa: E402  (this folder's helper, found by the line above)

N_IMAGES, EMBED_DIM = 200, 512
MIN_COSINE = 0.99  # the grader's threshold: a row agrees with the expected one above this
TOLERANCE_MEAN_RGB = 1.0  # mean pixel value (0-255) may differ this much between JPEG decoders
MAIN_TIMEOUT = 600  # seconds for `python quiz_search.py`


class Failed(Exception):
    """One check failed; the message (Korean) says what was expected and what came back."""


class Expected:
    """What a right quiz_search.py gives, computed with mmembed and the grading model."""

    def __init__(self, query: str):
        self.model, self.processor = mmembed.load_clip(GRADING_MODEL, device="cpu")
        self.images, self.names = mmembed.load_images(QUIZ_IMAGE_DIR)
        self.image_embeddings = mmembed.embed_images(
            self.images, self.model, self.processor, progress=False, precision="fp32"
        )
        self.query = query
        self.text_embedding = mmembed.embed_texts(query, self.model, self.processor, precision="fp32")
        self.top1 = mmembed.search(self.text_embedding, self.image_embeddings, self.names, k=1)[0][0]


def cosine_rows(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cosine_similarity(a.double(), b.double(), dim=-1)


def as_embedding(value, shape: tuple) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise Failed(f"torch.Tensor를 돌려줘야 하는데 {type(value).__name__}을(를) 돌려줬습니다.")
    if tuple(value.shape) != shape:
        raise Failed(f"모양이 {shape}이어야 하는데 {tuple(value.shape)}입니다.")
    value = value.detach().cpu().float()
    if not torch.isfinite(value).all():
        raise Failed("NaN이나 무한대가 들어 있습니다.")
    return value


def check_load_images(quiz, expected: Expected) -> str:
    result = quiz.load_images()
    if not (isinstance(result, tuple) and len(result) == 2):
        raise Failed("(사진 리스트, 파일 이름 리스트) 두 개를 돌려줘야 합니다.")
    images, names = result
    if len(images) != N_IMAGES or len(names) != N_IMAGES:
        raise Failed(f"사진 {N_IMAGES}장과 이름 {N_IMAGES}개가 나와야 하는데 {len(images)}장, {len(names)}개입니다.")
    names = [PurePath(str(name)).name for name in names]
    if names != expected.names:
        i = next(i for i, (got, want) in enumerate(zip(names, expected.names)) if got != want)
        raise Failed(
            f"파일 이름 순서가 다릅니다: {i}번째가 {expected.names[i]!r}여야 하는데 {names[i]!r}입니다. "
            "val_0, val_1, val_2, ..., val_10처럼 숫자 순서로 정렬하세요."
        )
    for i, (image, want) in enumerate(zip(images, expected.images)):
        if getattr(image, "mode", None) != "RGB":
            raise Failed(f"모든 사진이 RGB여야 하는데 {names[i]}의 mode가 {getattr(image, 'mode', None)!r}입니다.")
        got_mean, want_mean = (np.asarray(each, dtype=np.float64).reshape(-1, 3).mean(axis=0) for each in (image, want))
        if np.abs(got_mean - want_mean).max() > TOLERANCE_MEAN_RGB:
            raise Failed(f"{i}번째 사진이 {names[i]} 파일과 다릅니다. i번째 사진이 i번째 파일이어야 합니다.")
    return f"RGB 사진 {N_IMAGES}장이 val_0..val_199 순서로 나왔습니다."


def check_embed_images(quiz, expected: Expected) -> str:
    got = as_embedding(quiz.embed_images(expected.images, expected.model, expected.processor), (N_IMAGES, EMBED_DIM))
    cosines = cosine_rows(got, expected.image_embeddings)
    bad = (~(cosines > MIN_COSINE)).nonzero().flatten().tolist()
    if bad:
        raise Failed(
            f"{len(bad)}개 행이 기대한 값과 다릅니다 (가장 낮은 코사인 유사도 {cosines.min():.3f}, "
            f"예: {bad[0]}번째 행 = {expected.names[bad[0]]}). i번째 행이 i번째 사진의 임베딩이어야 하고, "
            "get_image_features(...).pooler_output을 쓰세요."
        )
    return f"모양 ({N_IMAGES}, {EMBED_DIM}), 모든 행의 코사인 유사도 > {MIN_COSINE} (최저 {cosines.min():.4f})."


def check_embed_text(quiz, expected: Expected) -> str:
    got = as_embedding(quiz.embed_text(expected.query, expected.model, expected.processor), (1, EMBED_DIM))
    cosine = cosine_rows(got, expected.text_embedding)[0]
    if not cosine > MIN_COSINE:
        raise Failed(
            f"QUERY의 임베딩이 기대한 값과 다릅니다 (코사인 유사도 {cosine:.3f}). "
            "processor(text=[text], ...)와 get_text_features(...).pooler_output을 쓰세요."
        )
    return f"모양 (1, {EMBED_DIM}), 코사인 유사도 {cosine:.4f}."


def check_search_top1(quiz, expected: Expected) -> str:
    """The pictures go in shuffled and under other names, as the grader gives them: a written-in name is wrong."""
    order = list(range(N_IMAGES))
    random.Random(0).shuffle(order)
    names = [f"picture_{position:03d}.JPEG" for position in range(N_IMAGES)]
    right = names[order.index(expected.names.index(expected.top1))]
    answer = quiz.search_top1(expected.text_embedding.clone(), expected.image_embeddings[order].clone(), list(names))
    if not isinstance(answer, str):
        raise Failed(f"파일 이름(str)을 돌려줘야 하는데 {type(answer).__name__}을(를) 돌려줬습니다.")
    if answer not in names:
        raise Failed(
            f"받은 image_filenames 중 하나를 돌려줘야 하는데 {answer[:80]!r}를 돌려줬습니다 "
            "(이 검사와 채점기는 사진 순서와 이름을 바꿔서 넘깁니다: 파일 이름을 직접 써 넣으면 틀립니다)."
        )
    if answer != right:
        raise Failed(
            f"QUERY({expected.query!r})의 Top-1이 아닌 사진을 골랐습니다. "
            "두 임베딩을 정규화한 뒤 코사인 유사도의 argmax를 쓰세요."
        )
    return f"QUERY({expected.query!r})의 Top-1을 골랐습니다 (순서와 이름을 바꿔 넘겨도)."


def check_main(path: Path, expected: Expected) -> str:
    """`python quiz_search.py` with the grading model, as a student runs it."""
    env = {**os.environ, "MMEMBED_MODEL": GRADING_MODEL, "PYTHONIOENCODING": "utf-8"}
    run = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, env=env, cwd=path.parent, timeout=MAIN_TIMEOUT
    )
    if run.returncode != 0:
        last = (run.stderr.strip().splitlines() or ["(오류 메시지 없음)"])[-1]
        if last.startswith("NotImplementedError"):
            raise Failed("main()이 부르는 함수 중 아직 완성하지 않은 것이 있습니다: " + last.split(":", 1)[-1].strip())
        raise Failed(f"`python {path.name}`이(가) 오류로 끝났습니다: {last[:300]}")
    lines = [line.rstrip() for line in run.stdout.splitlines() if line.strip()]
    wanted = [
        f"Total {N_IMAGES} images are loaded!",
        f"Image Embedding's shape: ({N_IMAGES}, {EMBED_DIM})",
        f"Text Embedding's shape: (1, {EMBED_DIM})",
    ]
    top1 = [line for line in lines if line.startswith("Top-1:")]
    remaining = iter(lines)
    in_order = all(any(line == want for line in remaining) for want in wanted)
    if not in_order or len(top1) != 1 or PurePath(top1[0][len("Top-1:") :].strip()).name != expected.top1:
        shown = "\n".join(f"    {line}" for line in lines[-8:]) or "    (출력 없음)"
        raise Failed(
            "네 줄이 맞지 않습니다. 나와야 하는 줄:\n"
            + "\n".join(f"    {line}" for line in [*wanted, f"Top-1: {expected.top1}"])
            + f"\n  나온 줄 (마지막 8줄):\n{shown}"
        )
    return f"네 줄이 모두 맞습니다 (Top-1: {expected.top1})."


CHECKS = [
    ("퀴즈 3 load_images", check_load_images),
    ("퀴즈 4 embed_images", check_embed_images),
    ("퀴즈 5 embed_text", check_embed_text),
    ("퀴즈 6 search_top1", check_search_top1),
]


def where_in(error: BaseException, path: Path) -> str:
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if Path(frame.filename) == path]
    return f" ({path.name} {frames[-1].lineno}번째 줄)" if frames else ""


def run_check(title: str, check, path: Path) -> bool:
    try:
        message = check()
    except NotImplementedError as error:
        print(f"[미완성] {title}: " + unfinished_hint(error, path).replace("\n", "\n        "))
        return False
    except Failed as error:
        print(f"[실패] {title}: {error}")
        return False
    except subprocess.TimeoutExpired:
        print(f"[실패] {title}: {MAIN_TIMEOUT}초 안에 끝나지 않았습니다.")
        return False
    except Exception as error:
        print(f"[실패] {title}: 오류가 났습니다{where_in(error, path)}: {type(error).__name__}: {str(error)[:300]}")
        return False
    print(f"[통과] {title}: {message}")
    return True


def main(argv: list[str]) -> int:
    path = Path(argv[0]).resolve() if argv else QUIZ_FILE
    if not path.is_file():
        print(f"검사할 파일이 없습니다: {path}")
        return 1
    print(f"퀴즈 3-6 스스로 확인하기: {path} (채점 모델: {GRADING_MODEL})")
    try:
        quiz = load_module(path, "quiz_search")
    except Exception as error:
        print(f"[실패] {path.name}을(를) 불러오지 못했습니다{where_in(error, path)}: {type(error).__name__}: {error}")
        return 1
    query = getattr(quiz, "QUERY", None)
    if not isinstance(query, str) or not query.strip():
        print("[실패] QUERY는 비어 있지 않은 문자열이어야 합니다.")
        return 1
    expected = Expected(query)
    results = [run_check(title, lambda check=check: check(quiz, expected), path) for title, check in CHECKS]
    results.append(run_check("main()", lambda: check_main(path, expected), path))
    print(f"\n{len(results)}개 검사 중 {sum(results)}개 통과.")
    print(
        "이 검사는 공개된 QUERY만 씁니다. 채점기는 숨은 문장으로도 검사하고, mmembed의 함수(load_clip 말고)를 부른 "
        "단계는 점수를 주지 않습니다."
    )
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
