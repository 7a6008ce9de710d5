"""What lecture 02 (cosine similarity) says, checked.

- The `slow` tests read the lecture's own offline run: the worked example of section 1, the shapes and values of
  section 2 (and the answers of its "predict first" table), and the matrix-product form of section 3.
- Offline: what the prose says about `mini`, and that the quiz 1 preview describes quizzes/quiz_notebooks/quiz1.
  (What the prose says of torch itself, that integer tensors are refused, is in tests/unit/test_library_behaviour.py.)
- Tests marked `online` check what the prose says about the real `openai/clip-vit-base-patch32`; they are
  skipped where the Hugging Face Hub cannot be reached.
"""

import json
import math
import re

import nbformat
import numpy as np
import pytest

import mmembed
from mmembed.paths import CAT_IMAGE, QUIZ_IMAGE_DIR
from tests.helpers import REPO_ROOT, cell_text, code_cell, decimals, lecture_function, markdown_text
from tests.lectures.conftest import lecture_path, reads_the_lecture_run

NOTEBOOK = lecture_path("02")
QUIZ_1 = REPO_ROOT / "quizzes" / "quiz_notebooks" / "quiz1_cosine_similarity.ipynb"
# Section 5: text i describes picture i.
HEATMAP_FILES = [
    CAT_IMAGE,
    QUIZ_IMAGE_DIR / "val_0.JPEG",
    QUIZ_IMAGE_DIR / "val_2.JPEG",
    QUIZ_IMAGE_DIR / "val_3.JPEG",
    QUIZ_IMAGE_DIR / "val_14.JPEG",
]
HEATMAP_TEXTS = ["a cat", "a hot air balloon", "a zebra", "a pineapple", "a planet"]


def heatmap_similarity(model, processor):
    """Section 5's (5 texts, 5 pictures) cosine similarity matrix."""
    images = [mmembed.load_image(path) for path in HEATMAP_FILES]
    return mmembed.cosine_similarity_matrix(
        mmembed.embed_texts(HEATMAP_TEXTS, model, processor), mmembed.embed_images(images, model, processor)
    )


# --- the lecture's own run ----------------------------------------------------------------------------------


@reads_the_lecture_run(NOTEBOOK)
def test_the_hand_example_prints_45_degrees(nb):
    """Section 1: a = (3, 1), b = (1, 2): dot 5, cos = 5 / sqrt(50) ~ 0.7071, 45 degrees."""
    text = cell_text(nb, "def cosine_similarity(a, b):")
    assert "내적      : 5.0" in text
    (cosine,) = decimals(text.split("코사인    :")[1].splitlines()[0])
    (degrees,) = decimals(text.split("각도 (도) :")[1])
    assert cosine == pytest.approx(5 / math.sqrt(50)) and round(cosine, 4) == 0.7071
    assert degrees == pytest.approx(45)


def test_twice_as_long_is_1_and_opposite_is_minus_1():
    """Section 1's prediction: the figure's second pair, a = (1, 2) and b = (2, 4), has dot product 10 and lengths
    whose product is 10, so the notebook's cosine_similarity gives 1; the fourth pair (opposite) gives -1."""
    figure = code_cell(nbformat.read(NOTEBOOK, as_version=4), "pairs = [").source
    assert '("같은 방향 (길이만 2배)", np.array([1.0, 2.0]), np.array([2.0, 4.0]))' in figure
    assert '("반대 방향", np.array([2.0, 1.0]), np.array([-2.0, -1.0]))' in figure
    cosine_similarity = lecture_function(NOTEBOOK, "cosine_similarity", np=np)
    a, b = np.array([1.0, 2.0]), np.array([2.0, 4.0])
    assert np.dot(a, b) == 10 and np.linalg.norm(a) * np.linalg.norm(b) == pytest.approx(10)
    assert cosine_similarity(a, b) == pytest.approx(1)
    assert cosine_similarity(np.array([2.0, 1.0]), np.array([-2.0, -1.0])) == pytest.approx(-1)
    prose = markdown_text(nbformat.read(NOTEBOOK, as_version=4))
    assert "두 번째 그림의 cos는 1, 네 번째는 -1입니다" in prose and "의 내적은 10이지만" in prose


@reads_the_lecture_run(NOTEBOOK)
def test_the_pairwise_matrix_has_the_special_angles_and_matches_the_for_loop(nb):
    """Sections 1 and 2.4: the (2, 4) matrix holds 1 (same direction, twice as long), -1 (opposite) and 0
    (perpendicular), as the answer to 2.4's prediction says, and the NumPy for loop over the 8 pairs gives the
    same matrix."""
    text = cell_text(nb, "left = vec1.unsqueeze(1)")
    assert "브로드캐스팅 후   : (2, 4, 3) (2, 4, 3)" in text and "vec1.unsqueeze(1): (2, 1, 3)" in text
    assert "tensor([[ 1.0000, -1.0000,  0.7143,  0.2673],\n        [ 0.5345, -0.5345,  0.5345,  0.0000]])" in text
    assert "`[0, 0]` = 1, `[0, 1]` = -1, `[1, 3]` = 0입니다" in markdown_text(nb)
    assert "for 문으로 하나씩 계산한 것과 같은가: True" in cell_text(nb, "by_hand = np.zeros(")


@reads_the_lecture_run(NOTEBOOK)
def test_answer_table_matches_what_the_cells_print(nb):
    """Section 2: the collapsed answer table gives the shapes and values the cells then print."""
    table = markdown_text(nb).split("<details>")[1]
    assert "| 2.1 | (1, 3) × (1, 3), `dim=1` | `(1,)` | 0.9746 |" in table
    assert "`(4,)` | 1, -1, 0.7143, 0.2673" in table and "| 2.3 | (2, 3) × (4, 3), `dim=1` | 오류 |" in table
    assert "`(2, 4)` | `[0, 0]` = 1, `[0, 1]` = -1" in table and "`(2,)` | 1, -0.5345" in table
    assert "result: tensor([0.9746])  shape: (1,)" in cell_text(nb, "x = torch.tensor([[1.0, 2.0, 3.0]])")
    assert "tensor([ 1.0000, -1.0000,  0.7143,  0.2673])  shape: (4,)" in cell_text(nb, "query = vec1[:1]")
    assert "RuntimeError:" in cell_text(nb, "F.cosine_similarity(vec1, vec2, dim=1)\nexcept")
    assert "결과 (dim=2)      : (2, 4)" in cell_text(nb, "left = vec1.unsqueeze(1)")
    assert "결과 (dim=-1): (2, 4)" in cell_text(nb, "pairwise_both = ")
    assert "row_wise: tensor([ 1.0000, -0.5345])  shape: (2,)" in cell_text(nb, "row_wise = F.cosine_similarity")
    assert "2.4절의 pairwise와 같은가: True" in cell_text(nb, "matmul = vec1_normalized @ vec2_normalized.T")


# --- the quiz 1 preview -------------------------------------------------------------------------------------


def test_quiz_1_preview_describes_quiz_1():
    """The summary's quiz 1 preview names quiz 1's tensors, its three parts and their points, the answer names,
    the shapes and the unsqueeze shapes the quiz itself gives."""
    prose = markdown_text(nbformat.read(NOTEBOOK, as_version=4))
    preview = prose.split("퀴즈 1 (코사인 유사도, 5점)")[1].split("## 연습 문제")[0]
    quiz = "\n".join(c.source for c in nbformat.read(QUIZ_1, as_version=4).cells)
    for vectors in ("[[1, 2, 3, 4], [5, 6, 7, 8]]", "[[0.1, 0.01, 2, 5], [1, 5, 10, 5]]"):
        assert vectors in preview and vectors in quiz
    for part, points in (("1-1", 2), ("1-2", 2), ("1-3", 1)):
        assert re.search(rf"## {part}\. .*\({points}점\)", quiz), part
        assert re.search(rf"\*\*{part} .*\({points}점\):\*\*", preview), part
    assert "총 5점" in quiz
    for phrase in ("`rowwise`", "`pairwise", "`(2,)`", "`(2, 2)`", "`(2, 1, 4)`", "`(1, 2, 4)`", "`dim=-1`"):
        assert phrase in preview, phrase
        assert phrase.strip("`") in quiz, phrase
    locked_setup = json.dumps(nbformat.read(QUIZ_1, as_version=4).cells[1].source)
    assert "torch.float32" in locked_setup and "torch.float32" in preview


# --- the offline model mini and the real CLIP -----------------------------------------------------------


def test_mini_finds_every_picture_with_a_large_diagonal(mini):
    """Section 5: with mini the matching (diagonal) values are very large."""
    similarity = heatmap_similarity(*mini)
    assert similarity.argmax(dim=1).tolist() == [0, 1, 2, 3, 4]
    assert similarity.diagonal().min().item() > 0.7


@pytest.mark.online
def test_real_clip_values_are_much_smaller_than_mini(real_clip):
    """Section 5: the real CLIP gives much smaller values than mini on the 5 x 5 heatmap
    (here: every value below 0.5; mini's diagonal is above 0.7, see the offline test)."""
    assert heatmap_similarity(*real_clip).max().item() < 0.5
