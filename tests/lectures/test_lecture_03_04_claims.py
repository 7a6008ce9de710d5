"""What lectures 03 (top-k search) and 04 (searching 200 images) say, checked.

- Tests marked `online` check every sentence that states what the real `openai/clip-vit-base-patch32` returns;
  they are skipped where the Hugging Face Hub cannot be reached (see the project's conftest.py).
- The other tests check, offline, the tensor facts the lectures teach, the token counts of the real CLIP
  tokenizer (`mmembed.clip_bpe` builds exactly the real one; tests/lectures/test_real_clip_claims.py checks that
  online) and what the lectures say about the offline model `mini` (which the notebooks use in CI).
"""

from pathlib import Path

import pytest
import torch

import mmembed
from mmembed.clip_bpe import clip_tokenizer
from mmembed.evaluate import recall_at_k
from mmembed.manifest import read_manifest
from mmembed.paths import QUIZ_IMAGE_DIR, TOPK_IMAGE_DIR

REAL_CLIP = "openai/clip-vit-base-patch32"

# Lecture 03, section 5: the queries and the picture each one describes best (its top-1 with mini).
DOG_QUERIES = {
    "A dog is sleeping": "dog_3.png",
    "a dog running": "dog_2.png",
    "a dog on a leash": "dog_6.png",
    "a puppy sitting": "dog_8.png",
}
QUIZ_2_TARGET = {"dog_1.png", "dog_4.png", "dog_7.png"}
QUIZ_2_PLACEHOLDER = "a dog"  # lecture 03, section 6: the query the students start from (must not be an answer)

# Lecture 04, section 5 (text -> image) and section 7.2 (English and Korean side by side).
SEARCH_QUERIES = ["a red car", "a musical instrument", "a bird flying", "a sailing ship", "a planet in space"]
PAIRED_QUERIES = [("a red car", "빨간 자동차"), ("a musical instrument", "악기")]
# Lecture 04, section 6 (image -> image).
IMAGE_QUERIES = ["val_165.JPEG", "val_2.JPEG", "val_12.JPEG"]


def normalise(embeddings):
    return embeddings / embeddings.norm(dim=-1, keepdim=True)


def dog_similarity(model, processor):
    """Lecture 03's (4 queries, 9 dogs) cosine similarity matrix and the dogs' file names."""
    images, names = mmembed.load_images(TOPK_IMAGE_DIR)
    texts = normalise(mmembed.embed_texts(list(DOG_QUERIES), model, processor))
    return texts @ normalise(mmembed.embed_images(images, model, processor)).T, names


def quiz_captions():
    """English and Korean captions of val_0 .. val_199, in the order of mmembed.load_images."""
    pictures = {Path(p.path).name: p for p in read_manifest() if p.path.startswith("quiz-image/")}
    _, names = mmembed.load_images(QUIZ_IMAGE_DIR)
    return [pictures[n].caption_en for n in names], [pictures[n].caption_ko for n in names]


class QuizSearch:
    """Lecture 04's setup: the 200 quiz pictures embedded once, then searched by text or by picture."""

    def __init__(self, model, processor):
        self.model, self.processor = model, processor
        self.images, self.names = mmembed.load_images(QUIZ_IMAGE_DIR)
        self.image_units = normalise(mmembed.embed_images(self.images, model, processor))

    def text_similarity(self, texts):
        return normalise(mmembed.embed_texts(texts, self.model, self.processor)) @ self.image_units.T

    def top_names(self, text, k):
        return [self.names[i] for i in self.text_similarity([text])[0].topk(k).indices.tolist()]

    def caption_recall(self):
        """{(language, k): recall@k} of lecture 04, section 7.2: caption i should find val_i."""
        captions_en, captions_ko = quiz_captions()
        recall = {}
        for language, captions in (("en", captions_en), ("ko", captions_ko)):
            similarity = self.text_similarity(captions)
            for k in (1, 5):
                recall[(language, k)] = recall_at_k(similarity, k)
        return recall


# --- lecture 03: tensors (offline) -------------------------------------------------------------------------


def test_argmax_is_the_position_and_max_is_the_value():
    """Lecture 03, section 2: the seed lecture said 99; argmax is 2, max is 99."""
    scores = torch.tensor([-2, 1, 99, 8])
    assert scores.argmax().item() == 2
    assert scores.max().item() == 99
    assert scores.max(dim=0).indices.item() == 2


def test_topk_values_and_indices():
    """Lecture 03, section 3."""
    scores = torch.tensor([-2, 1, 99, 8])
    assert torch.topk(scores, k=2).values.tolist() == [99, 8]
    assert torch.topk(scores, k=2).indices.tolist() == [2, 3]
    assert scores.topk(3).indices.tolist() == [2, 3, 1]


def test_topk_along_dim_1_of_a_2d_tensor():
    """Lecture 03, section 3.1: one row per query; dim=1 is the default for 2-D; dim=0 goes per column."""
    similarity = torch.tensor([[0.10, 0.70, 0.30, 0.50], [0.90, 0.20, 0.80, 0.40]])
    assert similarity.argmax(dim=1).tolist() == [1, 0]
    top = torch.topk(similarity, k=2, dim=1)
    assert top.indices.tolist() == [[1, 3], [0, 2]]
    assert torch.allclose(top.values, torch.tensor([[0.7, 0.5], [0.9, 0.8]]))
    assert torch.equal(torch.topk(similarity, k=2).indices, top.indices)
    assert similarity.argmax(dim=0).tolist() == [1, 0, 1, 0]


# --- lecture 04: tokens (offline; the real CLIP's tokenizer) -----------------------------------------------


def test_clip_tokenizer_breaks_korean_into_byte_pieces():
    """Lecture 04, section 7.1: English words are one token each; each Hangul syllable is 3 UTF-8 bytes and
    comes out as pieces that are not characters on their own."""
    tokenizer = clip_tokenizer()

    def pieces(text):
        return [tokenizer.decode([i]) for i in tokenizer(text).input_ids[1:-1]]

    assert len("빨".encode()) == 3
    assert pieces("a red car") == ["a", "red", "car"]
    assert pieces("a musical instrument") == ["a", "musical", "instrument"]
    assert len(pieces("빨간 자동차")) == 10 and set(pieces("빨간 자동차")) == {"\ufffd"}
    assert len(pieces("악기")) == 4 and set(pieces("악기")) == {"\ufffd"}


def test_korean_captions_need_more_than_twice_the_clip_tokens_of_english_ones():
    """Lecture 04, section 7.1: on the 200 quiz captions, Korean needs more tokens than English for all but
    at most a few captions, and more than twice as many on average; all still fit CLIP's 77 tokens."""
    tokenizer = clip_tokenizer()
    captions_en, captions_ko = quiz_captions()
    en = [len(tokenizer(text).input_ids) - 2 for text in captions_en]
    ko = [len(tokenizer(text).input_ids) - 2 for text in captions_ko]
    assert sum(k > e for e, k in zip(en, ko)) >= 195
    assert sum(ko) > 2 * sum(en)
    assert max(ko) + 2 <= 77


# --- mini, the offline model the notebooks run with in CI ----------------------------------------------------


@pytest.fixture(scope="module")
def mini():
    return mmembed.load_clip("mini", device="cpu")


@pytest.fixture(scope="module")
def mini_search(mini):
    return QuizSearch(*mini)


def test_mini_top1_fits_each_dog_query(mini):
    """Lecture 03, sections 4.3 and 5: with mini, each query's top-1 is the picture it describes
    ("A dog is sleeping" -> dog_3, the dog lying down), with cosine similarities above 0.5."""
    similarity, names = dog_similarity(*mini)
    assert [names[i] for i in similarity.argmax(dim=1).tolist()] == list(DOG_QUERIES.values())
    assert (similarity.max(dim=1).values > 0.5).all()


def test_mini_placeholder_is_not_the_quiz_2_answer(mini):
    """Lecture 03, section 6 starts students from "a dog": it must not already solve quiz 2."""
    images, names = mmembed.load_images(TOPK_IMAGE_DIR)
    found = mmembed.search(
        mmembed.embed_texts(QUIZ_2_PLACEHOLDER, *mini), mmembed.embed_images(images, *mini), names, 3
    )
    assert {name for name, _ in found} != QUIZ_2_TARGET


def test_mini_quiz_embeddings_have_the_quiz_shape(mini_search):
    """Lecture 04, sections 2-3: 200 pictures, (200, 512)."""
    assert len(mini_search.names) == 200
    assert mini_search.image_units.shape == (200, 512)


def test_mini_red_car_brings_the_fire_truck_and_other_vehicles(mini_search):
    """Lecture 04, section 5: with mini, "a red car" is followed by the red fire truck and other vehicles."""
    categories = {Path(p.path).name: p.category for p in read_manifest() if p.path.startswith("quiz-image/")}
    top5 = mini_search.top_names("a red car", 5)
    assert "val_44.JPEG" in top5  # a red fire truck
    assert {categories[name] for name in top5} == {"vehicle"}


def test_image_search_finds_the_query_picture_itself_first(mini_search):
    """Lecture 04, section 6: the query picture is among the 200, so it is top-1 with cosine 1."""
    indices = [mini_search.names.index(name) for name in IMAGE_QUERIES]
    similarity = mini_search.image_units[indices] @ mini_search.image_units.T
    top = similarity.topk(6, dim=1)
    assert top.indices[:, 0].tolist() == indices
    assert top.values[:, 0].tolist() == pytest.approx([1.0] * len(indices), abs=1e-4)


def test_mini_finds_pictures_by_korean_captions_as_well_as_by_english_ones(mini_search):
    """Lecture 04, section 7.2: with mini, recall with English and with Korean captions is high and similar."""
    recall = mini_search.caption_recall()
    assert recall[("en", 1)] >= 0.9 and recall[("ko", 1)] >= 0.9
    assert abs(recall[("en", 1)] - recall[("ko", 1)]) <= 0.05
    assert recall[("en", 5)] >= 0.95 and recall[("ko", 5)] >= 0.95


def test_mini_english_and_korean_queries_share_most_of_their_top5(mini_search):
    """Lecture 04, section 7.2: with mini, 4 or more of the top-5 are the same for each English/Korean pair."""
    for english, korean in PAIRED_QUERIES:
        shared = set(mini_search.top_names(english, 5)) & set(mini_search.top_names(korean, 5))
        assert len(shared) >= 4, (english, korean, shared)


# --- the real CLIP (needs the hub) ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_clip():
    return mmembed.load_clip(REAL_CLIP, device="cpu")


@pytest.fixture(scope="module")
def real_search(real_clip):
    return QuizSearch(*real_clip)


@pytest.mark.online
def test_real_clip_puts_the_lying_dog_in_the_top3_for_a_dog_is_sleeping(real_clip):
    """Lecture 03, section 4.3: with the real CLIP, dog_3 is among the top-3 for "A dog is sleeping"."""
    similarity, names = dog_similarity(*real_clip)
    row = list(DOG_QUERIES).index("A dog is sleeping")
    assert "dog_3.png" in [names[i] for i in similarity[row].topk(3).indices.tolist()]


@pytest.mark.online
def test_real_clip_dog_cosines_are_small(real_clip):
    """Lecture 03, section 5: the real CLIP's cosine similarities stay below 0.5; the best match of each
    query is around 0.2-0.35 (tested loosely: between 0.15 and 0.45)."""
    similarity, _ = dog_similarity(*real_clip)
    assert similarity.max().item() < 0.5
    best = similarity.max(dim=1).values
    assert ((best > 0.15) & (best < 0.45)).all(), best


@pytest.mark.online
def test_real_clip_placeholder_is_not_the_quiz_2_answer(real_clip):
    """Lecture 03, section 6: "a dog" must not already solve quiz 2 with the real CLIP either."""
    images, names = mmembed.load_images(TOPK_IMAGE_DIR)
    found = mmembed.search(
        mmembed.embed_texts(QUIZ_2_PLACEHOLDER, *real_clip), mmembed.embed_images(images, *real_clip), names, 3
    )
    assert {name for name, _ in found} != QUIZ_2_TARGET


@pytest.mark.online
def test_real_clip_quiz_cosines_are_small(real_search):
    """Lecture 04, section 5: with the real CLIP, no cosine similarity of the lecture's queries with the
    200 pictures reaches 0.5; each query's best is between 0.15 and 0.45."""
    similarity = real_search.text_similarity(SEARCH_QUERIES)
    assert similarity.max().item() < 0.5
    best = similarity.max(dim=1).values
    assert ((best > 0.15) & (best < 0.45)).all(), best


@pytest.mark.online
def test_real_clip_finds_pictures_much_worse_by_korean_captions(real_search):
    """Lecture 04, section 7.2 and summary: with the real (English-only) CLIP, recall@1 with the Korean
    captions is less than half of recall@1 with the English captions, and recall@5 is lower too."""
    recall = real_search.caption_recall()
    assert recall[("ko", 1)] < 0.5 * recall[("en", 1)], recall
    assert recall[("ko", 5)] < recall[("en", 5)], recall
