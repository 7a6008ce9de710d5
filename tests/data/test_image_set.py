"""The committed course image set: the files the lectures and quizzes rely on, their sizes, the manifest and
its captions and licences, and that the quiz pictures are distinct enough for text search to tell apart."""

from collections import Counter
from itertools import combinations

import numpy as np
import pytest
from PIL import Image

from mmembed.manifest import read_manifest
from mmembed.paths import CAT_IMAGE, IMAGES_DIR, QUIZ_IMAGE_DIR, TOPK_IMAGE_DIR
from mmembed.texts import is_hangul

QUIZ_FILES = [f"val_{i}.JPEG" for i in range(200)]
DOG_FILES = [f"dog_{i}.png" for i in range(9)]
EXPECTED_PATHS = {"cat.jpg"} | {f"topk-image/{n}" for n in DOG_FILES} | {f"quiz-image/{n}" for n in QUIZ_FILES}
ALLOWED_LICENSES = {"GPL-2.0-or-later", "LGPL-3.0", "CC-BY-SA-4.0", "public-domain", "CC0-1.0"}
NEAR_DUPLICATE_DISTANCE = 8  # perceptual-hash bits (of 64); at or below this two pictures look alike


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
    paths = [picture.path for picture in read_manifest()]
    assert len(paths) == len(set(paths)), "duplicate pictures in MANIFEST.csv"
    assert set(paths) == EXPECTED_PATHS


def test_captions_are_present_and_licences_allowed():
    for picture in read_manifest():
        assert picture.caption_en.strip() and picture.caption_ko.strip(), picture.path
        assert any(map(is_hangul, picture.caption_ko)), f"not Korean: {picture.caption_ko}"
        assert set(picture.license.split(" AND ")) <= ALLOWED_LICENSES, picture
        assert picture.source.strip() and picture.original.strip(), picture.path


def test_quiz_captions_single_out_their_picture():
    quiz = [picture for picture in read_manifest() if picture.path.startswith("quiz-image/")]
    for language in ("en", "ko"):
        counts = Counter(picture.caption(language).strip().lower() for picture in quiz)
        assert [caption for caption, n in counts.items() if n > 1] == [], language


def test_at_least_twelve_categories_with_eight_pictures_each():
    quiz = [picture for picture in read_manifest() if picture.path.startswith("quiz-image/")]
    assert all(picture.category.strip() for picture in quiz)
    counts = Counter(picture.category for picture in quiz)
    assert sum(1 for n in counts.values() if n >= 8) >= 12, counts


def test_drawings_are_a_minority():
    quiz = [picture for picture in read_manifest() if picture.path.startswith("quiz-image/")]
    styles = Counter(picture.style for picture in quiz)
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
    dogs = [picture for picture in read_manifest() if picture.path.startswith("topk-image/")]
    groups = Counter(picture.group for picture in dogs if picture.group)
    target = [name for name, n in groups.items() if n == 3]
    assert target, f"no group of exactly three dogs: {groups}"
    members = [picture for picture in dogs if picture.group == target[0]]
    assert len({picture.caption_en for picture in dogs}) == 9
    assert len(members) == 3


def test_a_lying_dog_for_the_sleeping_dog_search():
    dogs = [picture for picture in read_manifest() if picture.path.startswith("topk-image/")]
    assert any("lying" in picture.caption_en or "sleeping" in picture.caption_en for picture in dogs)
