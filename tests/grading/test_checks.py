"""Every feedback branch of autograder/checks.py, on small crafted messages (what a child could send back).

No model and no child here: a Reference of random embeddings, and for each branch the messages that reach it.
The messages are written flat, as one child would send them for all queries, and split here into the public
step (QUERY) and the hidden step (the hidden texts), as grade.py runs them.
"""

from pathlib import Path

import numpy as np
import pytest

from autograder import config
from autograder.checks import (
    Received,
    check_embed_images,
    check_embed_text,
    check_load_images,
    check_main,
    check_search_top1,
    score_all,
    top1_line_matches,
)
from autograder.protocol import StepData
from autograder.reference import Reference

N, D = config.N_IMAGES, config.EMBED_DIM
QUERIES = ["A zebra", *config.HIDDEN_QUERIES]


@pytest.fixture(scope="module")
def ref():
    rng = np.random.default_rng(0)
    names = [f"val_{i}.JPEG" for i in range(N)]
    return Reference(
        model_name="crafted",
        model_dir=Path("/nonexistent"),
        query=QUERIES[0],
        queries=QUERIES,
        names=names,
        means=rng.uniform(0, 255, (N, 3)),
        image_embeddings=rng.normal(size=(N, D)).astype(np.float32),
        text_embeddings=rng.normal(size=(len(QUERIES), D)).astype(np.float32),
        top1=["val_5.JPEG", "val_7.JPEG", "val_11.JPEG", "val_13.JPEG"],
        seconds=1.0,
    )


def received(messages=None, missing=None, search_to_name=None, **kwargs) -> Received:
    """Flat messages -> each step's data, the query-wise ones split into the public and the hidden step."""
    messages, steps = dict(messages or {}), {}
    for step, arrays in (("load_images", ["load_images_means.npy"]), ("embed_images", ["embed_images.npy"])):
        if step in messages:
            steps[step] = StepData(messages[step], {n: messages[n] for n in arrays if n in messages})
    if "main" in messages:
        steps["main"] = StepData(messages["main"])
    if "embed_text" in messages:
        errors = messages["embed_text"].get("errors", [None] * len(QUERIES))
        arrays = [messages.get(f"embed_text_{i}.npy") for i in range(len(QUERIES))]
        for step, rows in (("embed_text", [0]), ("embed_text_hidden", [1, 2, 3])):
            found = {f"embed_text_{j}.npy": arrays[i] for j, i in enumerate(rows) if arrays[i] is not None}
            steps[step] = StepData({"errors": [errors[i] for i in rows]}, found)
    if "search_top1" in messages:
        answers = messages["search_top1"]["answers"]
        steps["search_top1"] = StepData({"answers": answers[:1]})
        steps["search_top1_hidden"] = StepData({"answers": answers[1:]})
    to_name = {step: search_to_name or {} for step in ("search_top1", "search_top1_hidden")}
    return Received(steps, missing or {}, to_name, **kwargs)


def only(results):
    assert len(results) == 1
    return results[0]


# ------------------------------------------------------------------------------------------------ load_images
def good_load_images(ref):
    return {"load_images": {"names": list(ref.names), "modes": ["RGB"] * N}, "load_images_means.npy": ref.means.copy()}


def test_load_images_right(ref):
    result = only(check_load_images(received(good_load_images(ref)), ref))
    assert result.passed and result.name == "load_images" and result.max_score == config.POINTS["load_images"]


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda m: m.pop("load_images"), "검사하지 못했습니다: 결과가 없습니다"),
        (lambda m: m.update(load_images={"error": "NotImplementedError: 완성하세요"}), "NotImplementedError"),
        (lambda m: m["load_images"].update(names="val_0.JPEG"), "읽을 수 없습니다"),
        (lambda m: m["load_images"]["names"].pop(), "이름 199개"),
        (lambda m: m["load_images"]["names"].sort(), "숫자 순서로 정렬하세요"),
        (lambda m: m["load_images"]["modes"].__setitem__(3, "L"), "RGB여야 하는데 1장"),
        (lambda m: m.pop("load_images_means.npy"), "픽셀을 확인할 수 없습니다"),
        (lambda m: m["load_images_means.npy"].__setitem__(4, 0.0), "파일 이름과 맞지 않습니다 (예: val_4.JPEG)"),
    ],
)
def test_load_images_wrong(ref, change, words):
    messages = good_load_images(ref)
    change(messages)
    result = only(check_load_images(received(messages), ref))
    assert result.score == 0 and words in result.output, result.output


def test_load_images_reports_why_a_step_is_missing(ref):
    result = only(check_load_images(received(missing={"load_images": "시간 제한(30초)을 넘겨"}), ref))
    assert result.score == 0 and "시간 제한(30초)" in result.output


# ------------------------------------------------------------------------------------------------ embed_images
@pytest.mark.parametrize(
    "array, shape_points, value_points, words",
    [
        ("reference", 1, 1, "맞았습니다"),
        ("scaled", 1, 1, "맞았습니다"),  # not normalised: the cosine is what counts
        (None, 0, 0, "배열이 오지 않았습니다"),
        (np.zeros((N, 256), dtype=np.float32), 0, 0, "모양이 (200, 512)이어야"),
        ("nan", 0, 0, "NaN"),
        ("shuffled", 1, 0, "행이 정답과 다릅니다"),
    ],
)
def test_embed_images(ref, array, shape_points, value_points, words):
    if isinstance(array, str):
        array = {
            "reference": ref.image_embeddings,
            "scaled": ref.image_embeddings * 7.5,
            "nan": np.full((N, D), np.nan, dtype=np.float32),
            "shuffled": ref.image_embeddings[::-1].copy(),
        }[array]
    messages = {"embed_images": {}} | ({} if array is None else {"embed_images.npy": array})
    shape, values = check_embed_images(received(messages), ref)
    assert (shape.name, values.name) == ("embed_images_shape", "embed_images_values")
    assert (shape.score > 0, values.score > 0) == (bool(shape_points), bool(value_points))
    assert words in (shape.output + values.output)


def test_embed_images_error_fails_both(ref):
    shape, values = check_embed_images(received({"embed_images": {"error": "RuntimeError: boom"}}), ref)
    assert shape.score == values.score == 0 and "RuntimeError: boom" in shape.output


# ------------------------------------------------------------------------------------------------ embed_text
def text_messages(ref, arrays=None, errors=None):
    arrays = arrays if arrays is not None else [ref.text_embeddings[i : i + 1] for i in range(len(QUERIES))]
    messages = {"embed_text": {"errors": errors or [None] * len(QUERIES)}}
    messages.update({f"embed_text_{i}.npy": a for i, a in enumerate(arrays) if a is not None})
    return messages


def test_embed_text_right(ref):
    shape, values = check_embed_text(received(text_messages(ref)), ref)
    assert shape.passed and values.passed


def test_embed_text_error_on_a_hidden_query_is_not_shown(ref):
    """What the code raised while it held a hidden text may carry that text in any disguise: never shown."""
    errors = [None, "ValueError: A HAMMER", None, None]
    shape, values = check_embed_text(received(text_messages(ref, errors=errors)), ref)
    assert shape.score == values.score == 0 and "숨은 문장에서는" in shape.output
    assert "ValueError" not in shape.output + values.output and "HAMMER" not in shape.output


def test_embed_text_error_on_query_is_shown(ref):
    errors = ["ValueError: bad", None, None, None]
    shape, values = check_embed_text(received(text_messages(ref, errors=errors)), ref)
    assert shape.score == values.score == 0 and "QUERY: ValueError: bad" in shape.output


@pytest.mark.parametrize(
    "row, words", [(0, "QUERY의 임베딩이 정답과 다릅니다 (코사인 유사도 -1.000)"), (2, "QUERY는 맞았지만")]
)
def test_embed_text_wrong_values(ref, row, words):
    arrays = [ref.text_embeddings[i : i + 1] for i in range(len(QUERIES))]
    arrays[row] = -arrays[row]
    shape, values = check_embed_text(received(text_messages(ref, arrays=arrays)), ref)
    assert shape.passed and values.score == 0 and "get_text_features" in values.output and words in values.output
    assert row == 0 or "-1.000" not in values.output  # a hidden text's cosine is a number the code chose


def test_embed_text_wrong_shape(ref):
    arrays = [ref.text_embeddings[i] for i in range(len(QUERIES))]  # (512,) instead of (1, 512)
    shape, _ = check_embed_text(received(text_messages(ref, arrays=arrays)), ref)
    assert shape.score == 0 and "모양이 (1, 512)이어야" in shape.output


# ------------------------------------------------------------------------------------------------ search_top1
NEUTRAL = {f"img_{i}.JPEG": f"val_{i}.JPEG" for i in range(N)}  # neutral name -> real name


@pytest.mark.parametrize(
    "answer, words",
    [
        ("<오류> IndexError: boom", "IndexError: boom"),
        ("<Tensor>", "파일 이름(str)을 돌려줘야 하는데 <Tensor>"),
        ("val_13.JPEG", "목록에 없는 'val_13.JPEG'"),
    ],
)
def test_search_top1_each_branch_is_explained_for_query_only(ref, answer, words):
    answers = [answer, "img_7.JPEG", answer, answer]
    results = check_search_top1(received({"search_top1": {"answers": answers}}, search_to_name=NEUTRAL), ref)
    assert [r.name for r in results] == ["search_top1_query", *[f"search_top1_hidden_{i}" for i in (1, 2, 3)]]
    assert words in results[0].output and results[1].passed
    assert all(r.output == results[2].output and answer not in r.output for r in results[2:])


def test_search_top1_wrong_picture_names_the_answer_only_for_query(ref):
    answers = ["img_6.JPEG", "img_6.JPEG", "img_6.JPEG", "img_6.JPEG"]
    results = check_search_top1(received({"search_top1": {"answers": answers}}, search_to_name=NEUTRAL), ref)
    assert "val_5.JPEG이어야 하는데 val_6.JPEG" in results[0].output
    assert all("val_7" not in r.output and "val_11" not in r.output for r in results[1:])


def test_search_top1_missing(ref):
    missing = {"search_top1": "프로세스가 끝나 버렸습니다", "search_top1_hidden": "프로세스가 끝나 버렸습니다"}
    results = check_search_top1(received(missing=missing), ref)
    assert all(r.score == 0 and "끝나 버렸습니다" in r.output for r in results)


# ------------------------------------------------------------------------------------------------ main
@pytest.mark.parametrize(
    "top1_line, passed",
    [
        ("Top-1: val_7.JPEG", True),
        ("Top-1: ./images/quiz-image/val_7.JPEG", True),
        ("Top-1: /course/images/quiz-image/val_7.JPEG", True),
        ("Top-1: val_2.JPEG", False),
        ("Top-1: ", False),
    ],
)
def test_main_top1_line_by_file_name(ref, top1_line, passed):
    lines = [*ref.main_lines(1)[:3], top1_line]
    result = only(check_main(received({"main": {"stdout": "\n".join(lines) + "\n"}}, main_query=1), ref))
    assert result.passed == passed
    if not passed:
        assert "QUERY를 숨은 문장으로 바꿔" in result.output and "<그 문장의 Top-1 파일 이름>" in result.output


@pytest.mark.parametrize(
    "order, passed",
    [
        (["debug", 0, "batch: (32, 3, 96, 96)", 1, 2, "text", 3, "done"], True),  # a student's own prints
        ([0, 1, 2, 3, 3], False),  # two Top-1 lines
        ([0, 1, 2, "Top-1: val_2.JPEG", 3], False),  # a Top-1 for more than one picture
        ([1, 0, 2, 3], False),  # out of order
        ([0, 2, 3], False),  # a line missing
        ([3, 0, 1, 2], False),  # Top-1 before the shapes
    ],
)
def test_main_lines_around_the_four(ref, order, passed):
    """Lines a student printed are ignored; the four lines must come in order, with one Top-1 line only."""
    four = ref.main_lines(1)
    stdout = "\n".join(four[item] if isinstance(item, int) else item for item in order)
    assert only(check_main(received({"main": {"stdout": stdout}}, main_query=1), ref)).passed == passed


def test_top1_line_matches():
    assert top1_line_matches("Top-1: a/b/val_3.JPEG", "val_3.JPEG")
    assert not top1_line_matches("Top-2: val_3.JPEG", "val_3.JPEG")


# ------------------------------------------------------------------------------------------------ all together
def test_score_all_names_every_check_in_the_order_of_points(ref):
    results = score_all(received(), ref)
    assert [r.name for r in results] == list(config.POINTS)
    assert [r.max_score for r in results] == list(config.POINTS.values())
    assert all(r.score == 0 for r in results)
