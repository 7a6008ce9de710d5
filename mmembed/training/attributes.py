"""Attribute phrases: a picture's colour, pose or part put beside its names, so that `mini` learns to hear modifiers.

A model trained on nouns in prompt phrases learns that every word but the noun can be ignored: "a red car" and
"a blue car" end up as one vector. Here each picture whose caption names a colour or a pose gets short phrases
that pair that word with each of its names ("a red gazania", "a red plant", "빨간 가자니아", "a dachshund running",
"달리는 닥스훈트"); a picture that shows only part of its thing gets the part after its names ("a bulldog's head",
"불도그 머리"). Trained with other pictures of the same category in the batch (`loop.sibling_batch`), the
phrase only finds its picture if the model hears the modifier.

Which words count, and the pictures where a colour word describes something else (the black lines of a
drawing), are in data/attribute_words.json.
"""

import json
import re
from functools import cache

from ..manifest import Picture
from ..paths import PACKAGE_DATA
from .query_forms import category_names, read_picture_nouns
from .text_match import match_key

ATTRIBUTE_WORDS = PACKAGE_DATA / "attribute_words.json"
_ARTICLE = re.compile(r"^(a|an|the) ")
GENERIC_NOUNS = {"en": ["thing", "one", "object"], "ko": ["것", "물건"]}
KINDS = ("colours", "poses", "parts")


@cache
def read_attribute_words() -> dict:
    return json.loads(ATTRIBUTE_WORDS.read_text(encoding="utf-8"))


def picture_attributes(picture: Picture) -> dict[str, list[str]]:
    """{"colours": [...], "poses": [...], "parts": [...]}: the attributes its English caption names, e.g.
    {"colours": ["red"], "poses": [], "parts": []}."""
    words = read_attribute_words()
    excluded = words["not_of_the_thing"]
    caption = picture.caption_en.lower()
    return {
        kind: [
            name
            for name, forms in words[kind].items()
            if any(re.search(rf"\b{form}\b", caption) for form in forms["en"])
            and picture.path not in excluded.get(name, [])
        ]
        for kind in KINDS
    }


def with_article(words: str) -> str:
    return ("an " if words[0] in "aeiou" and not words.startswith("one ") else "a ") + words


def attribute_phrases(picture: Picture) -> list[str]:
    """Every attribute of the picture beside every name of it and of its category, in English and Korean."""
    words = read_attribute_words()
    nouns = read_picture_nouns()[picture.path]
    category = category_names(picture.category)
    english = [_ARTICLE.sub("", name) for name in (*nouns.en, category["en"])]
    korean = [*nouns.ko, category["ko"]]
    found = picture_attributes(picture)
    # Beside its own names the attribute is redundant (the name alone finds the picture); beside a noun every
    # picture shares, it is the only word that tells siblings apart, so the model has to hear it.
    shared_en = [*english, *GENERIC_NOUNS["en"]]
    shared_ko = [*korean, *GENERIC_NOUNS["ko"]]
    phrases = []
    for colour in found["colours"]:
        forms = words["colours"][colour]
        phrases += [with_article(f"{forms['en'][0]} {noun}") for noun in shared_en]
        phrases += [f"{form} {noun}" for form in forms["ko"] for noun in shared_ko]
    for pose in found["poses"]:
        forms = words["poses"][pose]
        phrases += [with_article(f"{noun} {forms['en'][0]}") for noun in shared_en]
        phrases += [with_article(f"{forms['en'][0]} {noun}") for noun in shared_en]
        phrases += [f"{form} {noun}" for form in forms["ko"] for noun in shared_ko]
    for part in found["parts"]:
        forms = words["parts"][part]
        owners_en = [*english, *forms["owners"]["en"]]
        owners_ko = [*korean, *forms["owners"]["ko"]]
        phrases += [with_article(f"{noun}'s {form}") for form in forms["en"] for noun in owners_en]
        phrases += [f"the {form} of {with_article(noun)}" for form in forms["en"] for noun in owners_en]
        phrases += [f"{noun} {form}" for form in forms["ko"] for noun in owners_ko]
    return list(dict.fromkeys(phrases))


@cache
def meaningful_words() -> frozenset[str]:
    """The words that carry meaning in training texts: attributes and the pictures' names, in both languages.
    Made-up words (`loop.made_up_word`) are drawn again when they happen to be one of these."""
    words = read_attribute_words()
    found = {form for kind in KINDS for forms in words[kind].values() for form in forms["en"]}
    found |= {word for kind in KINDS for forms in words[kind].values() for f in forms["ko"] for word in f.split()}
    for nouns in read_picture_nouns().values():
        found |= {word for name in (*nouns.en, *nouns.ko) for word in name.split()}
    return frozenset(found)


@cache
def _attribute_forms() -> tuple[re.Pattern, dict[str, str]]:
    """One pattern for every form of every attribute, longest first (so "빨간색" wins over "빨간"), and
    {form: attribute name}."""
    words = read_attribute_words()
    names = {form: name for kind in KINDS for name, f in words[kind].items() for form in f["same"]}
    alternatives = "|".join(re.escape(form) for form in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<!\w)({alternatives})(?![a-z])"), names


def attribute_key(text: str) -> str:
    """The text's words, each attribute form replaced by its attribute's name, each word under `match_key`, in
    sorted order: "빨간색 꽃" and "빨간 꽃", "a dog running" and "a running dog" give one key. An attribute
    phrase that differs from a held-out text only so is not trained either."""
    pattern, names = _attribute_forms()
    words = pattern.sub(lambda found: f" {names[found[1]]} ", text.lower()).split()
    return " ".join(sorted(filter(None, map(match_key, words))))
