"""The texts a user embeds or searches with, checked before any model loads, and the Korean script they may be
written in (this module imports no torch)."""

from collections.abc import Sequence

# Unicode's block of precomposed Hangul syllables, 가 (U+AC00) to 힣 (U+D7A3): all 11,172 modern syllables, as
# 19 initial x 21 medial x 28 final jamo, in that order (so a syllable's final is its offset modulo 28).
HANGUL_SYLLABLES = range(0xAC00, 0xD7A4)


def is_hangul(character: str) -> bool:
    """True for a precomposed Hangul syllable (not for a lone jamo such as ㄱ)."""
    return ord(character) in HANGUL_SYLLABLES


def check_texts(texts: str | Sequence[str]) -> list[str]:
    """A list of non-empty strings, or a ValueError that says which text is wrong."""
    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    if not texts:
        raise ValueError("임베딩할 문장이 없습니다: 빈 리스트입니다.")
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(f"{index}번 문장이 문자열(str)이 아니라 {type(text).__name__}입니다.")
        if not text.strip():
            which = "질의가" if len(texts) == 1 else f"{index}번 문장이"
            raise ValueError(f"{which} 비어 있습니다: 'A dog'처럼 문장을 주세요.")
    return texts
