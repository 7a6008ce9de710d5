"""What lecture 06b (COYO-700M) says, checked.

- Offline: the lecture executed with MMEMBED_OFFLINE=1 (the 200-row COYO sample in data/coyo-sample) prints what
  its prose quotes: COYO's 17 columns, the sample's null columns, the 150 kept / 50 dropped rows of the sample's
  card; the lecture's filter function is run on rows shaped like the real COYO's.
- Tests marked `online` check what the prose says about the real kakaobrain/coyo-700m; they are skipped where the
  Hugging Face Hub cannot be reached. The last one runs the whole lecture online.
"""

import ast
import json
import re
import statistics
from itertools import islice

import nbformat
import pytest

from mmembed.coyo import COLUMNS, COYO_ID, SAMPLE_DIR
from mmembed.manifest import read_manifest
from tests.data.test_coyo_sample import NULL_COLUMNS
from tests.helpers import assert_contains, cell_text, code_cell, lecture_code, markdown_text, shows_a_figure
from tests.lectures.conftest import lecture_group, lecture_path

NOTEBOOK = lecture_path("06b")
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group(lecture_group(NOTEBOOK))]

# Section 2 (from data/coyo-sample/README.md): the columns that are null in every row of the sample.
SAMPLE_NULL_COLUMNS = set(NULL_COLUMNS)
# The example row of COYO-700M's data card (huggingface.co/datasets/kakaobrain/coyo-700m, "Data Instances").
CARD_ROW = {
    "id": 841814333321,
    "url": "https://blog.dogsof.com/wp-content/uploads/2021/03/Image-from-iOS-5-e1614711641382.jpg",
    "text": "A Pomsky dog sitting and smiling in field of orange flowers",
    "width": 1000,
    "height": 988,
    "image_phash": "c9b6a7d8469c1959",
    "text_length": 59,
    "word_count": 11,
    "num_tokens_bert": 13,
    "num_tokens_gpt": 12,
    "num_faces": 0,
    "clip_similarity_vitb32": 0.4296875,
    "clip_similarity_vitl14": 0.35205078125,
    "nsfw_score_opennsfw2": 0.00031447410583496094,
    "nsfw_score_gantman": 0.03298913687467575,
    "watermark_score": 0.1014641746878624,
    "aesthetic_score_laion_v2": 5.435476303100586,
}


def lecture_filter(threshold):
    """The lecture's `keep` function (section 3.5), with its MAX_* constants, and THRESHOLD set to `threshold`."""
    saved = nbformat.read(NOTEBOOK, as_version=4)
    namespace = {"THRESHOLD": threshold}
    for marker in ("MAX_WATERMARK =", "def keep(row):"):
        tree = ast.parse(code_cell(saved, marker).source)
        wanted = [
            node
            for node in tree.body
            if (isinstance(node, ast.FunctionDef) and node.name == "keep")
            or (
                isinstance(node, ast.Assign)
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id in {"MAX_WATERMARK", "MAX_NSFW", "NSFW_COLUMNS"}
            )
        ]
        exec(compile(ast.Module(wanted, type_ignores=[]), NOTEBOOK.name, "exec"), namespace)
    return namespace["keep"]


def sample_rows_with_truth():
    """The sample's rows and, for each, whether it carries its own picture's caption."""
    rows = [json.loads(line) for line in (SAMPLE_DIR / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    own = {"images/" + p.path: p.caption_en for p in read_manifest()}
    return rows, [row["text"] == own[row["url"]] for row in rows]


# --- the saved notebook ----------------------------------------------------------------------------------------------


def test_code_is_the_same_online_and_offline():
    """Section 1: the lecture loads by hub id through course_dataset, never the sample by name."""
    code = lecture_code(NOTEBOOK, ("coyo-sample",))
    assert "dataset_name = course_dataset()" in code
    assert 'load_dataset(dataset_name, split="train", streaming=True)' in code
    assert "islice(stream, N_ROWS)" in code


def test_prose_says_where_the_numbers_come_from():
    """Sections 1-3: the prose says the sample's clip_similarity_vitb32 is mini's, not ViT-B/32's, and gives the
    figures of the comparison table with their sources."""
    text = markdown_text(nbformat.read(NOTEBOOK, as_version=4))
    assert_contains(
        text,
        "CLIP ViT-B/32의 값이 아니라",
        "`mini`",
        "CC-BY-4.0",
        "747M",
        "2.32B",
        "1.8B",
        "0.28",
        "Jia et al. (2021)",
        "Schuhmann et al. (2022)",
    )


# --- COYO (offline: the 200-row sample) ------------------------------------------------------------------------------


def test_coyo_first_row_and_nulls_as_the_prose_says(nb):
    """Sections 3.1-3.3: a streamed IterableDataset with COYO's 17 columns; the first row is val_0 (a hot air
    balloon) with another picture's caption and a low score; the card's 8 columns are None in all 200 rows."""
    assert "IterableDataset - 열 17 개" in cell_text(nb, "stream = load_dataset(")
    first = cell_text(nb, "first_row = next(iter(stream))").strip().splitlines()
    assert [line.split()[0] for line in first[1:]] == list(COLUMNS)
    table = "\n".join(first)
    assert "'images/quiz-image/val_0.JPEG'" in table and "'a drawing of a black top hat'" in table
    assert re.search(r"^clip_similarity_vitb32\s+-0\.05\d\d\s", table, re.M)
    assert {p.path: p.caption_en for p in read_manifest()}["quiz-image/val_0.JPEG"] == "a hot air balloon"

    counts = dict(re.findall(r"^\s+(\w+)\s+(\d+) / 200$", cell_text(nb, "rows = list(islice(stream, N_ROWS))"), re.M))
    assert list(counts) == list(COLUMNS)
    assert {column for column, n in counts.items() if n == "200"} == SAMPLE_NULL_COLUMNS
    assert {n for column, n in counts.items() if column not in SAMPLE_NULL_COLUMNS} == {"0"}
    assert "TypeError: '>' not supported between instances of 'NoneType' and 'float'" in cell_text(nb, "None > 0.5")


def test_coyo_filter_keeps_what_the_card_says(nb):
    """Sections 3.4-3.5: threshold 0.5 for the sample (mini's scale); 150 rows kept, 50 dropped; the sample has
    no watermark or NSFW scores; the 50 mismatched captions are all dropped, the 150 true ones all kept, as the
    card says; the histogram and the kept/dropped pictures are shown."""
    threshold = cell_text(nb, "THRESHOLD = 0.28")
    assert "THRESHOLD = 0.5 (강의 샘플: mini CLIP으로 잰 값)" in threshold
    assert "clip_similarity_vitb32: 200개, 최소 -0.5895" in threshold and "최대 0.8696" in threshold
    assert "임계값 0.5 초과: 150개, 이하: 50개" in threshold
    assert shows_a_figure(nb, "THRESHOLD = 0.28")

    filtered = cell_text(nb, "def keep(row):")
    assert "처음 200행 중 남긴 행: 150, 버린 행: 50" in filtered
    assert "워터마크 점수가 있는 행: 0 / NSFW 점수가 있는 행: 0" in filtered

    graded = cell_text(nb, "own_caption = ")
    assert "엉뚱한 캡션이 붙은 행 50개 중 50개를 버렸고," in graded
    assert "제 캡션이 붙은 행 150개 중 150개를 남겼습니다." in graded
    card = (SAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    assert "**50 of the 50 mismatched rows are removed and\n150 of the 150 true rows are kept.**" in card
    assert shows_a_figure(nb, "def open_picture(url):")


def test_sample_score_ranges_quoted_in_section_3_4():
    """Section 3.4: true pairs score 0.75-0.87 and mismatched ones -0.59-0.37 under mini, so 0.5 splits them."""
    rows, true_pair = sample_rows_with_truth()
    true_scores = [row["clip_similarity_vitb32"] for row, ok in zip(rows, true_pair) if ok]
    wrong_scores = [row["clip_similarity_vitb32"] for row, ok in zip(rows, true_pair) if not ok]
    assert (len(true_scores), len(wrong_scores)) == (150, 50)
    assert round(min(true_scores), 2) == 0.75 and round(max(true_scores), 2) == 0.87
    assert round(min(wrong_scores), 2) == -0.59 and round(max(wrong_scores), 2) == 0.37
    assert max(wrong_scores) < 0.5 < min(true_scores)


def test_lecture_filter_handles_none_and_real_coyo_rows():
    """Section 3.5: the lecture's keep() never compares None; on a row like COYO's card example it keeps it at
    the real threshold 0.28, and drops it for a high watermark or NSFW score or a low similarity."""
    keep = lecture_filter(0.28)
    assert keep(CARD_ROW)
    assert not keep({**CARD_ROW, "watermark_score": 0.9})
    assert not keep({**CARD_ROW, "nsfw_score_gantman": 0.6})
    assert not keep({**CARD_ROW, "nsfw_score_opennsfw2": 0.4})
    assert not keep({**CARD_ROW, "clip_similarity_vitb32": 0.2})
    assert not keep({**CARD_ROW, "clip_similarity_vitb32": None})
    sample_like = {**CARD_ROW, "watermark_score": None, "nsfw_score_opennsfw2": None, "nsfw_score_gantman": None}
    assert keep(sample_like)
    rows, true_pair = sample_rows_with_truth()
    strict = lecture_filter(0.5)
    assert [strict(row) for row in rows] == true_pair


# --- the real data (needs the hub) -----------------------------------------------------------------------------------


@pytest.mark.online
def test_real_coyo_rows_are_web_urls_with_scores_on_clips_scale():
    """Sections 3.2-3.4: the real rows' url is a web address, their score columns hold values, and ViT-B/32
    similarities are far below the sample's (mini's) scale; the lecture's filter runs on them."""
    from datasets import load_dataset

    rows = list(islice(load_dataset(COYO_ID, split="train", streaming=True), 200))
    assert len(rows) == 200 and all(list(row) == list(COLUMNS) for row in rows)
    assert all(row["url"].startswith(("http://", "https://")) for row in rows)
    for column in ("clip_similarity_vitb32", "watermark_score", "nsfw_score_opennsfw2", "nsfw_score_gantman"):
        assert sum(row[column] is not None for row in rows) >= 190, column
    similarities = [row["clip_similarity_vitb32"] for row in rows if row["clip_similarity_vitb32"] is not None]
    assert statistics.median(similarities) < 0.5
    keep = lecture_filter(0.28)
    kept = [row for row in rows if keep(row)]
    assert 0 < len(kept) < len(rows)


@pytest.mark.online
def test_lecture_runs_online_with_the_real_data(online_nb):
    """The same notebook online: no cell fails, COYO-700M itself is streamed, the 0.28 threshold is chosen, and
    there is no original caption to grade the filter with."""
    assert f"dataset: {COYO_ID}" in cell_text(online_nb, "stream = load_dataset(")
    assert "THRESHOLD = 0.28 (CLIP ViT-B/32)" in cell_text(online_nb, "THRESHOLD = 0.28")
    assert "정답(원래 캡션)이 없습니다" in cell_text(online_nb, "own_caption = ")
