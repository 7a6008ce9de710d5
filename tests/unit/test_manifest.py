"""images/MANIFEST.csv read in one place: every column kept, a missing column or caption tolerated, and
`captions()`, the one map from a picture file to its caption."""

import csv

import pytest

from mmembed.manifest import COLUMNS, Picture, captions, read_manifest
from mmembed.paths import IMAGES_DIR, MANIFEST, TOPK_IMAGE_DIR


def write_csv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows([header, *rows])
    return path


def test_a_picture_keeps_every_column_of_the_manifest():
    with open(MANIFEST, encoding="utf-8", newline="") as file:
        header = next(csv.reader(file))
    assert list(COLUMNS) == header
    cat = read_manifest()[0]
    assert cat == Picture(
        "cat.jpg",
        "scikit-image",
        "chelsea.png",
        "CC0-1.0",
        "a tabby cat looking to the side",
        "옆을 바라보는 줄무늬 고양이",
        "cat",
        "photo",
    )
    assert cat.file == IMAGES_DIR / "cat.jpg" and cat.file.is_file()


def test_a_copy_without_some_columns_reads_them_as_empty(tmp_path):
    """The students' copy is to have no `group` column; a copy may lack the Korean captions too."""
    manifest = write_csv(
        tmp_path / "MANIFEST.csv",
        ["path", "caption_en", "category", "notes"],
        [["topk-image/dog_0.png", "a husky", "dog", "a column nobody reads"], ["topk-image/dog_1.png", "", "dog"]],
    )
    dog_0, dog_1 = read_manifest(manifest)
    assert (dog_0.group, dog_0.caption_ko, dog_0.caption_en, dog_1.caption_en) == ("", "", "a husky", "")
    assert captions("en", manifest) == {(TOPK_IMAGE_DIR / "dog_0.png").resolve(): "a husky"}  # none for dog_1
    assert captions("ko", manifest) == {}


def test_a_file_without_a_path_column_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no 'path' column"):
        read_manifest(write_csv(tmp_path / "other.csv", ["file", "caption_en"], [["a.png", "a"]]))


def test_captions_are_keyed_by_the_resolved_file_in_either_language():
    english, korean = captions("en"), captions("ko")
    assert len(english) == len(korean) == len(read_manifest())
    dog = (TOPK_IMAGE_DIR / "dog_0.png").resolve()
    assert english[dog].startswith("a photo of a grey") and korean[dog]
    with pytest.raises(ValueError, match="받은 값: 'fr'"):
        captions("fr")


def test_without_a_manifest_there_are_no_captions(tmp_path):
    assert captions("en", tmp_path / "MANIFEST.csv") == {}
    with pytest.raises(FileNotFoundError):
        read_manifest(tmp_path / "MANIFEST.csv")
