"""Query forms: the nouns of the course pictures wrapped in prompt phrases, in English and Korean.

Students rarely type a caption. They type "hammer", "a photo of a hammer", "망치 사진", "망치가 있는 그림".
CLIP's paper answers this with a template ensemble ("a photo of a {}.", "a drawing of a {}.", ...): the class
name wrapped in many phrasings. `mini` is trained on the nouns wrapped in the `training` phrases of
data/query_forms.json and measured on the `held_out` phrases, which it never sees.

English phrases fill `{a}` with the thing as people name it ("a hammer", "an apple", "the moon", "grapes") and
`{noun}` with the same words without the article. Korean phrases fill `{noun}`; a particle pair written right
after it ("{noun}을/를") becomes the form the noun's last syllable needs: 망치를, 사과를, 달을.
"""

import csv
import json
import re
from dataclasses import dataclass
from functools import cache

from ..choices import LANGUAGES
from ..paths import PACKAGE_DATA
from ..texts import HANGUL_SYLLABLES

PICTURE_NOUNS = PACKAGE_DATA / "picture_nouns.csv"
QUERY_FORMS = PACKAGE_DATA / "query_forms.json"

# particle pair as written in a phrase -> (after a final consonant, after a vowel)
KOREAN_PARTICLES = {
    "이/가": ("이", "가"),
    "을/를": ("을", "를"),
    "은/는": ("은", "는"),
    "와/과": ("과", "와"),
    "이에요/예요": ("이에요", "예요"),
    "으로/로": ("으로", "로"),
}
_KOREAN_SLOT = re.compile(r"\{noun\}(" + "|".join(map(re.escape, KOREAN_PARTICLES)) + ")?")
_ARTICLE = re.compile(r"^(a|an|the) ")
FINALS = 28  # a Hangul syllable's final consonant is its offset in the block modulo 28 (0: none)
FINAL_RIEUL = 8  # ㄹ: takes 로, not 으로


@dataclass(frozen=True)
class PictureNouns:
    """What a picture shows, as people name it: the first name in each language is the usual one."""

    path: str  # relative to images/, as in MANIFEST.csv
    en: tuple[str, ...]
    ko: tuple[str, ...]
    held_out: bool  # one clearly named thing, named by no other quiz picture: used by the held-out forms

    def names(self, language: str) -> tuple[str, ...]:
        return self.en if language == "en" else self.ko


@cache
def read_picture_nouns() -> dict[str, PictureNouns]:
    with open(PICTURE_NOUNS, encoding="utf-8", newline="") as file:
        return {
            row["path"]: PictureNouns(
                row["path"], tuple(row["en"].split("|")), tuple(row["ko"].split("|")), row["held_out"] == "1"
            )
            for row in csv.DictReader(file)
        }


@cache
def read_query_forms() -> dict:
    return json.loads(QUERY_FORMS.read_text(encoding="utf-8"))


def final_consonant(word: str) -> int | None:
    """The final consonant (jongseong index, 0 = none) of the word's last syllable; None if it is not Hangul."""
    code = ord(word[-1])
    return (code - HANGUL_SYLLABLES.start) % FINALS if code in HANGUL_SYLLABLES else None


def korean_particle(noun: str, pair: str) -> str:
    """The form of a particle pair ("이/가", "을/를", ...) that follows `noun`: 망치 -> 가, 사과를 -> 를, 달 -> 이."""
    after_consonant, after_vowel = KOREAN_PARTICLES[pair]
    final = final_consonant(noun)
    if not final or (pair == "으로/로" and final == FINAL_RIEUL):
        return after_vowel
    return after_consonant


def fill(phrase: str, thing: str, language: str) -> str:
    """The phrase with the thing in it: fill("a photo of {a}", "an apple", "en") -> "a photo of an apple"."""
    if language == "en":
        return phrase.replace("{a}", thing).replace("{noun}", _ARTICLE.sub("", thing))
    return _KOREAN_SLOT.sub(lambda match: thing + (korean_particle(thing, match[1]) if match[1] else ""), phrase)


def phrases(kind: str, language: str) -> list[str]:
    """The prompt phrases of a kind ("training" or "held_out") in a language."""
    return read_query_forms()[kind][language]


def category_names(category: str) -> dict[str, str]:
    """{language: the category as a thing}, e.g. {"en": "a musical instrument", "ko": "악기"}."""
    english, korean = read_query_forms()["categories"][category]
    return {"en": english, "ko": korean}


def training_queries(path: str, category: str) -> list[str]:
    """Every training phrase around every name of the picture and of its category, both languages, no repeats.

    A filled-in phrase that a held-out phrase also gives is left out ("a picture of {a}" with "the moon" is
    "a picture of the moon", the held-out "a picture of the {noun}"), so no held-out query is ever trained on.
    """
    nouns = read_picture_nouns()[path]
    queries = []
    for language in LANGUAGES:
        things = [*nouns.names(language), category_names(category)[language]]
        held_out = {fill(phrase, thing, language) for phrase in phrases("held_out", language) for thing in things}
        filled = [fill(phrase, thing, language) for phrase in phrases("training", language) for thing in things]
        queries += [query for query in filled if query not in held_out]
    return list(dict.fromkeys(queries))


def held_out_pictures() -> list[PictureNouns]:
    """The pictures the held-out forms are built from, in the order of picture_nouns.csv."""
    return [nouns for nouns in read_picture_nouns().values() if nouns.held_out]


_ENGLISH_FILLERS = {"a", "an", "the", "my"}


def phrase_words(phrase: str, language: str) -> list[str]:
    """The words that make a phrasing what it is: the thing as one slot, no articles or "my", no plural -s in
    English, no particle after the noun in Korean ("{noun}의 이미지" and "{noun} 이미지" are one phrasing)."""
    words = []
    for word in phrase.replace("{a}", "{noun}").split():
        if language == "en":
            if word in _ENGLISH_FILLERS:
                continue
            if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
                word = word[:-1]
        elif word.startswith("{noun}"):
            word = "{noun}"
        words.append(word)
    return words


def near_duplicates() -> list[tuple[str, str, str]]:
    """(language, held-out phrase, training phrase) pairs that are one phrasing in disguise: the same words
    (see `phrase_words`), or one word added to a phrasing of two words or more ("an image of {a}" and
    "a blurry image of {a}"). A held-out phrase must have none, or it is not really held out."""

    def close(held_out: list[str], trained: list[str]) -> bool:
        if held_out == trained:
            return True
        shorter, longer = sorted((held_out, trained), key=len)
        if len(longer) != len(shorter) + 1 or sum(word != "{noun}" for word in shorter) < 2:
            return False
        return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))

    return [
        (language, held_out, trained)
        for language in LANGUAGES
        for held_out in phrases("held_out", language)
        for trained in phrases("training", language)
        if close(phrase_words(held_out, language), phrase_words(trained, language))
    ]
