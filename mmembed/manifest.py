"""The course pictures' manifest (images/MANIFEST.csv), their captions, and the short texts (category words,
group names) that go with them.

The manifest is read in one place, `read_manifest`, into `Picture`s that keep every column. A copy of it may lack
a column (the students' copy is to have no `group`): a missing column reads as "", as an empty cell does.
"""

import csv
from dataclasses import dataclass, fields
from pathlib import Path

from .choices import LANGUAGES
from .paths import IMAGES_DIR, MANIFEST, SHORT_TEXTS


@dataclass(frozen=True)
class Picture:
    """One row of the manifest, every column, in the file's order ("" for an empty or missing cell)."""

    path: str  # relative to images/, e.g. "quiz-image/val_0.JPEG"
    source: str = ""  # the package or collection it comes from, e.g. "scikit-image"
    original: str = ""  # its file in that source
    license: str = ""  # SPDX expression, the background photo's licence included
    caption_en: str = ""
    caption_ko: str = ""
    category: str = ""  # a word of short_texts.csv, e.g. "dog"
    style: str = ""  # "photo", "photo-composite" or "drawing"
    background: str = ""  # what a composite is drawn on
    group: str = ""  # the dogs' group in lecture 04 ("head", ...); "" for the other pictures

    @property
    def file(self) -> Path:
        return IMAGES_DIR / self.path

    def caption(self, language: str = "en") -> str:
        """Its caption in "en" or "ko"; "" when it has none."""
        if language not in LANGUAGES:
            raise ValueError(f"캡션의 언어는 {', '.join(LANGUAGES)} 중 하나입니다 (받은 값: {language!r}).")
        return getattr(self, f"caption_{language}")


COLUMNS = tuple(field.name for field in fields(Picture))


def read_manifest(manifest: Path = MANIFEST) -> list[Picture]:
    """Every picture of the manifest, in its order. Columns it lacks are "", columns it adds are ignored."""
    with open(manifest, encoding="utf-8", newline="") as file:
        rows = csv.DictReader(file)
        if "path" not in (rows.fieldnames or []):
            raise ValueError(f"{manifest} has no 'path' column: it is not a picture manifest.")
        return [Picture(**{column: row.get(column) or "" for column in COLUMNS}) for row in rows]


def captions(language: str = "en", manifest: Path = MANIFEST) -> dict[Path, str]:
    """{picture file: its caption in `language`} for the course pictures that have one.

    Keyed by the file, absolute and resolved, so a folder, one of its subfolders and an index's list of pictures
    all find a caption the same way: `captions().get(path.resolve(), "")`. Captions only label what a search or
    a contact sheet shows, so a copy of the course without the manifest has none rather than an error.
    """
    if not manifest.is_file():
        return {}
    return {picture.file.resolve(): text for picture in read_manifest(manifest) if (text := picture.caption(language))}


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
