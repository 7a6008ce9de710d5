"""Lecture 06's COYO-700M: the committed local sample (data/coyo-sample) and the choice between it and the hub."""

import json
from itertools import islice

import pytest
from datasets import load_dataset
from PIL import Image

from mmembed import coyo
from mmembed.manifest import read_manifest
from mmembed.paths import REPO_ROOT
from tests.helpers import run_python

# COYO-700M's columns, in order. Source: the "Meta-Attributes" table of
# https://github.com/kakaobrain/coyo-dataset/blob/main/README.md and the "Data Fields" table of the hub card
# https://huggingface.co/datasets/kakaobrain/coyo-700m (the same 17 names in the same order in both).
COYO_COLUMNS = [
    "id",
    "url",
    "text",
    "width",
    "height",
    "image_phash",
    "text_length",
    "word_count",
    "num_tokens_bert",
    "num_tokens_gpt",
    "num_faces",
    "clip_similarity_vitb32",
    "clip_similarity_vitl14",
    "nsfw_score_opennsfw2",
    "nsfw_score_gantman",
    "watermark_score",
    "aesthetic_score_laion_v2",
]
# What no model here can compute honestly: null in every row of the sample.
NULL_COLUMNS = [
    "num_tokens_bert",
    "num_tokens_gpt",
    "num_faces",
    "clip_similarity_vitl14",
    "nsfw_score_opennsfw2",
    "nsfw_score_gantman",
    "watermark_score",
    "aesthetic_score_laion_v2",
]


@pytest.fixture(scope="module")
def build():
    from tools import build_coyo_sample

    return build_coyo_sample


@pytest.fixture(scope="module")
def stream():
    return load_dataset(str(coyo.SAMPLE_DIR), split="train", streaming=True)


@pytest.fixture(scope="module")
def rows(stream):
    return list(stream)


@pytest.mark.slow  # over 8 s: kept out of make test-fast
def test_committed_sample_is_current():
    result = run_python(["-m", "tools.build_coyo_sample", "--check"], timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is current" in result.stdout


def test_module_schema_is_coyos():
    assert list(coyo.COLUMNS) == COYO_COLUMNS


def test_sample_streams_200_rows_in_coyos_columns(stream, rows):
    assert len(rows) == 200
    assert list(stream.features) == COYO_COLUMNS
    assert {name: feature.dtype for name, feature in stream.features.items()} == coyo.COLUMNS
    assert all(list(row) == COYO_COLUMNS for row in rows)
    assert [row["id"] for row in rows] == list(range(200))


def test_nulls_only_where_the_card_says(rows):
    for row in rows:
        assert all(row[name] is None for name in NULL_COLUMNS), row["id"]
        assert all(row[name] is not None for name in COYO_COLUMNS if name not in NULL_COLUMNS), row["id"]
        assert isinstance(row["clip_similarity_vitb32"], float)


def test_filled_columns_are_real(rows):
    for row in rows:
        path = REPO_ROOT / row["url"]
        assert row["url"].startswith("images/quiz-image/") and path.is_file()
        with Image.open(path) as image:
            assert (row["width"], row["height"]) == image.size
        assert row["text_length"] == len(row["text"])
        assert row["word_count"] == len(row["text"].split(" "))
        assert len(row["image_phash"]) == 16 and int(row["image_phash"], 16) >= 0
        assert -1.0 <= row["clip_similarity_vitb32"] <= 1.0


def test_a_quarter_of_the_texts_belong_to_a_picture_of_another_category(rows):
    pictures = [p for p in read_manifest() if p.path.startswith("quiz-image/")]
    category_of_caption = {p.caption_en: p.category for p in pictures}
    mismatched = [(row, p) for row, p in zip(rows, pictures) if row["text"] != p.caption_en]
    assert len(mismatched) == 50
    assert all(category_of_caption[row["text"]] != p.category for row, p in mismatched)


def test_the_filter_works_on_the_stream_as_the_card_says(build, stream, rows):
    kept = list(stream.filter(lambda row: row["clip_similarity_vitb32"] > build.THRESHOLD))
    assert 0 < len(kept) < len(rows)
    assert [row["id"] for row in kept] == [row["id"] for row in rows if row["clip_similarity_vitb32"] > build.THRESHOLD]
    pictures = [p for p in read_manifest() if p.path.startswith("quiz-image/")]
    own = {row["id"] for row, p in zip(rows, pictures) if row["text"] == p.caption_en}
    true_kept = sum(row["id"] in own for row in kept)
    removed = 200 - len(own) - (len(kept) - true_kept)
    card = (coyo.SAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    claim = (
        f"**{removed} of the {200 - len(own)} mismatched rows are removed and\n"
        f"{true_kept} of the {len(own)} true rows are kept.**"
    )
    assert claim in card


def test_jsonl_holds_one_object_per_line():
    lines = (coyo.SAMPLE_DIR / "train.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == coyo.sample_rows() == 200
    assert all(list(json.loads(line)) == COYO_COLUMNS for line in lines)


def test_offline_switch_picks_the_sample(monkeypatch, capsys):
    monkeypatch.setenv("MMEMBED_OFFLINE", "1")
    monkeypatch.setattr(
        coyo, "hub_reachable", lambda: pytest.fail("the hub must not be asked when offline is asked for")
    )
    assert coyo.course_dataset() == str(coyo.SAMPLE_DIR)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "MMEMBED_OFFLINE=1: kakaobrain/coyo-700m 대신 로컬 표본(200행" in err


def test_reachable_hub_gives_the_hub_id(monkeypatch, capsys):
    monkeypatch.delenv("MMEMBED_OFFLINE", raising=False)
    monkeypatch.setattr(coyo, "hub_reachable", lambda: True)
    assert coyo.course_dataset() == coyo.COYO_ID == "kakaobrain/coyo-700m"
    assert capsys.readouterr().err == ""


def test_unreachable_hub_falls_back_to_the_sample(monkeypatch, capsys):
    monkeypatch.delenv("MMEMBED_OFFLINE", raising=False)
    monkeypatch.setattr(coyo, "hub_reachable", lambda: False)
    assert coyo.course_dataset() == str(coyo.SAMPLE_DIR)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Hugging Face Hub에 연결할 수 없습니다" in err and "로컬 표본(200행" in err


@pytest.mark.online
def test_real_coyo_has_the_same_columns():
    real = load_dataset(coyo.COYO_ID, split="train", streaming=True)
    first = list(islice(real, 100))
    assert len(first) == 100
    assert all(list(row) == COYO_COLUMNS for row in first)
