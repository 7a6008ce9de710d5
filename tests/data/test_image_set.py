"""The committed course image set: the files the lectures and quizzes rely on, their sizes, the manifest and
its captions and licences, and that the quiz pictures are distinct enough for text search to tell apart."""

import csv
from collections import Counter
from itertools import combinations

import numpy as np
import pytest
from PIL import Image

from mmembed.paths import CAT_IMAGE, IMAGES_DIR, QUIZ_IMAGE_DIR, TOPK_IMAGE_DIR

MANIFEST = IMAGES_DIR / "MANIFEST.csv"
QUIZ_FILES = [f"val_{i}.JPEG" for i in range(200)]
DOG_FILES = [f"dog_{i}.png" for i in range(9)]
EXPECTED_PATHS = {"cat.jpg"} | {f"topk-image/{n}" for n in DOG_FILES} | {f"quiz-image/{n}" for n in QUIZ_FILES}
ALLOWED_LICENSES = {"GPL-2.0-or-later", "LGPL-3.0", "CC-BY-SA-4.0", "public-domain", "CC0-1.0"}
MANIFEST_COLUMNS = {"path", "source", "original", "license", "caption_en", "caption_ko"}
NEAR_DUPLICATE_DISTANCE = 8  # perceptual-hash bits (of 64); at or below this two pictures look alike


def read_manifest() -> list[dict]:
    with open(MANIFEST, encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def picture_files(folder, suffix) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.suffix == suffix)


def dct_matrix(n: int) -> np.ndarray:
    k, i = np.arange(n)[:, None], np.arange(n)[None, :]
    return np.cos(np.pi * (2 * i + 1) * k / (2 * n))


def perceptual_hash(path) -> np.ndarray:
    """64-bit pHash: the lowest 8x8 DCT frequencies of the 32x32 grey picture, each above or below the median."""
    grey = Image.open(path).convert("L").resize((32, 32), Image.Resampling.LANCZOS)
    dct = dct_matrix(32)
    low = (dct @ np.asarray(grey, dtype=np.float64) @ dct.T)[:8, :8].flatten()
    return low > np.median(low)


def test_exact_file_lists():
    assert CAT_IMAGE.is_file()
    assert sorted(picture_files(TOPK_IMAGE_DIR, ".png")) == sorted(DOG_FILES)
    assert sorted(p.name for p in TOPK_IMAGE_DIR.iterdir()) == sorted(DOG_FILES)
    assert sorted(p.name for p in QUIZ_IMAGE_DIR.iterdir()) == sorted(QUIZ_FILES)


@pytest.mark.parametrize("relative", sorted(EXPECTED_PATHS))
def test_every_picture_is_rgb_and_within_size_bounds(relative):
    with Image.open(IMAGES_DIR / relative) as image:
        assert image.mode == "RGB", f"{relative} is {image.mode}"
        assert image.format == ("PNG" if relative.endswith(".png") else "JPEG")
        assert min(image.size) >= 224, f"{relative} is {image.size}"
        assert max(image.size) <= 640, f"{relative} is {image.size}"
        assert "exif" not in image.info
        image.load()


def test_manifest_has_one_row_per_picture_and_no_others():
    rows = read_manifest()
    assert MANIFEST_COLUMNS <= set(rows[0])
    paths = [row["path"] for row in rows]
    assert len(paths) == len(set(paths)), "duplicate rows in MANIFEST.csv"
    assert set(paths) == EXPECTED_PATHS


def test_captions_are_present_and_licences_allowed():
    for row in read_manifest():
        assert row["caption_en"].strip() and row["caption_ko"].strip(), row["path"]
        assert any("\uac00" <= char <= "\ud7a3" for char in row["caption_ko"]), f"not Korean: {row['caption_ko']}"
        assert set(row["license"].split(" AND ")) <= ALLOWED_LICENSES, row
        assert row["source"].strip() and row["original"].strip(), row["path"]


def test_quiz_captions_single_out_their_picture():
    quiz = [row for row in read_manifest() if row["path"].startswith("quiz-image/")]
    for language in ("caption_en", "caption_ko"):
        counts = Counter(row[language].strip().lower() for row in quiz)
        assert [caption for caption, n in counts.items() if n > 1] == [], language


def test_at_least_twelve_categories_with_eight_pictures_each():
    quiz = [row for row in read_manifest() if row["path"].startswith("quiz-image/")]
    assert all(row["category"].strip() for row in quiz)
    counts = Counter(row["category"] for row in quiz)
    assert sum(1 for n in counts.values() if n >= 8) >= 12, counts


def test_drawings_are_a_minority():
    quiz = [row for row in read_manifest() if row["path"].startswith("quiz-image/")]
    styles = Counter(row["style"] for row in quiz)
    assert set(styles) <= {"photo", "photo-composite", "drawing"}, styles
    assert styles["drawing"] < len(quiz) / 4, styles


def test_no_two_quiz_pictures_are_near_duplicates():
    hashes = {name: perceptual_hash(QUIZ_IMAGE_DIR / name) for name in QUIZ_FILES}
    too_close = [
        (a, b, int((hashes[a] != hashes[b]).sum()))
        for a, b in combinations(QUIZ_FILES, 2)
        if (hashes[a] != hashes[b]).sum() <= NEAR_DUPLICATE_DISTANCE
    ]
    assert too_close == []


def test_dog_group_of_three_is_recorded():
    dogs = [row for row in read_manifest() if row["path"].startswith("topk-image/")]
    groups = Counter(row["group"] for row in dogs if row["group"])
    target = [name for name, n in groups.items() if n == 3]
    assert target, f"no group of exactly three dogs: {groups}"
    members = [row for row in dogs if row["group"] == target[0]]
    assert len({row["caption_en"] for row in dogs}) == 9
    assert len(members) == 3


def test_a_lying_dog_for_the_sleeping_dog_search():
    dogs = [row for row in read_manifest() if row["path"].startswith("topk-image/")]
    assert any("lying" in row["caption_en"] or "sleeping" in row["caption_en"] for row in dogs)
