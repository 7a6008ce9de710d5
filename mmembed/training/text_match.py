"""When two texts count as the same for the held-out rule: equal up to articles, plurals, particles and spacing.

A held-out text (an evaluation text, a quiz's answer) must not be trained, and "a cat's tail" must not slip in as
"the cat tail" or "고양이의 꼬리" as "고양이 꼬리". `match_key` maps a text to the form under which such variants meet:

- English words: lowercase, no a/an/the, no apostrophe-s, and a plural's ending dropped together with a final
  -e ("dogs" and "dog", "boxes" and "box", "roses" and "rose" all meet; "glass" keeps its -ss). Irregular
  plurals ("leaves", "mice") stay apart.
- Korean words: one trailing particle dropped (이, 가, 을, 를, 은, 는, 의, 와, 과, 도, 에, 에서, 으로, 로, 이에요,
  예요), only when the syllable before it can take that particle: 이/을/은/과/으로/이에요 follow a final
  consonant, 가/를/는/와/예요 a vowel. So 사과 (apple) and 있는 keep their last syllable, 오이 keeps its 이.
  Nouns whose last syllable is 이 after a final consonant (고양이, 호랑이) would still lose it; the few that
  course texts use are listed in KEEP_WHOLE. A wrong strip only makes two texts meet that differ by that
  syllable, which errs on the side of keeping a text out of training.
- Punctuation and spaces are removed last, so "누워 있는" and "누워있는" meet.
"""

import re

from ..texts import HANGUL_SYLLABLES

ARTICLES = {"a", "an", "the"}
FINALS = 28  # a Hangul syllable's final consonant is its offset in the block modulo 28 (0: none)
FINAL_RIEUL = 8

# particle -> which syllables it follows: "consonant", "vowel" or "any" (로 also follows a final ㄹ)
PARTICLES = {
    "이에요": "consonant",
    "예요": "vowel",
    "에서": "any",
    "으로": "consonant",
    "로": "vowel",
    "이": "consonant",
    "가": "vowel",
    "을": "consonant",
    "를": "vowel",
    "은": "consonant",
    "는": "vowel",
    "의": "any",
    "와": "vowel",
    "과": "consonant",
    "도": "any",
    "에": "any",
}
KEEP_WHOLE = {"고양이", "호랑이", "원숭이", "거북이", "어린이", "종이", "포도", "도로", "지도"}

_WORD = re.compile(r"[^\W_]+")
_APOSTROPHE_S = re.compile(r"['’]s\b")


def final_consonant(syllable: str) -> int | None:
    """The final consonant index of a Hangul syllable (0: none), None if it is not one."""
    code = ord(syllable)
    return (code - HANGUL_SYLLABLES.start) % FINALS if code in HANGUL_SYLLABLES else None


def english_stem(word: str) -> str:
    """The word without a plural ending and a final -e: dogs, dog -> dog; boxes -> box; roses, rose -> ros."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("es"):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def korean_stem(word: str) -> str:
    """The word without one trailing particle that its previous syllable can take: 개의 -> 개, 꽃이 -> 꽃."""
    if word in KEEP_WHOLE:
        return word
    for particle, follows in PARTICLES.items():
        if len(word) <= len(particle) or not word.endswith(particle):
            continue
        final = final_consonant(word[-len(particle) - 1])
        if final is None:
            continue
        fits = (
            follows == "any"
            or (follows == "consonant" and final != 0)
            or (follows == "vowel" and (final == 0 or (particle == "로" and final == FINAL_RIEUL)))
        )
        if fits:
            return word[: -len(particle)]
    return word


def match_key(text: str) -> str:
    """The form under which two texts count as the same: "A cat's tail." and "the cat tail" -> "cattail"."""
    words = _WORD.findall(_APOSTROPHE_S.sub("", text.lower()))
    stems = []
    for word in words:
        if word in ARTICLES:
            continue
        if word.isascii():
            stems.append(english_stem(word))
        else:
            stems.append(korean_stem(word))
    return "".join(stems)


def reserved_keys(texts) -> set[str]:
    """The match keys of texts that must not be trained."""
    return {match_key(text) for text in texts}


def matches(text: str, keys: set[str]) -> bool:
    """Whether `text` is one of the texts behind `keys`, up to articles, plurals, particles and spacing."""
    return match_key(text) in keys
