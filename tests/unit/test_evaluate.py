"""The query forms and the held-out evaluation: phrasings kept out of training, pictures that each hold one
clearly named thing, Korean particles, and recall figures that agree with a plain search."""

import json
from pathlib import Path

import pytest
import torch

import mmembed
from mmembed.images import load_image
from mmembed.manifest import read_manifest
from mmembed.paths import PACKAGE_DATA
from mmembed.training import course_examples
from mmembed.training.evaluate import PRECISION, drawing_paths, form_figures, top1_rate
from mmembed.training.query_forms import (
    LANGUAGES,
    fill,
    held_out_pictures,
    korean_particle,
    near_duplicates,
    phrase_words,
    phrases,
    read_picture_nouns,
    read_query_forms,
)
from tools.train_mini import reserved_texts

MIN_HELD_OUT_PICTURES = 40
MIN_HELD_OUT_FORMS = 6


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_held_out_phrase_is_a_training_phrase(language):
    held_out, training = phrases("held_out", language), phrases("training", language)
    assert held_out and not set(held_out) & set(training)
    assert len(set(held_out)) == len(held_out) and len(set(training)) == len(training)


def test_no_held_out_phrase_is_a_training_phrase_in_disguise():
    """Not only different strings: no training phrase is a held-out one with another article, a plural, another
    particle after the noun, or one word more ("a picture of {a}" for "a picture of the {noun}")."""
    assert near_duplicates() == []


def test_near_duplicates_are_caught():
    assert phrase_words("a picture of the {noun}", "en") == phrase_words("pictures of {a}", "en")
    assert phrase_words("{noun}의 이미지", "ko") == phrase_words("{noun} 이미지", "ko")
    assert phrase_words("{noun}이/가 찍힌 사진", "ko") != phrase_words("{noun}을/를 찍은 사진", "ko")


def test_no_held_out_query_is_a_text_mini_trains_on():
    """Stronger than the phrases being different: no filled-in held-out query equals any training text (captions,
    queries and attribute phrases, as tools/train_mini.py builds them)."""
    trained = {
        text for e in course_examples(reserved=reserved_texts()) for text in [*e.texts, *e.queries, *e.attributes]
    }
    for language in LANGUAGES:
        for template in phrases("held_out", language):
            for nouns in held_out_pictures():
                query = fill(template, nouns.names(language)[0], language)
                assert query not in trained, (template, query)


def test_enough_held_out_forms_in_both_languages():
    held_out = read_query_forms()["held_out"]
    assert set(held_out) == set(LANGUAGES)
    assert sum(len(templates) for templates in held_out.values()) >= MIN_HELD_OUT_FORMS
    assert all(len(templates) >= MIN_HELD_OUT_FORMS // 2 for templates in held_out.values())


def test_reported_training_forms_are_training_forms():
    for language, templates in read_query_forms()["reported_training"].items():
        assert set(templates) <= set(phrases("training", language))


def test_every_course_picture_has_its_nouns_in_both_languages():
    nouns = read_picture_nouns()
    assert set(nouns) == {picture.path for picture in read_manifest()}
    assert all(entry.en and entry.ko and all(entry.en + entry.ko) for entry in nouns.values())


def test_each_held_out_picture_is_the_only_one_with_its_name():
    """A held-out query names one picture: no other quiz picture goes by that name, in either language."""
    nouns = read_picture_nouns()
    quiz = [entry for path, entry in nouns.items() if path.startswith("quiz-image/")]
    held_out = held_out_pictures()
    assert len(held_out) >= MIN_HELD_OUT_PICTURES
    assert all(entry.path.startswith("quiz-image/") for entry in held_out)
    for entry in held_out:
        for language in LANGUAGES:
            name = entry.names(language)[0]
            others = [other.path for other in quiz if other is not entry and name in other.names(language)]
            assert not others, (entry.path, name, others)


@pytest.mark.parametrize(
    ("noun", "pair", "expected"),
    [
        ("망치", "이/가", "가"),
        ("달", "이/가", "이"),
        ("망치", "을/를", "를"),
        ("사과", "와/과", "와"),
        ("호박", "와/과", "과"),
        ("말", "으로/로", "로"),  # ㄹ takes 로
        ("집", "으로/로", "으로"),
        ("기린", "이에요/예요", "이에요"),
        ("T셔츠", "은/는", "는"),  # not Hangul at the end: the form after a vowel
    ],
)
def test_korean_particle_follows_the_last_syllable(noun, pair, expected):
    assert korean_particle(noun, pair) == expected


def test_fill_puts_the_thing_and_its_particle_in_place():
    assert fill("{noun}을/를 그린 이미지", "달", "ko") == "달을 그린 이미지"
    assert fill("그림 속 {noun}", "테니스 라켓", "ko") == "그림 속 테니스 라켓"
    assert fill("a picture of the {noun}", "an apple", "en") == "a picture of the apple"
    assert fill("show me {a}", "the moon", "en") == "show me the moon"


def test_the_first_minis_figures_cover_the_current_forms():
    """mini_v1_figures.json is the "before" of the form table: it must measure the same phrasings."""
    before = json.loads((PACKAGE_DATA / "mini_v1_figures.json").read_text(encoding="utf-8"))
    forms = read_query_forms()
    for kind, key in (("held_out_forms", "held_out"), ("trained_forms", "reported_training")):
        recorded = before["figures"][kind]
        assert recorded["pictures"] == len(held_out_pictures())
        assert {language: list(rates) for language, rates in recorded["recall@1"].items()} == forms[key]


def test_top1_rate_counts_rows_whose_best_column_is_their_target():
    similarity = torch.tensor([[0.9, 0.1, 0.0], [0.2, 0.1, 0.7], [0.3, 0.6, 0.1]])
    assert top1_rate(similarity, [0, 2, 0]) == pytest.approx(2 / 3)


@pytest.fixture(scope="module")
def mini_quiz(mini):
    model, processor = mini
    quiz = [p for p in read_manifest() if p.path.startswith("quiz-image/")]
    images = [load_image(p.file) for p in quiz]
    embeddings = mmembed.embed_images(images, model, processor, progress=False, precision=PRECISION)
    return model, processor, quiz, embeddings


def test_form_recall_is_what_a_plain_search_finds(mini_quiz):
    """evaluate's recall@1 for a phrasing = the share of its queries whose mmembed.search top-1 is the picture,
    and its drawing share = the share of those top-1s that are drawings."""
    model, processor, quiz, embeddings = mini_quiz
    forms = {"en": phrases("held_out", "en")[:1], "ko": phrases("held_out", "ko")[:1]}
    figures = form_figures(model, processor, embeddings, quiz, forms)
    names = [Path(p.path).name for p in quiz]
    assert figures["pictures"] == len(held_out_pictures())
    drawings = drawing_paths()
    for language, templates in forms.items():
        template = templates[0]
        targets = held_out_pictures()
        queries = [fill(template, nouns.names(language)[0], language) for nouns in targets]
        hits = drawn = 0
        for nouns, query in zip(targets, mmembed.embed_texts(queries, model, processor, precision=PRECISION)):
            found = mmembed.search(query.unsqueeze(0), embeddings, names, k=1)[0][0]
            hits += found == Path(nouns.path).name
            drawn += f"quiz-image/{found}" in drawings
        assert figures["recall@1"][language][template] == hits / figures["pictures"]
        assert figures["top1_drawings"][language][template] == drawn / figures["pictures"]
