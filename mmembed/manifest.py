"""The course pictures' manifest and the short texts (category words, group names) that go with it."""

import csv
from dataclasses import dataclass
from pathlib import Path

from .paths import IMAGES_DIR, MANIFEST, SHORT_TEXTS


@dataclass(frozen=True)
class Picture:
    path: str  # relative to images/, e.g. "quiz-image/val_0.JPEG"
    caption_en: str
    caption_ko: str
    category: str
    group: str

    @property
    def file(self) -> Path:
        return IMAGES_DIR / self.path


def read_manifest(manifest: Path = MANIFEST) -> list[Picture]:
    with open(manifest, encoding="utf-8", newline="") as file:
        return [
            Picture(row["path"], row["caption_en"], row["caption_ko"], row["category"], row.get("group", ""))
            for row in csv.DictReader(file)
        ]


def read_short_texts(path: Path = SHORT_TEXTS) -> dict[tuple[str, str], tuple[list[str], list[str]]]:
    """{(kind, key): (English texts, Korean texts)}, kind "category" or "group"."""
    with open(path, encoding="utf-8", newline="") as file:
        return {
            (row["kind"], row["key"]): (row["texts_en"].split("|"), row["texts_ko"].split("|"))
            for row in csv.DictReader(file)
        }


def category_query_en(category: str) -> str:
    """The English zero-shot prompt for a category, in CLIP's style."""
    return f"a photo of a {category}"
