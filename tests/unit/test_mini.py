"""The bilingual tokenizer, the training texts, the contrastive loss, training, and the committed `mini` model."""

import json
import random
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from transformers import CLIPModel, CLIPProcessor

from mmembed.manifest import read_manifest, read_short_texts
from mmembed.paths import MINI_DIR, REPO_ROOT
from mmembed.training import (
    MAX_MADE_UP_WORDS,
    QUERY_SHARE,
    Example,
    add_made_up_words,
    contrastive_loss,
    course_examples,
    course_syllables,
    draw_text,
    is_hangul,
    new_mini_model,
    train,
    training_batch,
)
from mmembed.training.attributes import attribute_phrases, picture_attributes
from mmembed.training.evaluate import drawing_paths, evaluate
from mmembed.training.query_forms import fill, read_picture_nouns
from mmembed.training.text_match import match_key
from mmembed.training.tokenizer import train_bilingual_tokenizer
from mmembed.training.validity import validity
from mmembed.zoo.clip_bpe import clip_tokenizer
from tools.train_mini import EVALUATION_TEXTS, compare, reserved_texts

# words for the medium in the training forms (English "image" and "sketch" are only in held-out forms)
MEDIUM_WORDS = ("photo", "picture", "drawing", "painting", "사진", "그림", "이미지", "스케치")


# Under pytest-xdist the tests that share an expensive module fixture run on one worker, which builds it once
# (spread over both workers, each would build it: the tokenizer takes seconds, evaluate() the longest of this module).
SHARES_THE_TOKENIZER = pytest.mark.xdist_group("test_mini-bilingual")
SHARES_MINI_FIGURES = pytest.mark.xdist_group("test_mini-figures")


@pytest.fixture(scope="module")
def bilingual():
    pictures = read_manifest()
    return train_bilingual_tokenizer([p.caption_en for p in pictures] + [p.caption_ko for p in pictures])


def test_short_texts_cover_every_category_and_name_no_group():
    """Quiz 2's group names answered the quiz: they are gone, and nothing else but categories is there."""
    short = read_short_texts()
    for picture in read_manifest():
        assert ("category", picture.category) in short, picture.category
    assert {kind for kind, _ in short} == {"category"}
    assert all(english and korean and all(english + korean) for english, korean in short.values())


@SHARES_THE_TOKENIZER
def test_end_of_text_keeps_the_highest_id(bilingual):
    vocab = bilingual.get_vocab()
    assert bilingual.eos_token_id == max(vocab.values()) == len(vocab) - 1
    assert bilingual.pad_token_id == bilingual.eos_token_id


@SHARES_THE_TOKENIZER
@pytest.mark.parametrize("texts", [["a dog", "강아지가 공원에서 뛰어요"], ["qzxj 뷁 😀", "a photo of a cat"]])
def test_pooling_lands_on_the_end_token(bilingual, texts):
    """CLIP pools at input_ids.argmax(-1); unseen characters must not turn into (end-of-text) unknowns."""
    ids = bilingual(texts, padding=True, return_tensors="pt").input_ids
    for row, position in zip(ids, ids.argmax(-1)):
        assert row[position] == bilingual.eos_token_id
        assert (row[:position] != bilingual.eos_token_id).all()
        assert position == (row != bilingual.eos_token_id).sum()  # right after the last real token


@SHARES_THE_TOKENIZER
def test_korean_needs_fewer_tokens_than_with_clips_bpe(bilingual):
    text = "풀밭에 서 있는 회색과 흰색 허스키 사진"
    assert len(bilingual(text).input_ids) < len(clip_tokenizer()(text).input_ids) / 2


@pytest.fixture(scope="module")
def examples():
    return course_examples(reserved=reserved_texts())  # as tools/train_mini.py builds them


def test_no_training_text_is_a_reserved_or_held_out_one(examples):
    """No text mini trains on equals a quiz's answer or an evaluation text, up to articles, plurals, particles
    and spacing (text_match.match_key); quiz 2's answer "a dog's head" and its variants included."""
    reserved = {match_key(text) for text in reserved_texts()}
    assert {match_key("a dog's head"), match_key("개의 머리"), match_key("a red flower")} <= reserved
    trained = [t for e in examples for t in [*e.texts, *e.queries, *e.attributes]]
    assert len(trained) > 10_000
    assert not [text for text in trained if match_key(text) in reserved]


def test_attribute_phrases_name_a_pictures_own_colour_or_pose():
    pictures = {p.path: p for p in read_manifest()}
    assert picture_attributes(pictures["quiz-image/val_33.JPEG"]) == {"colours": ["red"], "poses": [], "parts": []}
    assert "a red gazania" in attribute_phrases(pictures["quiz-image/val_33.JPEG"])
    assert "달리는 닥스훈트" in attribute_phrases(pictures["topk-image/dog_2.png"])
    # the black of "a black line drawing of a dog's head" is the drawing's lines, not the dog
    assert picture_attributes(pictures["topk-image/dog_7.png"])["colours"] == []
    # a picture of only a dog's head: the part beside the picture's names and beside a noun all such pictures share
    assert picture_attributes(pictures["topk-image/dog_4.png"])["parts"] == ["head"]
    assert {"a bulldog's head", "the face of an animal", "불도그 얼굴", "동물 머리"} <= set(
        attribute_phrases(pictures["topk-image/dog_4.png"])
    )


def test_every_picture_has_its_nouns_in_training_phrases_in_both_languages(examples):
    nouns = read_picture_nouns()
    captions = {p.path: [p.caption_en, p.caption_ko] for p in read_manifest()}
    for example in examples:
        english, korean = nouns[example.name].en[0], nouns[example.name].ko[0]
        assert example.texts[:2] == captions[example.name]  # lecture 07 shows texts[0] and texts[1]
        assert english in example.queries and korean in example.queries
        assert fill("a photo of {a}", english, "en") in example.queries
        assert fill("{noun}이/가 있는 그림", korean, "ko") in example.queries


def test_words_for_the_medium_are_as_common_for_drawings_as_for_photos(examples):
    """ "drawing", "그림", "사진"... are trained on photos and drawings alike, so the word alone does not pull a
    query to one style: the share of a picture's queries that hold the word is the same for both styles."""
    drawings = drawing_paths()
    assert 0 < sum(example.name in drawings for example in examples) < len(examples)
    for word in MEDIUM_WORDS:
        shares = {True: [], False: []}
        for example in examples:
            shares[example.name in drawings].append(sum(word in q for q in example.queries) / len(example.queries))
        drawing_share, photo_share = (sum(shares[s]) / len(shares[s]) for s in (True, False))
        assert photo_share > 0 and abs(drawing_share - photo_share) < 0.01, (word, drawing_share, photo_share)


def test_a_training_step_draws_a_query_query_share_of_the_time(examples):
    example = Example("picture", examples[0].image, ["caption", "category word"], ["query 1", "query 2", "query 3"])
    rng = random.Random(0)
    drawn = [draw_text(example, rng, QUERY_SHARE) for _ in range(4000)]
    assert {text for text, _ in drawn} == set(example.texts) | set(example.queries)
    assert all((text in example.queries) == is_query for text, is_query in drawn)
    assert sum(is_query for _, is_query in drawn) / len(drawn) == pytest.approx(QUERY_SHARE, abs=0.03)


def test_without_queries_a_batch_is_drawn_as_before_queries_existed(examples):
    """training_batch's default (query_share=0, as lecture 07 calls it) spends no random number on queries: the
    texts are exactly those a plain choice among the descriptions gives."""
    indices = [0, 5, 17, 42]
    processor = CLIPProcessor.from_pretrained(MINI_DIR)
    _, tokens, _ = training_batch(examples, indices, processor, random.Random(3))
    rng = random.Random(3)
    texts = [rng.choice(examples[i].texts) for i in indices]
    assert torch.equal(tokens["input_ids"], processor.tokenizer(texts, padding=True, return_tensors="pt").input_ids)


@pytest.mark.parametrize("text", ["a hammer", "a photo of the red apple", "망치가 있는 사진", "사과"])
def test_made_up_words_go_between_the_words_and_keep_the_texts_own_in_order(text):
    """1 to MAX_MADE_UP_WORDS new words, in the text's own script; the text's words stay, in their order."""
    korean = any(map(is_hangul, text))
    for seed in range(50):
        noisy = add_made_up_words(text, random.Random(seed)).split(" ")
        original, position, added = text.split(" "), 0, []
        for word in noisy:  # the original words must appear in order; everything else was added
            if position < len(original) and word == original[position]:
                position += 1
            else:
                added.append(word)
        assert position == len(original), (text, noisy)
        assert 1 <= len(added) <= MAX_MADE_UP_WORDS
        for word in added:
            assert word and (all(map(is_hangul, word)) if korean else word.isascii() and word.isalpha()), word


def test_made_up_korean_words_mix_course_syllables_and_others():
    words = [add_made_up_words("사과", random.Random(seed)) for seed in range(300)]
    syllables = [c for text in words for c in text.replace("사과", "", 1) if is_hangul(c)]
    from_course = sum(c in course_syllables() for c in syllables) / len(syllables)
    assert 0.4 < from_course < 0.8  # half of them drawn from the course's syllables, some others by chance


def test_queries_shared_by_pictures_match_all_of_them(examples):
    """Four trucks share "a photo of a truck": in a batch, that text's targets are every truck in it."""
    trucks = [e for e in examples if "a photo of a truck" in e.queries]
    assert len(trucks) >= 3 and all(e.describes("a photo of a truck") for e in trucks)
    assert not any(e.describes("a photo of a truck") for e in examples if e not in trucks)


def test_loss_with_one_match_per_row_is_clips_loss():
    logits = torch.randn(6, 6)
    expected = (F.cross_entropy(logits, torch.arange(6)) + F.cross_entropy(logits.T, torch.arange(6))) / 2
    torch.testing.assert_close(contrastive_loss(logits, torch.eye(6)), expected)


def test_loss_is_small_when_every_text_finds_its_picture():
    assert contrastive_loss(torch.eye(4) * 100, torch.eye(4)).item() < 1e-6
    assert contrastive_loss(torch.ones(4, 4) * 5, torch.eye(4)).item() == pytest.approx(
        torch.log(torch.tensor(4.0)).item()
    )


@pytest.mark.slow  # over 8 s: kept out of make test-fast
def test_committed_tokenizer_is_rebuilt_exactly_from_the_course_texts(examples):
    """The tokenizer is learned from the descriptions and the queries without random tie-breaks: another
    process, the same vocabulary and merges."""
    rebuilt = train_bilingual_tokenizer([t for e in examples for t in [*e.texts, *e.queries, *e.attributes]])
    committed = CLIPProcessor.from_pretrained(MINI_DIR).tokenizer
    assert rebuilt.get_vocab() == committed.get_vocab()

    def merges(tokenizer):
        return json.loads(tokenizer.backend_tokenizer.to_str())["model"]["merges"]

    assert merges(rebuilt) == merges(committed)


@pytest.fixture
def one_thread():
    """A model this small trains faster on one thread, and much faster when other programs share the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_a_short_training_run_is_deterministic_and_lowers_the_loss(examples, one_thread):
    examples = examples[:8]
    runs = []
    for _ in range(2):
        model, processor = new_mini_model(examples, seed=1)
        losses = train(model, processor, examples, steps=30, batch_size=8, seed=1, progress=False)
        runs.append((losses, model.state_dict()))
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(runs[0][1][k], runs[1][1][k]) for k in runs[0][1])
    assert sum(runs[0][0][-5:]) / 5 < sum(runs[0][0][:5]) / 5


def test_mini_is_a_plain_transformers_clip_under_20_mb(mini):
    model = CLIPModel.from_pretrained(MINI_DIR)
    processor = CLIPProcessor.from_pretrained(MINI_DIR)
    assert model.config.projection_dim == 512
    assert model.config.text_config.eos_token_id == processor.tokenizer.eos_token_id == len(processor.tokenizer) - 1
    assert sum(f.stat().st_size for f in MINI_DIR.iterdir()) < 20 * 2**20
    assert mini[0].mmembed_name == "mini"


@pytest.fixture(scope="module")
def mini_figures(mini):
    return evaluate(*mini)


@SHARES_MINI_FIGURES
def test_mini_finds_the_course_pictures_by_caption(mini_figures):
    assert mini_figures["recall@1_en"] >= 0.9
    assert mini_figures["recall@1_ko"] >= 0.8


@SHARES_MINI_FIGURES
def test_mini_answers_short_category_queries(mini_figures):
    assert mini_figures["category_top1_en"] >= 0.8
    assert mini_figures["category_top1_ko"] >= 0.8


@SHARES_MINI_FIGURES
def test_committed_metrics_are_the_models_own(mini_figures):
    """Every figure metrics.json records is what evaluate() measures on the committed model (a metrics.json
    written before a figure existed lacks it; the caption figures are always there)."""
    recorded = json.loads((MINI_DIR / "metrics.json").read_text(encoding="utf-8"))
    assert {"recall@1_en", "recall@1_ko", "held_out_texts"} <= set(recorded)
    for name in set(recorded) & set(mini_figures):
        if isinstance(recorded[name], dict):  # the form tables: rates computed from counts, so exactly equal
            assert recorded[name] == mini_figures[name], name
        else:
            assert recorded[name] == pytest.approx(mini_figures[name], abs=1e-6), name


@pytest.mark.slow
def test_train_mini_check_reproduces_a_record_exactly_and_catches_a_changed_one(tmp_path):
    """models/train_mini.py (the path lecture 07 gives) trains; `python -m tools.train_mini --check` retrains and
    finds the same figures and loss; a record with one figure changed is reported as not reproduced."""
    folder = tmp_path / "mini"
    steps = ["--steps", "4", "--out", str(folder)]

    def run(*command):
        return subprocess.run(
            [sys.executable, *command, *steps], cwd=tmp_path, capture_output=True, text=True, timeout=600
        )

    trained = run(str(REPO_ROOT / "models" / "train_mini.py"))  # from another folder: the wrapper finds tools/
    assert trained.returncode == 0, trained.stderr[-2000:]
    record = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    assert {"held_out_forms", "trained_forms", "before", "final_loss"} <= set(record)
    for name in ["tokenizer.json", "tokenizer_config.json", "processor_config.json"]:  # none depends on --steps
        assert (folder / name).read_bytes() == (MINI_DIR / name).read_bytes(), name
    check = subprocess.run(
        [sys.executable, "-m", "tools.train_mini", "--check", *steps],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert check.returncode == 0, check.stdout[-2000:]
    assert "reproduced exactly" in check.stdout

    changed = {**record, "final_loss": record["final_loss"] + 1e-9}
    assert compare(record, record) == 0
    assert compare(record, changed) == 1
    assert compare({**record, "minutes": 99.0, "load_average": 9.9}, record) == 0  # how the run went is no figure


@pytest.fixture(scope="module")
def mini_validity(mini):
    return validity(*mini, EVALUATION_TEXTS)


@SHARES_MINI_FIGURES
def test_mini_hears_attributes_and_grades_quiz_2_fairly(mini_validity):
    """Issue 32's goals on held-out texts (tests/evaluation_texts) that the committed mini meets, per language: the
    attribute lifts recall@1 at least 0.40 above the noun-only baseline, pair flips >= 0.90, and quiz 2 passes
    unrelated texts at most 0.05 of the time. Two goals it misses (attribute recall@1 0.80, quiz 2's honest
    descriptions 0.85; README, "오프라인 모델 mini") are held at the committed model's level instead, so that a
    retrain that loses ground fails here."""
    for language in ("en", "ko"):
        attribute = mini_validity[f"attribute_recall@1_{language}"]
        assert attribute - mini_validity[f"noun_only_recall@1_{language}"] >= 0.40, language
        assert mini_validity[f"pair_flips_{language}"] >= 0.90, language
        assert attribute >= 0.64, (language, attribute)
        assert mini_validity[f"quiz2_honest_pass_{language}"] >= 0.58, language
    assert mini_validity["quiz2_unrelated_pass"] <= 0.05


@SHARES_MINI_FIGURES
def test_recorded_held_out_rates_are_the_models_own(mini_validity):
    recorded = json.loads((MINI_DIR / "metrics.json").read_text(encoding="utf-8"))["held_out_texts"]
    assert recorded == pytest.approx(mini_validity, abs=1e-9)
