"""What lecture 02 (cosine similarity) says, checked.

- Offline: the worked examples, the shapes of section 2 (and the answers of its "predict first" table), the
  matrix-product form of section 3 (the same as `mmembed.cosine_similarity_matrix`, which later lectures use),
  what the prose says about `mini`, and that the quiz 1 preview describes quizzes/quiz_notebooks/quiz1.
- Tests marked `online` check what the prose says about the real `openai/clip-vit-base-patch32`; they are
  skipped where the Hugging Face Hub cannot be reached.
"""

import json
import math
import re

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import mmembed
from mmembed.paths import CAT_IMAGE, QUIZ_IMAGE_DIR
from tests.helpers import REPO_ROOT, cell_text
from tests.lectures.conftest import executed_lecture, lecture_group, lecture_path

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
VEC1 = torch.tensor([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]])
VEC2 = torch.tensor([[2.0, 4.0, 6.0], [-1.0, -2.0, -3.0], [3.0, 2.0, 1.0], [1.0, 0.0, 0.0]])


def numpy_cosine(a, b):
    return np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))


def heatmap_similarity(model, processor):
    """Section 5's (5 texts, 5 pictures) cosine similarity matrix."""
    images = [mmembed.load_image(path) for path in HEATMAP_FILES]
    return mmembed.cosine_similarity_matrix(
        mmembed.embed_texts(HEATMAP_TEXTS, model, processor), mmembed.embed_images(images, model, processor)
    )


def markdown(path):
    return "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")


# --- section 1 and 2: worked examples and shapes ----------------------------------------------------------


def test_hand_example_is_45_degrees():
    """Section 1: a = (3, 1), b = (1, 2): dot 5, cos = 5 / sqrt(50) ~ 0.7071, 45 degrees."""
    a, b = np.array([3.0, 1.0]), np.array([1.0, 2.0])
    assert np.dot(a, b) == 5
    assert numpy_cosine(a, b) == pytest.approx(5 / math.sqrt(50))
    assert numpy_cosine(a, b) == pytest.approx(0.7071, abs=1e-4)
    assert math.degrees(math.acos(numpy_cosine(a, b))) == pytest.approx(45)


@pytest.mark.parametrize(
    "u, v, expected",
    [
        ([1.0, 2.0], [2.0, 4.0], 1.0),  # same direction, twice as long
        ([2.0, 1.0], [-1.0, 2.0], 0.0),  # perpendicular
        ([2.0, 1.0], [-2.0, -1.0], -1.0),  # opposite
    ],
)
def test_special_angles(u, v, expected):
    assert numpy_cosine(np.array(u), np.array(v)) == pytest.approx(expected, abs=1e-12)


def test_one_by_one_gives_shape_1():
    """Section 2.1 and the answer table: (1,), 32 / sqrt(14 * 77) = 0.9746."""
    result = F.cosine_similarity(torch.tensor([[1.0, 2.0, 3.0]]), torch.tensor([[4.0, 5.0, 6.0]]), dim=1)
    assert tuple(result.shape) == (1,)
    assert result.item() == pytest.approx(32 / math.sqrt(14 * 77), abs=1e-6)
    assert round(result.item(), 4) == 0.9746


def test_one_by_four_broadcasts_to_shape_4():
    """Section 2.2: (1, 3) x (4, 3) -> (4,); 1 (same direction), -1 (opposite), 0.7143, 0.2673."""
    result = F.cosine_similarity(VEC1[:1], VEC2, dim=1)
    assert tuple(result.shape) == (4,)
    assert result.tolist() == pytest.approx([1.0, -1.0, 10 / 14, 1 / math.sqrt(14)], abs=1e-6)
    assert [round(v, 4) for v in result.tolist()] == [1.0, -1.0, 0.7143, 0.2673]


def test_two_by_four_without_unsqueeze_fails():
    """Section 2.3: (2, 3) x (4, 3) cannot be broadcast."""
    with pytest.raises(RuntimeError):
        F.cosine_similarity(VEC1, VEC2, dim=1)


def test_unsqueeze_broadcasts_to_2_4_3_and_gives_2_4():
    """Section 2.4: vec1.unsqueeze(1) is (2, 1, 3); with (4, 3), or with vec2.unsqueeze(0) (1, 4, 3), it broadcasts
    to (2, 4, 3); dim=2 (= dim=-1) gives (2, 4), entry [i, j] being the cosine similarity of vec1[i] and vec2[j]."""
    left = VEC1.unsqueeze(1)
    assert tuple(left.shape) == (2, 1, 3) and tuple(VEC2.unsqueeze(0).shape) == (1, 4, 3)
    assert [tuple(t.shape) for t in torch.broadcast_tensors(left, VEC2)] == [(2, 4, 3), (2, 4, 3)]
    pairwise = F.cosine_similarity(left, VEC2, dim=2)
    assert tuple(pairwise.shape) == (2, 4)
    assert torch.allclose(pairwise, F.cosine_similarity(left, VEC2.unsqueeze(0), dim=-1))
    for i in range(2):
        for j in range(4):
            assert pairwise[i, j].item() == pytest.approx(numpy_cosine(VEC1[i].numpy(), VEC2[j].numpy()), abs=1e-6)
    assert pairwise[0, :2].tolist() == pytest.approx([1.0, -1.0], abs=1e-6)


def test_same_shape_compares_row_by_row():
    """Section 2.5: (2, 3) x (2, 3) -> (2,) = 1, -0.5345, the diagonal of the pairwise matrix."""
    row_wise = F.cosine_similarity(VEC1, VEC2[:2], dim=1)
    assert tuple(row_wise.shape) == (2,)
    assert [round(v, 4) for v in row_wise.tolist()] == [1.0, -0.5345]
    assert torch.allclose(row_wise, F.cosine_similarity(VEC1.unsqueeze(1), VEC2[:2], dim=2).diagonal(), atol=1e-6)


def test_integer_tensors_must_become_float():
    """Section 2: cosine similarity of integer tensors fails until they are made float."""
    vec1 = torch.tensor([[1, 2, 3, 4], [5, 6, 7, 8]])
    with pytest.raises(RuntimeError):
        F.cosine_similarity(vec1, vec1, dim=1)
    assert tuple(F.cosine_similarity(vec1.float(), vec1.float(), dim=1).shape) == (2,)


def test_normalised_matmul_equals_pairwise_and_mmembed():
    """Section 3: F.normalize(vec1) @ F.normalize(vec2).T == the unsqueeze version == mmembed's matrix (the prose
    says mmembed.cosine_similarity_matrix is those two lines)."""
    matmul = F.normalize(VEC1, dim=1) @ F.normalize(VEC2, dim=1).T
    assert tuple(matmul.shape) == (2, 4)
    assert torch.allclose(matmul, F.cosine_similarity(VEC1.unsqueeze(1), VEC2, dim=2), atol=1e-6)
    assert torch.allclose(matmul, mmembed.cosine_similarity_matrix(VEC1, VEC2), atol=1e-6)


# --- the lecture's own run ----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.xdist_group(lecture_group(NOTEBOOK))
def test_answer_table_matches_what_the_cells_print():
    """Section 2: the collapsed answer table gives the shapes and values the cells then print."""
    nb = executed_lecture(NOTEBOOK)[0]
    table = markdown(NOTEBOOK).split("<details>")[1]
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
    preview = markdown(NOTEBOOK).split("퀴즈 1 (코사인 유사도, 5점)")[1].split("## 연습 문제")[0]
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
