"""A second opinion from outside the kernel for quizzes 2 and 7, whose answers are texts.

In the kernel, a test searches with the notebook's own `model`, `dog_embeddings`, `quiz_names`..., which an
answer cell can replace (say, a list whose items are always the expected name). So while autograding, the
answer texts are read out of the kernel as plain strings, and the grader runs each through the model in its
own process, over pictures it loads itself. A test the kernel passed that this search does not confirm scores 0.
"""

import json
import re

from nbformat.notebooknode import NotebookNode

import mmembed
from mmembed.paths import QUIZ_IMAGE_DIR, TOPK_IMAGE_DIR

MARK = "MMEMBED-ANSWERS "

QUIZ7_TARGETS = ["val_134.JPEG", "val_169.JPEG", "val_194.JPEG", "val_167.JPEG", "val_175.JPEG"]
# grade_id -> (the answer as an expression in the notebook, picture folder, k, the pictures the top-k must be)
RECHECKS = {
    "quiz2_top3_test": ("answer_text", TOPK_IMAGE_DIR, 3, {"dog_1.png", "dog_4.png", "dog_7.png"}),
    **{
        f"quiz7_{name.split('.')[0]}_test": (f"answer_texts[{name!r}]", QUIZ_IMAGE_DIR, 1, {name})
        for name in QUIZ7_TARGETS
    },
}

_pictures = {}  # folder -> (model, processor, image embeddings, file names): loaded once per nbgrader run


def export_source(grade_ids: list[str]) -> str:
    """Kernel code that prints the answers of `grade_ids` as JSON: a string, or null if it is not a plain str."""
    expressions = {grade_id: RECHECKS[grade_id][0] for grade_id in grade_ids}
    return (
        "import json as _recheck_json\n"
        "_recheck_answers = {}\n"
        f"for _recheck_id, _recheck_expression in {expressions!r}.items():\n"
        "    try:\n"
        "        _recheck_value = eval(_recheck_expression)\n"
        "    except Exception:\n"
        "        _recheck_value = None\n"
        "    _recheck_answers[_recheck_id] = _recheck_value if type(_recheck_value) is str else None\n"
        f"print({MARK!r} + _recheck_json.dumps(_recheck_answers))\n"
    )


def read_answers(cell: NotebookNode) -> dict[str, str | None] | None:
    """The answers the export cell printed, or None if it printed none (then every recheck fails)."""
    for output in cell.get("outputs", []):
        if output.output_type == "stream" and output.name == "stdout":
            for line in output.text.splitlines():
                if line.startswith(MARK):
                    try:
                        answers = json.loads(line[len(MARK) :])
                    except ValueError:
                        return None
                    return answers if isinstance(answers, dict) else None
    return None


def _search(text: str, folder, k: int) -> set[str]:
    if folder not in _pictures:
        model, processor = mmembed.load_clip()
        embeddings, names = mmembed.embed_folder(folder, model, processor, progress=False)  # the cache, if warm
        _pictures[folder] = (model, processor, embeddings, names)
    model, processor, embeddings, names = _pictures[folder]
    query = mmembed.embed_texts(text, model, processor, progress=False)
    return {name for name, _ in mmembed.search(query, embeddings, names, k=k)}


def disagreement(grade_id: str, answers: dict | None) -> str | None:
    """None if the grader's own search confirms the test, else why not (in Korean, with no expected answer)."""
    _, folder, k, expected = RECHECKS[grade_id]
    text = (answers or {}).get(grade_id)
    if not isinstance(text, str) or not text.strip():
        return "채점기가 답을 일반 문자열(str)로 읽을 수 없었습니다"
    if re.search(r"val_\d|dog_\d|\.jpe?g|\.png", text, re.IGNORECASE):
        return "답이 사진을 설명하는 텍스트가 아니라 파일 이름입니다"
    if _search(text, folder, k) != expected:
        return "채점기가 모델과 사진을 따로 불러와 다시 검색한 결과가 노트북 안의 결과와 다릅니다"
    return None
