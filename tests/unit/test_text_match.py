"""The held-out rule's notion of "the same text": equal up to articles, plurals, particles and spacing."""

import json

import pytest

from mmembed.paths import REPO_ROOT
from mmembed.training.text_match import match_key, matches, reserved_keys

RESERVED = REPO_ROOT / "tools" / "reserved_texts.json"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("a dog's head", "the dog head"),
        ("a dog's head", "dogs' heads"),
        ("A dog’s head.", "a dog's head"),
        ("a box", "boxes"),
        ("a rose", "roses"),
        ("a cherry", "cherries"),
        ("a bus", "buses"),
        ("a T-shirt", "T-shirts"),
        ("개의 머리", "개 머리"),
        ("누워 있는 강아지", "누워있는 강아지"),
        ("강아지가 누워 있어요", "강아지 누워 있어요"),
        ("꽃이에요", "꽃"),
        ("망치예요", "망치"),
        ("개를 찍은 사진", "개 찍은 사진"),
        ("집에서", "집"),
        ("산으로", "산"),
        ("연필로", "연필"),
    ],
)
def test_variants_meet(one, other):
    assert match_key(one) == match_key(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("a red flower", "a red gazania flower"),
        ("a red flower", "a yellow flower"),
        ("a dog's head", "the head of a dog"),  # word order is not a variant
        ("a glass", "a gla"),  # -ss is not a plural
        ("개 얼굴", "강아지 얼굴"),
        ("누워 있는 개", "누워 있는 강아지"),
    ],
)
def test_different_texts_stay_apart(one, other):
    assert match_key(one) != match_key(other)


@pytest.mark.parametrize(
    "word",
    ["사과", "오이", "고양이", "호랑이", "포도", "있는"],
)
def test_a_korean_word_keeps_a_last_syllable_that_is_no_particle_there(word):
    """사과's 과 follows a vowel (the particle 과 follows a consonant), 오이's 이 likewise; 고양이 is listed."""
    assert match_key(word) == word


def test_particles_come_off_only_after_a_syllable_that_takes_them():
    assert match_key("꽃이") == "꽃"  # 이 after a final consonant
    assert match_key("개가") == "개"  # 가 after a vowel
    assert match_key("사과를") == "사과"
    assert match_key("이") == "이"  # never the whole word


def test_the_reserved_texts_are_found_in_disguise():
    keys = reserved_keys(json.loads(RESERVED.read_text(encoding="utf-8"))["texts"])
    assert matches("dogs' heads", keys)
    assert matches("the head of the dog", keys)
    assert matches("개 머리", keys)
    assert matches("누워있는 강아지", keys)
    assert not matches("a dog", keys)
    assert not matches("a drawing of a dachshund running", keys)
