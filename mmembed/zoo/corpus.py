"""The course texts: every caption and short text of the course pictures, which offline vocabularies are built from."""

import hashlib

from ..manifest import category_query_en, read_manifest, read_short_texts


def course_categories() -> list[str]:
    """The course pictures' categories, sorted: the labels of "vit-tiny"."""
    return sorted({picture.category for picture in read_manifest()})


def course_texts() -> list[str]:
    """Every English and Korean caption and short text of the course, plus CLIP's English prompt per category."""
    pictures = read_manifest()
    texts = [p.caption_en for p in pictures] + [p.caption_ko for p in pictures]
    for english, korean in read_short_texts().values():
        texts += english + korean
    texts += [category_query_en(category) for category in course_categories()]
    return texts


def corpus_digest() -> str:
    """Changes when the texts or categories change, so what is built from them is rebuilt."""
    return hashlib.sha256("\n".join(course_texts() + course_categories()).encode()).hexdigest()[:12]
