"""What lectures 01 and 02 say, checked.

- Tests marked `online` check every sentence that states what the real `openai/clip-vit-base-patch32` returns;
  they are skipped where the Hugging Face Hub cannot be reached (see the project's conftest.py).
- The other tests check, offline, the facts the lectures state about tensor shapes, worked examples, the
  transformers 5.x API and the offline model `mini` (which the notebooks use in CI).
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import mmembed
from mmembed.paths import CAT_IMAGE, QUIZ_IMAGE_DIR

REAL_CLIP = "openai/clip-vit-base-patch32"
CAT_TEXTS = ["A dog", "A cat", "A nuclear submarine"]  # lecture 01, section 5
# lecture 02, section 5: text i describes picture i
HEATMAP_FILES = [
    CAT_IMAGE,
    QUIZ_IMAGE_DIR / "val_0.JPEG",
    QUIZ_IMAGE_DIR / "val_2.JPEG",
    QUIZ_IMAGE_DIR / "val_3.JPEG",
    QUIZ_IMAGE_DIR / "val_14.JPEG",
]
HEATMAP_TEXTS = ["a cat", "a hot air balloon", "a zebra", "a pineapple", "a planet"]


def cat_scores(model, processor):
    """Lecture 01's computation: (cosine similarities, softmax probabilities) of cat.jpg against CAT_TEXTS."""
    image = mmembed.load_image(CAT_IMAGE)
    inputs = processor(text=CAT_TEXTS, images=image, return_tensors="pt", padding=True, truncation=True)
    with torch.no_grad():
        image_embeds = model.get_image_features(pixel_values=inputs["pixel_values"]).pooler_output
        text_embeds = model.get_text_features(
            input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]
        ).pooler_output
        probs = model(**inputs).logits_per_image.softmax(dim=1)[0]
    cosines = mmembed.cosine_similarity_matrix(image_embeds, text_embeds)[0]
    return cosines, probs


def heatmap_similarity(model, processor):
    """Lecture 02's (5 texts, 5 pictures) cosine similarity matrix."""
    images = [mmembed.load_image(path) for path in HEATMAP_FILES]
    return mmembed.cosine_similarity_matrix(
        mmembed.embed_texts(HEATMAP_TEXTS, model, processor), mmembed.embed_images(images, model, processor)
    )


# --- the real CLIP (needs the hub) ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_clip():
    return mmembed.load_clip(REAL_CLIP, device="cpu")


@pytest.mark.online
def test_lecture_01_real_clip_picks_a_cat_with_probability_above_0_9(real_clip):
    """Lecture 01, 5.4: with the real CLIP, "A cat" has the highest probability, and it is above 0.9."""
    _, probs = cat_scores(*real_clip)
    assert probs.argmax().item() == CAT_TEXTS.index("A cat")
    assert probs[CAT_TEXTS.index("A cat")].item() > 0.9


@pytest.mark.online
def test_lecture_01_real_clip_cosine_similarities_are_below_0_5(real_clip):
    """Lecture 01, 5.4: the real CLIP's cosine similarities are all below 0.5 ("A cat" still the highest)."""
    cosines, _ = cat_scores(*real_clip)
    assert cosines.max().item() < 0.5
    assert cosines.argmax().item() == CAT_TEXTS.index("A cat")


@pytest.mark.online
def test_lecture_01_real_clip_logit_scale_is_100(real_clip):
    """Lecture 01, 5.4: the real CLIP's logit_scale.exp() is 100."""
    model, _ = real_clip
    assert model.logit_scale.exp().item() == pytest.approx(100.0, abs=0.5)


@pytest.mark.online
def test_lecture_01_real_clip_weights_are_about_600_mb(real_clip):
    """Lecture 01, section 4: the real CLIP is about 600 MB (float32 weights)."""
    model, _ = real_clip
    megabytes = sum(p.numel() * p.element_size() for p in model.parameters()) / 1e6
    assert 550 < megabytes < 650


@pytest.mark.online
def test_lecture_02_real_clip_values_are_much_smaller_than_mini(real_clip):
    """Lecture 02, section 5: the real CLIP gives much smaller values than mini on the 5 x 5 heatmap
    (here: every value below 0.5; mini's diagonal is above 0.7, see the offline test below)."""
    assert heatmap_similarity(*real_clip).max().item() < 0.5


# --- the offline model mini (what the notebooks show in CI) --------------------------------------------


@pytest.fixture(scope="module")
def mini():
    return mmembed.load_clip("mini", device="cpu")


def test_lecture_01_get_image_features_returns_an_output_object(mini):
    """Lecture 01, 5.1: in transformers 5.x get_*_features returns an output object; the embedding is .pooler_output."""
    model, processor = mini
    pixels = processor(images=mmembed.load_image(CAT_IMAGE), return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        output = model.get_image_features(pixel_values=pixels)
    assert not isinstance(output, torch.Tensor)
    assert type(output).__name__ == "BaseModelOutputWithPooling"
    assert tuple(output.pooler_output.shape) == (1, 512)


def test_lecture_01_logits_are_logit_scale_times_cosine(mini):
    """Lecture 01, 5.3: logits_per_image = logit_scale.exp() x cosine similarity."""
    model, processor = mini
    image = mmembed.load_image(CAT_IMAGE)
    inputs = processor(text=CAT_TEXTS, images=image, return_tensors="pt", padding=True, truncation=True)
    cosines, _ = cat_scores(model, processor)
    with torch.no_grad():
        logits = model(**inputs).logits_per_image[0]
    assert torch.allclose(logits, model.logit_scale.exp() * cosines, atol=1e-3)


def test_lecture_01_mini_also_picks_a_cat_with_high_cosine_and_low_temperature(mini):
    """Lecture 01, 5.4: mini also ranks "A cat" first, its cosine similarity is close to 1 (above 0.8)
    and its logit_scale.exp() is much smaller than 100."""
    model, _ = mini
    cosines, probs = cat_scores(*mini)
    cat = CAT_TEXTS.index("A cat")
    assert probs.argmax().item() == cat and cosines.argmax().item() == cat
    assert cosines[cat].item() > 0.8
    assert model.logit_scale.exp().item() < 50


def test_lecture_02_mini_finds_every_picture_with_a_large_diagonal(mini):
    """Lecture 02, section 5: with mini the matching (diagonal) values are very large."""
    similarity = heatmap_similarity(*mini)
    assert similarity.argmax(dim=1).tolist() == [0, 1, 2, 3, 4]
    assert similarity.diagonal().min().item() > 0.7


# --- lecture 02's worked examples and shapes ----------------------------------------------------------


def numpy_cosine(a, b):
    return np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))


VEC1 = torch.tensor([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]])
VEC2 = torch.tensor([[2.0, 4.0, 6.0], [-1.0, -2.0, -3.0], [3.0, 2.0, 1.0], [1.0, 0.0, 0.0]])


def test_lecture_02_hand_example_is_45_degrees():
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
def test_lecture_02_special_angles(u, v, expected):
    assert numpy_cosine(np.array(u), np.array(v)) == pytest.approx(expected, abs=1e-12)


def test_lecture_02_one_by_one_gives_shape_1():
    result = F.cosine_similarity(torch.tensor([[1.0, 2.0, 3.0]]), torch.tensor([[4.0, 5.0, 6.0]]), dim=1)
    assert tuple(result.shape) == (1,)
    assert result.item() == pytest.approx(32 / math.sqrt(14 * 77), abs=1e-6)


def test_lecture_02_one_by_four_broadcasts_to_shape_4():
    """Section 2.2: (1, 3) x (4, 3) -> (4,); first value 1 (same direction), second -1 (opposite)."""
    result = F.cosine_similarity(VEC1[:1], VEC2, dim=1)
    assert tuple(result.shape) == (4,)
    assert result.tolist() == pytest.approx([1.0, -1.0, 10 / 14, 1 / math.sqrt(14)], abs=1e-6)


def test_lecture_02_two_by_four_without_unsqueeze_fails():
    """Section 2.3: (2, 3) x (4, 3) cannot be broadcast."""
    with pytest.raises(RuntimeError):
        F.cosine_similarity(VEC1, VEC2, dim=1)


def test_lecture_02_unsqueeze_broadcasts_to_2_4_3_and_gives_2_4():
    """Section 2.4: vec1.unsqueeze(1) is (2, 1, 3); with (4, 3) it broadcasts to (2, 4, 3); dim=2 gives (2, 4),
    entry [i, j] being the cosine similarity of vec1[i] and vec2[j]."""
    left = VEC1.unsqueeze(1)
    assert tuple(left.shape) == (2, 1, 3)
    assert [tuple(t.shape) for t in torch.broadcast_tensors(left, VEC2)] == [(2, 4, 3), (2, 4, 3)]
    pairwise = F.cosine_similarity(left, VEC2, dim=2)
    assert tuple(pairwise.shape) == (2, 4)
    for i in range(2):
        for j in range(4):
            assert pairwise[i, j].item() == pytest.approx(numpy_cosine(VEC1[i].numpy(), VEC2[j].numpy()), abs=1e-6)


def test_lecture_02_same_shape_compares_row_by_row():
    """Section 2.5: (2, 3) x (2, 3) -> (2,), the diagonal of the pairwise matrix."""
    row_wise = F.cosine_similarity(VEC1, VEC2[:2], dim=1)
    assert tuple(row_wise.shape) == (2,)
    assert torch.allclose(row_wise, F.cosine_similarity(VEC1.unsqueeze(1), VEC2[:2], dim=2).diagonal(), atol=1e-6)


def test_lecture_02_normalised_matmul_equals_pairwise_and_mmembed():
    """Section 3: F.normalize(vec1) @ F.normalize(vec2).T == the unsqueeze version == mmembed's matrix."""
    matmul = F.normalize(VEC1, dim=1) @ F.normalize(VEC2, dim=1).T
    assert tuple(matmul.shape) == (2, 4)
    assert torch.allclose(matmul, F.cosine_similarity(VEC1.unsqueeze(1), VEC2, dim=2), atol=1e-6)
    assert torch.allclose(matmul, mmembed.cosine_similarity_matrix(VEC1, VEC2), atol=1e-6)


def test_lecture_02_quiz_hint_integer_tensors_must_become_float():
    """The quiz pointer's hint: cosine similarity of integer tensors fails until they are made float."""
    vec1 = torch.tensor([[1, 2, 3, 4], [5, 6, 7, 8]])
    with pytest.raises(RuntimeError):
        F.cosine_similarity(vec1, vec1, dim=1)
    assert tuple(F.cosine_similarity(vec1.float(), vec1.float(), dim=1).shape) == (2,)
