"""The held-out evaluation texts (tests/evaluation_texts): they match the quizzes they measure, name real pictures
of their pools, meet issue 32's minimums, and the validity rates can be computed from them on `mini`."""

import ast
import json
import re
from collections import defaultdict

import pytest

from mmembed.choices import LANGUAGES
from mmembed.manifest import read_manifest
from mmembed.paths import REPO_ROOT
from mmembed.texts import is_hangul
from mmembed.training.text_match import match_key
from mmembed.training.validity import DOG_POOL, QUIZ_POOL, held_out_texts, read_texts, validity

TEXTS_DIR = REPO_ROOT / "tests" / "evaluation_texts"
QUIZ2 = "quiz_notebooks/quiz2_topk_text.ipynb"
QUIZ7 = "quiz_notebooks/quiz7_find_pictures.ipynb"
MIN_ATTRIBUTE_CASES = 20  # per language ("about 25")
MIN_PAIRS = 6  # per language
MIN_HONEST = 15  # per language
MIN_UNRELATED = 30
MIN_QUIZ7 = 3  # per target and language


@pytest.fixture(scope="module")
def texts():
    return read_texts(TEXTS_DIR)


def target_names(notebook) -> list[str]:
    """The quiz's TARGET_NAMES, as its setup cell assigns them."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if found := re.search(r"^TARGET_NAMES = (\[.*\])$", "".join(cell["source"]), re.M):
            return ast.literal_eval(found.group(1))
    raise AssertionError(f"no TARGET_NAMES in {notebook}")


@pytest.mark.parametrize("folder", ["quizzes", "solutions"])
def test_the_targets_are_the_quizzes_targets(texts, folder):
    """A quiz whose targets change fails here until its evaluation texts and figures are redone."""
    assert texts["quiz2"]["targets"] == target_names(REPO_ROOT / folder / QUIZ2)
    assert texts["quiz7"]["targets"] == target_names(REPO_ROOT / folder / QUIZ7)
    assert sorted(texts["quiz7"]["descriptions"]) == sorted(texts["quiz7"]["targets"])


def test_every_attribute_picture_is_a_manifest_picture_of_its_pool(texts):
    paths = {picture.path for picture in read_manifest()}
    for case in texts["attributes"]["cases"]:
        assert case["pool"] in (QUIZ_POOL, DOG_POOL), case
        assert case["pictures"] and len(set(case["pictures"])) == len(case["pictures"]), case
        for path in case["pictures"]:
            assert path in paths, (case["query"], path)
            assert path.startswith(f"{case['pool']}/"), (case["query"], path)


def test_the_attribute_cases_meet_the_minimums(texts):
    cases = texts["attributes"]["cases"]
    assert {case["language"] for case in cases} == set(LANGUAGES)
    for language in LANGUAGES:
        mine = [case for case in cases if case["language"] == language]
        assert len(mine) >= MIN_ATTRIBUTE_CASES
        assert len({case["query"] for case in mine}) == len(mine)
        assert all(case["query"] != case["noun_query"] for case in mine)
        pairs = defaultdict(list)
        for case in mine:
            if case["pair"]:
                pairs[case["pair"]].append(case)
        assert len(pairs) >= MIN_PAIRS, language
        for pair, members in pairs.items():
            assert len(members) == 2, (language, pair)
            assert len({(case["pool"], case["noun_query"]) for case in members}) == 1, (language, pair)


def test_the_quiz_texts_meet_the_minimums(texts):
    quiz2 = texts["quiz2"]
    assert all(len(quiz2["honest"][language]) >= MIN_HONEST for language in LANGUAGES)
    unrelated = quiz2["unrelated"]
    assert len(unrelated) >= MIN_UNRELATED
    assert any(any(map(is_hangul, text)) for text in unrelated)
    assert any(text.isascii() for text in unrelated)
    for by_language in texts["quiz7"]["descriptions"].values():
        assert all(len(by_language[language]) >= MIN_QUIZ7 for language in LANGUAGES)


def test_no_text_is_there_twice(texts):
    """A text given twice would count one answer twice. Variants that meet under `match_key` ("a dog's face",
    "dog faces") may both be there: the model reads different tokens, and a student may type either."""
    every = [case["query"] for case in texts["attributes"]["cases"]] + texts["quiz2"]["unrelated"]
    every += [text for language in LANGUAGES for text in texts["quiz2"]["honest"][language]]
    for by_language in texts["quiz7"]["descriptions"].values():
        every += [text for language in LANGUAGES for text in by_language[language]]
    assert len(every) == len({text.strip().lower() for text in every})
    assert sorted(set(held_out_texts(texts))) == sorted(set(every) - set(texts["quiz2"]["unrelated"]))


def test_quiz7_descriptions_are_not_the_captions(texts):
    captions = {picture.path: picture for picture in read_manifest()}
    for name, by_language in texts["quiz7"]["descriptions"].items():
        picture = captions[f"{QUIZ_POOL}/{name}"]
        for language in LANGUAGES:
            caption = match_key(picture.caption(language))
            assert all(match_key(text) != caption for text in by_language[language]), name


def test_validity_gives_a_rate_for_every_figure(texts, mini):
    model, processor = mini
    rates = validity(model, processor, texts)
    expected = {
        f"{name}_{language}"
        for name in ("attribute_recall@1", "noun_only_recall@1", "pair_flips", "quiz2_honest_pass", "quiz7_top1")
        for language in LANGUAGES
    } | {"quiz2_unrelated_pass"}
    assert set(rates) == expected
    assert all(isinstance(value, float) and 0.0 <= value <= 1.0 for value in rates.values()), rates


@pytest.mark.slow  # embeds the pools twice
def test_explain_validity_shows_each_case_as_the_rates_count_it(texts, mini):
    """tools.explain_validity's lines (one per case) give the rates `validity` gives."""
    from mmembed.training.validity import Pool
    from tools.explain_validity import case_lines

    model, processor = mini
    rates = validity(model, processor, texts)
    lines = case_lines(texts, {name: Pool(name, model, processor) for name in (QUIZ_POOL, DOG_POOL)}, model, processor)
    cases = texts["attributes"]["cases"]
    quiz2, quiz7 = texts["quiz2"], texts["quiz7"]["descriptions"]
    honest = sum(len(quiz2["honest"][language]) for language in LANGUAGES)
    quiz7_count = sum(len(by_language[language]) for by_language in quiz7.values() for language in LANGUAGES)
    assert len(lines) == len(cases) + honest + len(quiz2["unrelated"]) + quiz7_count
    for language in LANGUAGES:
        hits = sum(line.startswith(f"hit  {language} ") for line in lines)
        assert hits / sum(case["language"] == language for case in cases) == rates[f"attribute_recall@1_{language}"]
        passed = sum(line.startswith(f"quiz 2 honest {language}  pass") for line in lines)
        assert passed / len(quiz2["honest"][language]) == rates[f"quiz2_honest_pass_{language}"]
    unrelated = sum(line.startswith("quiz 2 unrelated  pass") for line in lines)
    assert unrelated / len(quiz2["unrelated"]) == rates["quiz2_unrelated_pass"]
