"""The grader's own tests of quizzes 1, 2 and 7, run on answers exported as plain data, in a fresh process.

    python -I hidden_tests.py < {"answers": {...}, "grade_ids": [...]}  ->  {grade_id: null | "why not"}

verdicts.py starts this file as a script, with the Python the kernel uses, from `/`: it imports the same `mmembed`
as the kernel, and nothing of the grader or the course folder. It reads only JSON (the `plain` values of
inside/answer_export.py), recomputes every expectation itself and loads the model and pictures anew: nothing a
notebook did can reach it. Each "why not" is a Korean sentence that names no expected answer.
"""

import json
import re
import sys

VEC1 = [[1, 2, 3, 4], [5, 6, 7, 8]]
VEC2 = [[0.1, 0.01, 2, 5], [1, 5, 10, 5]]
QUIZ7_TARGETS = ["val_134.JPEG", "val_169.JPEG", "val_194.JPEG", "val_167.JPEG", "val_175.JPEG"]
QUIZ2_TARGETS = {"dog_1.png", "dog_4.png", "dog_7.png"}
FILE_NAME = re.compile(r"val_\d|dog_\d|\.jpe?g|\.png", re.IGNORECASE)


class Fail(Exception):
    pass


def check(condition, why: str) -> None:
    if not condition:
        raise Fail(why)


def tensor(answers: dict, name: str, shape: list[int]):
    import numpy as np

    value = answers.get(name) or {}
    check(value.get("kind") == "tensor", f"{name}는 torch.Tensor여야 합니다.")
    check(value.get("shape") == shape, f"{name}의 모양은 {tuple(shape)}이어야 합니다.")
    check(value.get("floating") is True, f"{name}는 실수 텐서여야 합니다.")
    values = value.get("values")
    check(isinstance(values, list) and len(values) == int(np.prod(shape)), f"{name}의 값을 읽을 수 없습니다.")
    check(all(isinstance(v, (int, float)) for v in values), f"{name}의 값을 읽을 수 없습니다.")
    return np.array(values, dtype=np.float64).reshape(shape)


def expected_rowwise():
    import numpy as np

    a, b = np.array(VEC1, dtype=np.float64), np.array(VEC2, dtype=np.float64)
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def expected_pairwise():
    import numpy as np

    a, b = np.array(VEC1, dtype=np.float64), np.array(VEC2, dtype=np.float64)
    return (a / np.linalg.norm(a, axis=1, keepdims=True)) @ (b / np.linalg.norm(b, axis=1, keepdims=True)).T


def quiz1_rowwise(answers):
    import numpy as np

    got = tensor(answers, "rowwise", [2])
    check(np.allclose(got, expected_rowwise(), rtol=1e-5, atol=1e-6), "rowwise의 값이 코사인 유사도의 정의와 다릅니다.")


def quiz1_pairwise(answers):
    import numpy as np

    got = tensor(answers, "pairwise", [2, 2])
    check(
        np.allclose(got, expected_pairwise(), rtol=1e-5, atol=1e-6), "pairwise[i, j]의 값이 코사인 유사도와 다릅니다."
    )


def quiz1_relation(answers):
    import numpy as np

    rowwise, pairwise = tensor(answers, "rowwise", [2]), tensor(answers, "pairwise", [2, 2])
    check(np.allclose(np.diagonal(pairwise), rowwise, rtol=1e-5, atol=1e-6), "pairwise의 대각선이 rowwise와 달라요.")
    check(bool(((pairwise >= -1 - 1e-6) & (pairwise <= 1 + 1e-6)).all()), "코사인 유사도는 -1과 1 사이입니다.")
    check(not np.allclose(pairwise[0, 1], pairwise[1, 0], rtol=1e-5, atol=1e-8), "[0, 1]과 [1, 0]은 다른 쌍입니다.")


_pictures = {}


def top_k(text: str, folder, k: int) -> set[str]:
    import mmembed
    from mmembed.grading import GRADING_MODEL  # the check cells' model (MMEMBED_GRADING_MODEL reaches both)

    if folder not in _pictures:
        model, processor = mmembed.load_clip(GRADING_MODEL)
        images, names = mmembed.load_images(folder)
        _pictures[folder] = (model, processor, mmembed.embed_images(images, model, processor, precision="fp32"), names)
    model, processor, embeddings, names = _pictures[folder]
    query = mmembed.embed_texts(text, model, processor, precision="fp32")
    return {name for name, _ in mmembed.search(query, embeddings, names, k=k)}


def text_answer(value) -> str:
    check(isinstance(value, dict) and value.get("kind") == "str", "답은 비어 있지 않은 문자열(str)이어야 합니다.")
    text = value.get("value")
    check(
        isinstance(text, str) and text.strip() and not value.get("cut"), "답은 비어 있지 않은 짧은 문자열이어야 합니다."
    )
    check(not FILE_NAME.search(text), "파일 이름이 아니라 사진을 설명하는 텍스트를 쓰세요.")
    return text


def quiz2_top3(answers):
    from mmembed.paths import TOPK_IMAGE_DIR

    text = text_answer(answers.get("answer_text"))
    check(
        top_k(text, TOPK_IMAGE_DIR, 3) == QUIZ2_TARGETS, "채점기가 모델과 사진을 새로 불러와 검색한 top-3가 다릅니다."
    )


def quiz7(name: str):
    def test(answers):
        from mmembed.paths import QUIZ_IMAGE_DIR

        texts = answers.get("answer_texts") or {}
        check(texts.get("kind") == "dict", "answer_texts는 dict여야 합니다.")
        text = text_answer(texts["value"].get(name))
        check(top_k(text, QUIZ_IMAGE_DIR, 1) == {name}, "채점기가 모델과 사진을 새로 불러와 검색한 top-1이 다릅니다.")

    return test


TESTS = {
    "quiz1_rowwise_test": quiz1_rowwise,
    "quiz1_pairwise_test": quiz1_pairwise,
    "quiz1_relation_test": quiz1_relation,
    "quiz2_top3_test": quiz2_top3,
    **{f"quiz7_{name.split('.')[0]}_test": quiz7(name) for name in QUIZ7_TARGETS},
}
# The notebook variables each test reads (what the kernel exports).
VARIABLES = {
    "quiz1_rowwise_test": ["rowwise"],
    "quiz1_pairwise_test": ["pairwise"],
    "quiz1_relation_test": ["rowwise", "pairwise"],
    "quiz2_top3_test": ["answer_text"],
    **{f"quiz7_{name.split('.')[0]}_test": ["answer_texts"] for name in QUIZ7_TARGETS},
}


def verdicts(answers: dict | None, grade_ids: list[str]) -> dict[str, str | None]:
    found = {}
    for grade_id in grade_ids:
        try:
            check(isinstance(answers, dict), "채점기가 노트북의 답을 읽을 수 없었습니다.")
            TESTS[grade_id](answers)
            found[grade_id] = None
        except Fail as why:
            found[grade_id] = str(why)
    return found


def main() -> None:
    request = json.load(sys.stdin)
    json.dump(verdicts(request.get("answers"), request["grade_ids"]), sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
