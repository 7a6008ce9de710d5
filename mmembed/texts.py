"""The texts a user embeds or searches with, checked before any model loads (this module imports no torch)."""

from collections.abc import Sequence


def check_texts(texts: str | Sequence[str]) -> list[str]:
    """A list of non-empty strings, or a ValueError that says which text is wrong."""
    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    if not texts:
        raise ValueError("embed_texts needs at least one text; the list is empty.")
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(f"Text {index} is a {type(text).__name__}, not a string.")
        if not text.strip():
            which = "The query" if len(texts) == 1 else f"Text {index}"
            raise ValueError(f"{which} is empty; give a text such as 'A dog'.")
    return texts
