"""What lecture 03 (top-k search) says, checked.

- Offline: the tensor facts of sections 2-3 as the lecture's cells print them; that the lecture's own loading and
  search steps give what the `mmembed` helpers the quizzes use give (`load_images`, `load_clip`, `search`); what
  the prose says about `mini`; and that the quiz 2 preview describes quizzes/quiz_notebooks/quiz2 (the `slow` tests
  read the lecture's run). What section 3.1 says of torch itself (topk's default dim, dim=0) is in
  tests/unit/test_library_behaviour.py.
- Tests marked `online` check what the prose says about the real `openai/clip-vit-base-patch32`; they are
  skipped where the Hugging Face Hub cannot be reached.
"""

import re
from pathlib import Path

import nbformat
import pytest
import torch
import torch.nn.functional as F

import mmembed
from mmembed.paths import TOPK_IMAGE_DIR
from tests.helpers import REPO_ROOT, assert_contains, cell_text, code_cell, markdown_text, normalise
from tests.lectures.conftest import lecture_path, reads_the_lecture_run
from tests.student_copy import students_manifest

NOTEBOOK = lecture_path("03")
QUIZ_2 = REPO_ROOT / "quizzes" / "quiz_notebooks" / "quiz2_topk_text.ipynb"
QUIZ_2_SOURCE = REPO_ROOT / "solutions" / "quiz_notebooks" / "quiz2_topk_text.ipynb"
QUIZ_7 = REPO_ROOT / "quizzes" / "quiz_notebooks" / "quiz7_find_pictures.ipynb"
# Section 4.4: "A dog is sleeping"'s top-3 with mini.
SLEEPING_TOP3 = ["dog_8.png", "dog_1.png", "dog_4.png"]
# Section 5: the queries, each with its name alone (what is left of it without the words beside the name).
DOG_QUERIES = {
    "A dog is sleeping": "a dog",
    "a dog running": "a dog",
    "a dog lying down": "a dog",
    "a puppy sitting": "a puppy",
}
# Section 5: the three queries whose top-1 with mini is the picture they describe.
DESCRIBED_DOGS = {"a dog running": "dog_2.png", "a dog lying down": "dog_3.png", "a puppy sitting": "dog_8.png"}
# Section 5, next: queries that say more of the picture, and each one's top-1 with mini ("a dog on a leash" misses
# dog_6, the beagle on a red leash, by a hair).
NAMED_DOG_QUERIES = {
    "a dachshund running": "dog_2.png",
    "a dog on a leash": "dog_3.png",
    "a beagle on a leash": "dog_6.png",
    "a dog with a red leash": "dog_6.png",
}
QUIZ_2_TARGET = {"dog_1.png", "dog_4.png", "dog_7.png"}
QUIZ_2_PLACEHOLDER = "a dog"  # section 6: the query the students start from (must not be an answer)


def dog_similarity(model, processor, queries=tuple(DOG_QUERIES)):
    """Section 5's (queries, 9 dogs) cosine similarity matrix and the dogs' file names."""
    images, names = mmembed.load_images(TOPK_IMAGE_DIR)
    texts = normalise(mmembed.embed_texts(list(queries), model, processor))
    return texts @ normalise(mmembed.embed_images(images, model, processor)).T, names


# --- sections 2-3: argmax, max and topk, as the lecture's cells print them ---------------------------------------


@reads_the_lecture_run(NOTEBOOK)
def test_argmax_is_the_position_and_max_is_the_value(nb):
    """Section 2: the seed lecture said 99; argmax is 2, max is 99; max(dim=0) gives both."""
    text = cell_text(nb, "position = scores.argmax().item()")
    assert_contains(text, "argmax().item() = 2\n", "max().item()    = 99\n", "scores[argmax]  = 99\n")
    assert "값: 99  위치: 2" in cell_text(nb, "result = scores.max(dim=0)")


@reads_the_lecture_run(NOTEBOOK)
def test_topk_gives_values_and_indices_largest_first(nb):
    """Section 3: top-2 of [-2, 1, 99, 8] is 99, 8 at 2, 3; top-3 adds 1 at 1; k=1 is max and argmax together."""
    text = cell_text(nb, "top2 = torch.topk(scores, k=2)")
    assert_contains(
        text,
        "values : [99, 8]\nindices: [2, 3]\n",
        "top-3 values: [99, 8, 1]  indices: [2, 3, 1]",
        "k=1: 99 2  max, argmax: 99 2",
    )


@reads_the_lecture_run(NOTEBOOK)
def test_topk_along_dim_1_gives_each_query_its_pictures(nb):
    """Section 3.1: one row per query: argmax(dim=1) is [1, 0]; topk(k=2, dim=1) gives [[1, 3], [0, 2]] with values
    [[0.7, 0.5], [0.9, 0.8]], shape (queries, k)."""
    text = cell_text(nb, "top = torch.topk(similarity, k=2, dim=1)")
    assert_contains(
        text,
        "argmax(dim=1): [1, 0]",
        "tensor([[0.7000, 0.5000],\n        [0.9000, 0.8000]])",
        "tensor([[1, 3],\n        [0, 2]])",
        "shape  : (2, 2) = (질의 수, k)",
    )


@reads_the_lecture_run(NOTEBOOK)
def test_the_answers_to_the_predictions_of_sections_2_and_3_are_what_the_cells_print(nb):
    """Sections 2 and 3.1: the prose after each prediction gives what the cell printed (argmax 2; argmax(dim=1)
    [1, 0], indices [[1, 3], [0, 2]]), and the wrong guess it names, [1, 0, 1, 0], is what dim=0 gives."""
    prose = markdown_text(nb)
    assert "`argmax().item()`은 `2`입니다." in prose and "argmax().item() = 2" in cell_text(nb, "position = scores")
    assert "`argmax(dim=1)`은 `[1, 0]`, `indices`는 `[[1, 3], [0, 2]]`입니다" in prose
    assert "`[1, 0, 1, 0]`처럼 열마다" in prose
    similarity = torch.tensor([[0.10, 0.70, 0.30, 0.50], [0.90, 0.20, 0.80, 0.40]])
    assert "[0.10, 0.70, 0.30, 0.50],   # 질의 0" in code_cell(nb, "similarity = torch.tensor([").source
    assert similarity.argmax(dim=0).tolist() == [1, 0, 1, 0]


# --- section 4: the lecture's steps and the helpers the quizzes use -------------------------------------------


def test_sorted_glob_and_load_images_give_the_same_pictures_in_the_same_order():
    """Section 4.1: sorted(glob) + Image.open(...).convert("RGB") is what mmembed.load_images returns."""
    from PIL import Image

    paths = sorted(TOPK_IMAGE_DIR.glob("dog_*.png"))
    images, names = mmembed.load_images(TOPK_IMAGE_DIR)
    assert names == [path.name for path in paths] and len(names) == 9
    for path, image in zip(paths, images):
        by_hand = Image.open(path).convert("RGB")
        assert image.mode == by_hand.mode == "RGB" and image.tobytes() == by_hand.tobytes()


@reads_the_lecture_run(NOTEBOOK)
def test_load_clip_is_the_lectures_from_pretrained(nb):
    """Section 4.2: offline, course_model gives models/mini and mmembed.load_clip() gives the same CLIPModel."""
    assert re.search(r"모델: \S+/models/mini$", cell_text(nb, "model_name = mmembed.course_model("), re.M)
    assert "CLIPModel / CLIPProcessor  mmembed_name: mini" in cell_text(nb, "mmembed.load_clip()")
    assert "위의 dog_names와 같은 순서인가: True" in cell_text(nb, "mmembed.load_images(TOPK_IMAGE_DIR)")


@reads_the_lecture_run(NOTEBOOK)
def test_mmembed_search_gives_the_lectures_top3(nb):
    """Section 4.4: the hand-made normalise -> @ -> topk gives the names and scores mmembed.search gives; the
    answer to the prediction names the order printed (dog_8, dog_1, dog_4), all at most 0.42, the first 0.05
    ahead."""
    by_hand = re.findall(
        r"\d위  (\S+)  코사인 유사도 = (\d\.\d{3})", cell_text(nb, "values, indices = dog_scores.topk(3)")
    )
    helper = re.findall(r"^  (\S+)  (\d\.\d{3})$", cell_text(nb, "in mmembed.search(text_embedding"), re.M)
    assert len(by_hand) == 3 and by_hand == helper
    assert [name for name, _ in by_hand] == SLEEPING_TOP3
    scores = [float(score) for _, score in by_hand]
    assert max(scores) <= 0.42 and round(scores[0] - scores[1], 2) == 0.05  # as the prose after the bar chart says
    assert "1위는 앉아 있는 불도그 강아지 `dog_8`, 2위가 `dog_1`, 3위가 `dog_4`입니다" in markdown_text(nb)


def test_the_pictures_are_what_the_prose_says_they_are():
    """Sections 4.4 and 5 describe the pictures as their captions do: dog_1 a brown and white dog (drawn with its
    eyes closed, which is why a guess of "sleeping" may go to it), dog_3 a big brown dog lying down, dog_8 a bulldog
    puppy sitting, dog_2 a dachshund running (the one running dog, section 6), dog_6 a beagle pulling on a red leash;
    the answer key's exercises 3 and 4 add dog_5 (a black Labrador) and dog_0 (a grey and white husky on grass)."""
    captions = {Path(p.path).name: p.caption_en for p in students_manifest() if p.path.startswith("topk-image/")}
    assert "brown and white dog" in captions["dog_1.png"]
    assert "big brown dog lying down" in captions["dog_3.png"]
    assert "bulldog puppy sitting" in captions["dog_8.png"]
    assert "dachshund running" in captions["dog_2.png"]
    assert "beagle pulling on a red leash" in captions["dog_6.png"]
    assert "black Labrador" in captions["dog_5.png"]
    assert "grey and white husky dog standing on grass" in captions["dog_0.png"]
    assert [name for name, caption in sorted(captions.items()) if "running" in caption] == ["dog_2.png"]
    prose = markdown_text(nbformat.read(NOTEBOOK, as_version=4))
    assert "눈을 감고 있는 개는 `dog_1`(갈색과 흰색 털의 개) 한 장" in prose
    assert "자고 있는** 개는 없습니다" not in prose


def test_mini_scores_a_dog_is_sleeping_low(mini):
    """Section 4.4: with mini the nine dogs all score 0.42 or less for "A dog is sleeping", dog_8 0.05 (to two
    decimals) ahead of dog_1."""
    similarity, names = dog_similarity(*mini, queries=["A dog is sleeping"])
    top = similarity[0].topk(2)
    assert [names[i] for i in top.indices.tolist()] == SLEEPING_TOP3[:2]
    assert similarity.max().item() <= 0.42
    assert round((top.values[0] - top.values[1]).item(), 2) == 0.05


def test_mini_hears_the_words_beside_the_name(mini):
    """Section 5: with mini each query differs from its name alone (cosine 0.11 for "A dog is sleeping", 0.55 to
    0.63 for lying down and sitting, 0.96 for running, to two decimals); the described queries get the picture they
    describe first, with top-1 scores 0.74 to 0.76, "a dog running" only 0.02 ahead of dog_3."""
    same = F.cosine_similarity(
        mmembed.embed_texts(list(DOG_QUERIES), *mini), mmembed.embed_texts(list(DOG_QUERIES.values()), *mini)
    )
    assert [round(value, 2) for value in same.tolist()] == [0.11, 0.96, 0.63, 0.55], same
    similarity, names = dog_similarity(*mini)
    top = similarity.topk(2, dim=1)
    rows = [list(DOG_QUERIES).index(query) for query in DESCRIBED_DOGS]
    assert [names[top.indices[row, 0].item()] for row in rows] == list(DESCRIBED_DOGS.values())
    assert [round(top.values[row, 0].item(), 2) for row in rows] == [0.75, 0.76, 0.74]
    running = list(DOG_QUERIES).index("a dog running")
    assert names[top.indices[running, 1].item()] == "dog_3.png"
    assert round((top.values[running, 0] - top.values[running, 1]).item(), 2) == 0.02


def test_mini_top1_of_each_named_dog_query(mini):
    """Section 5, next: "a dachshund running" puts dog_2 0.24 ahead; "a dog on a leash" puts dog_3 first and dog_6
    second, 0.001 behind; with the breed or the leash's colour dog_6 is first by more than 0.1; the top-1 of every
    query that finds its picture scores about 0.7 (between 0.65 and 0.8)."""
    similarity, names = dog_similarity(*mini, queries=NAMED_DOG_QUERIES)
    top = similarity.topk(2, dim=1)
    assert [names[i] for i in top.indices[:, 0].tolist()] == list(NAMED_DOG_QUERIES.values())
    leads = (top.values[:, 0] - top.values[:, 1]).tolist()
    assert round(leads[0], 2) == 0.24
    assert names[top.indices[1, 1].item()] == "dog_6.png" and round(leads[1], 3) == 0.001
    assert leads[2] > 0.1 and leads[3] > 0.1
    found, _ = dog_similarity(*mini, queries=[*DESCRIBED_DOGS, "a dachshund running", *list(NAMED_DOG_QUERIES)[2:]])
    assert (0.65 < found.max(dim=1).values).all() and (found.max(dim=1).values < 0.8).all()


@reads_the_lecture_run(NOTEBOOK)
def test_run_prints_the_top3_the_cosines_and_the_gaps_the_prose_gives(nb):
    """Section 5: the run prints each query's top-3 with its lead over the runner-up, each query's cosine with its
    name alone (all below 1), and each named query's top-1 and lead, as the prose gives them."""
    row = r"^(.+?)\s+-> \['(dog_\d\.png)', '(dog_\d\.png)', '(dog_\d\.png)'\]  1위-2위 = (\d\.\d{3})$"
    text = cell_text(nb, "top = torch.topk(similarity, k=3, dim=1)")
    printed = {query: (first, second, float(gap)) for query, first, second, _, gap in re.findall(row, text, re.M)}
    assert list(printed) == list(DOG_QUERIES), text
    assert [printed[query][0] for query in DESCRIBED_DOGS] == list(DESCRIBED_DOGS.values())
    assert printed["a dog running"][1:] == ("dog_3.png", 0.02)
    assert printed["A dog is sleeping"][:2] == tuple(SLEEPING_TOP3[:2])
    assert round(printed["A dog is sleeping"][2], 2) == 0.05
    text = cell_text(nb, "bare_queries = [")
    cosines = re.findall(r'^(.+?)\s+-> "(.+?)"와의 코사인 유사도 (\d\.\d{4})$', text, re.M)
    assert [(query, bare) for query, bare, _ in cosines] == list(DOG_QUERIES.items()), text
    assert [round(float(score), 2) for _, _, score in cosines] == [0.11, 0.96, 0.63, 0.55], text
    text = cell_text(nb, "named_queries = [")
    named = {query: (first, second, float(gap)) for query, first, second, _, gap in re.findall(row, text, re.M)}
    assert {query: first for query, (first, _, _) in named.items()} == NAMED_DOG_QUERIES, text
    assert round(named["a dachshund running"][2], 2) == 0.24
    assert named["a dog on a leash"][1:] == ("dog_6.png", 0.001)
    assert named["a beagle on a leash"][2] > 0.1 and named["a dog with a red leash"][2] > 0.1
    prose = markdown_text(nb)
    for phrase in (
        "`dog_6`은 0.001 뒤진 2위",
        "`dog_6`이 0.1 넘게 앞선 1위",
        '1위 `dog_2`는 2위보다 0.24 앞섭니다 (`"a dog running"`은 0.02였습니다)',
        "2위 `dog_3`과의 점수 차이가 0.02뿐",
        "0.55 ~ 0.63까지 낮추지만, running은 0.96",
        "sleeping은 이 값을 0.11까지",
        '세 질의의 1위 점수(0.74 ~ 0.76)도 `"A dog is sleeping"`의 1위(0.42)',
        "9장 모두 0.42 이하이고, 1위 `dog_8`과 2위 `dog_1`의 차이도 0.05",
        "설명에 맞는 사진의 코사인 유사도가 0.7 안팎",
    ):
        assert phrase in prose, phrase


# --- section 6: the quiz 2 preview ----------------------------------------------------------------------------


def test_mini_placeholder_is_not_the_quiz_2_answer(mini):
    """Section 6 starts students from "a dog": it must not already solve quiz 2."""
    images, names = mmembed.load_images(TOPK_IMAGE_DIR)
    found = mmembed.search(
        mmembed.embed_texts(QUIZ_2_PLACEHOLDER, *mini), mmembed.embed_images(images, *mini), names, 3
    )
    assert {name for name, _ in found} != QUIZ_2_TARGET


def test_quiz_2_preview_describes_quiz_2():
    """Section 6: the same three pictures and points, the same hint (what the three share and the other six lack;
    "a running dog" is one picture, dog_2), the grading model; no story of how the quiz came to be, in the lecture,
    the released quiz or its source (whose first cell is the release's)."""
    lecture = "\n".join(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells)
    preview = lecture.split("## 6. 미리 보기: 퀴즈 2")[1].split("## 정리")[0]
    quiz = "\n".join(c.source for c in nbformat.read(QUIZ_2, as_version=4).cells)
    source_intro = nbformat.read(QUIZ_2_SOURCE, as_version=4).cells[0]
    assert source_intro == nbformat.read(QUIZ_2, as_version=4).cells[0]
    for text in (preview, quiz):
        assert "세 장에는 있고 나머지 여섯 장에는 없는 것" in text
        assert "원래 강의" not in text and "바꿨습니다" not in text
    names = sorted(QUIZ_2_TARGET)
    assert 'TARGET_NAMES = ["dog_1.png", "dog_4.png", "dog_7.png"]' in quiz
    assert 'target_names = ["dog_1.png", "dog_4.png", "dog_7.png"]' in preview
    assert all(f"`{name[:-4]}`" in preview for name in names)
    assert "(4점)" in preview and "(4점)" in quiz
    assert "흘려듣" not in lecture and "무엇이 보이는지" not in preview
    for phrase in ("달리는 개", "`dog_2`", "`answer_text`", "`mini`", "MMEMBED_OFFLINE=1", "파일 이름"):
        assert phrase in preview and phrase.strip("`") in quiz, phrase


# --- the real CLIP (needs the hub) ------------------------------------------------------------------------


def test_quizzes_2_and_7_load_the_grading_model_as_section_4_2_says():
    """Section 4.2: quizzes 2 and 7 call mmembed.load_clip(GRADING_MODEL), whose default is mini."""
    from mmembed.grading import COURSE_GRADING_MODEL

    prose = markdown_text(nbformat.read(NOTEBOOK, as_version=4))
    assert "퀴즈 2와 7은 채점 모델의 이름을 넣어 `mmembed.load_clip(GRADING_MODEL)`로 부르므로" in prose
    for quiz in (QUIZ_2, QUIZ_7):
        assert "mmembed.load_clip(GRADING_MODEL)" in nbformat.read(quiz, as_version=4).cells[1].source
    assert COURSE_GRADING_MODEL == "mini"


@pytest.mark.online
def test_real_clip_puts_the_lying_dog_in_the_top3_for_a_dog_is_sleeping(real_clip):
    """Section 4.4 (what the reader sees online): dog_3 is among the real CLIP's top-3 for "A dog is sleeping"."""
    similarity, names = dog_similarity(*real_clip)
    row = list(DOG_QUERIES).index("A dog is sleeping")
    assert "dog_3.png" in [names[i] for i in similarity[row].topk(3).indices.tolist()]


@pytest.mark.online
def test_real_clip_dog_cosines_are_small(real_clip):
    """Section 5: the real CLIP's cosine similarities stay below 0.5 ("0.3 안팎"); the best match of each
    query is between 0.15 and 0.45."""
    similarity, _ = dog_similarity(*real_clip)
    assert similarity.max().item() < 0.5
    best = similarity.max(dim=1).values
    assert ((best > 0.15) & (best < 0.45)).all(), best


@pytest.mark.online
def test_real_clip_placeholder_is_not_the_quiz_2_answer(real_clip):
    """Section 6: "a dog" must not already solve quiz 2 with the real CLIP either."""
    images, names = mmembed.load_images(TOPK_IMAGE_DIR)
    found = mmembed.search(
        mmembed.embed_texts(QUIZ_2_PLACEHOLDER, *real_clip), mmembed.embed_images(images, *real_clip), names, 3
    )
    assert {name for name, _ in found} != QUIZ_2_TARGET
