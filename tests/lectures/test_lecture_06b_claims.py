"""What lecture 06b (COYO-700M) says, checked.

- Offline: the lecture executed with MMEMBED_OFFLINE=1 (the 200-row COYO sample in data/coyo-sample) prints what
  its prose quotes: COYO's 17 columns, the sample's null columns, the 150 kept / 50 dropped rows of the sample's
  card (all 50 mismatched captions score below the 0.5 threshold, all 150 true ones above it); the lecture's filter
  function is run on the sample's rows and on rows shaped like the real COYO's.
- Tests marked `online` check what the prose says about the real kakaobrain/coyo-700m; they are skipped where the
  Hugging Face Hub cannot be reached. The last one runs the whole lecture online.
"""

import ast
import itertools
import json
import re
import statistics
from collections import Counter
from itertools import islice

import nbformat
import numpy as np
import pytest

from mmembed.coyo import COLUMNS, COYO_ID, SAMPLE_DIR
from mmembed.paths import REPO_ROOT
from tests.data.test_coyo_sample import NULL_COLUMNS
from tests.helpers import assert_contains, cell_text, code_cell, lecture_code, markdown_text, shows_a_figure
from tests.lectures.conftest import lecture_path, lecture_run_marks
from tests.student_copy import students_file, students_manifest

NOTEBOOK = lecture_path("06b")
SOLUTIONS = REPO_ROOT / "solutions" / "lectures" / "06b_coyo_700m.md"
pytestmark = lecture_run_marks(NOTEBOOK)

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
    rows = [
        json.loads(line)
        for line in students_file("data/coyo-sample/train.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    own = {"images/" + p.path: p.caption_en for p in students_manifest()}
    return rows, [row["text"] == own[row["url"]] for row in rows]


def sample_scores():
    """(scores of the 150 true pairs, scores of the 50 mismatched rows), in row order."""
    rows, true_pair = sample_rows_with_truth()
    true_scores = [row["clip_similarity_vitb32"] for row, ok in zip(rows, true_pair) if ok]
    wrong_scores = [row["clip_similarity_vitb32"] for row, ok in zip(rows, true_pair) if not ok]
    return true_scores, wrong_scores


def mismatched_rows_above(threshold):
    """The sample's rows that carry another picture's caption and still score above `threshold`."""
    rows, true_pair = sample_rows_with_truth()
    return [row for row, ok in zip(rows, true_pair) if not ok and row["clip_similarity_vitb32"] > threshold]


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
    balloon) with another picture's caption and a negative score (about -0.24, far below every true pair's); the
    card's 8 columns are None in all 200 rows."""
    assert "IterableDataset - 열 17 개" in cell_text(nb, "stream = load_dataset(")
    first = cell_text(nb, "first_row = next(iter(stream))").strip().splitlines()
    assert [line.split()[0] for line in first[1:]] == list(COLUMNS)
    table = "\n".join(first)
    assert "'images/quiz-image/val_0.JPEG'" in table and "'a drawing of a black top hat'" in table
    shown = re.search(r"^clip_similarity_vitb32\s+(\S+)\s", table, re.M).group(1)
    rows, true_pair = sample_rows_with_truth()
    assert shown == f"{rows[0]['clip_similarity_vitb32']:.4f}" and not true_pair[0]
    assert shown.startswith("-0.24") and float(shown) < 0
    assert min(sample_scores()[0]) > 0.69
    assert_contains(markdown_text(nb), "-0.24로 음수인", "제 캡션이 붙은 행은 모두 0.69보다 큽니다")
    assert {p.path: p.caption_en for p in students_manifest()}["quiz-image/val_0.JPEG"] == "a hot air balloon"

    counts = dict(re.findall(r"^\s+(\w+)\s+(\d+) / 200$", cell_text(nb, "rows = list(islice(stream, N_ROWS))"), re.M))
    assert list(counts) == list(COLUMNS)
    assert {column for column, n in counts.items() if n == "200"} == SAMPLE_NULL_COLUMNS
    assert {n for column, n in counts.items() if column not in SAMPLE_NULL_COLUMNS} == {"0"}
    assert "TypeError: '>' not supported between instances of 'NoneType' and 'float'" in cell_text(nb, "None > 0.5")
    assert "`False`라고 예측하기 쉽지만, 파이썬 3에서는 `None`과 숫자의 크기 비교가 **오류**(`TypeError`)입니다" in (
        markdown_text(nb)
    )


def test_coyo_filter_keeps_what_the_card_says(nb):
    """Sections 3.4-3.5: threshold 0.5 for the sample (mini's scale); 150 rows kept, 50 dropped; the sample has
    no watermark or NSFW scores; the grading cell shows that the 50 dropped rows are exactly the 50 mismatched ones,
    as the card says: every mismatched caption scores below 0.5 and every true one above it; the histogram and the
    kept/dropped pictures are shown, the top row all true pairs and the bottom row all mismatched ones."""
    rows, true_pair = sample_rows_with_truth()
    scores = np.array([row["clip_similarity_vitb32"] for row in rows])
    threshold = cell_text(nb, "THRESHOLD = 0.28")
    assert "THRESHOLD = 0.5 (강의 샘플: mini CLIP으로 잰 값)" in threshold
    low, middle, high = scores.min(), np.median(scores), scores.max()
    assert f"clip_similarity_vitb32: 200개, 최소 {low:.4f}, 중앙값 {middle:.4f}, 최대 {high:.4f}" in threshold
    assert ((scores > 0.5).sum(), (scores <= 0.5).sum()) == (150, 50)
    assert "임계값 0.5 초과: 150개, 이하: 50개" in threshold
    assert shows_a_figure(nb, "THRESHOLD = 0.28")

    filtered = cell_text(nb, "def keep(row):")
    assert "처음 200행 중 남긴 행: 150, 버린 행: 50" in filtered
    assert "150행이라고 예측했다면 맞습니다" in markdown_text(nb)  # the 예측해 보기 before the filter
    assert "워터마크 점수가 있는 행: 0 / NSFW 점수가 있는 행: 0" in filtered
    assert "rows에 keep을 직접 적용한 결과와 같은가: True" in filtered

    graded = cell_text(nb, "own_caption = ")
    assert "엉뚱한 캡션이 붙은 행 50개 중 50개를 버렸고," in graded
    assert "제 캡션이 붙은 행 150개 중 150개를 남겼습니다." in graded
    assert "엉뚱한데 남은 행" not in graded and mismatched_rows_above(0.5) == []
    true_scores, wrong_scores = sample_scores()
    assert f"엉뚱한 캡션의 유사도 최대 {max(wrong_scores):.4f}, 제 캡션의 유사도 최소 {min(true_scores):.4f}" in graded

    # What the prose says about them (section 3.5 and the summary), checked against the printed rows.
    text = markdown_text(nb)
    assert_contains(
        text,
        "200행 중 150행을 남기고 50행을 버립니다",
        "**엉뚱한 캡션 50개는 모두 버리고, 제 캡션 150개는 모두 남겼습니다**",
        f"엉뚱한 캡션 가운데 유사도가 가장 높은 행도 {max(wrong_scores):.4f}로, 임계값 0.5에 못 미칩니다",
        f"엉뚱한 캡션의 최대({max(wrong_scores):.4f})가 제 캡션의 최소({min(true_scores):.4f})보다 작으므로",
        "200행 중 150행이 남습니다",
        f"엉뚱한 캡션 50행(유사도 {max(wrong_scores):.2f} 이하)은 모두 걸러지고",
        "제 캡션 150행(0.69 초과)은 모두 남습니다",
    )
    card = (SAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    assert "**50 of the 50 mismatched rows are removed and\n150 of the 150 true rows are kept.**" in card

    # Section 3.5's figure: its top row is the first 4 kept rows, all true pairs; its bottom row the first 4 dropped
    # rows, all mismatched, the third being id 4, the mismatched row with the second highest score.
    keep = lecture_filter(0.5)
    kept = [(row["id"], ok) for row, ok in zip(rows, true_pair) if keep(row)]
    dropped = [(row, ok) for row, ok in zip(rows, true_pair) if not keep(row)]
    assert all(ok for _, ok in kept[:4]) and not any(ok for _, ok in dropped[:4])
    third = dropped[2][0]
    own = {"images/" + p.path: p.caption_en for p in students_manifest()}
    assert (third["id"], third["text"], own[third["url"]]) == (4, "a white mug", "a drawing of a sombrero")
    assert third["clip_similarity_vitb32"] == sorted(wrong_scores)[-2]
    assert_contains(
        text,
        "아랫줄의 네 장 모두, 열기구 사진에 붙은",
        "윗줄(남긴 행)의 네 장은 모두 제 캡션입니다",
        f'아랫줄의 세 번째(id=4)는 솜브레로 그림에 "a white mug"가 붙은 행으로, 엉뚱한 캡션 가운데 유사도가 두 번째로 '
        f"높지만({third['clip_similarity_vitb32']:.3f}) 임계값에는 못 미쳐 버려졌습니다",
    )
    assert shows_a_figure(nb, "def open_picture(url):")


def test_sample_score_ranges_quoted_in_section_3_4():
    """Section 3.4: true pairs score 0.70-0.80 (median 0.76) and mismatched ones -0.61-0.44 (median -0.05) under
    mini: the ranges do not overlap and 0.5 lies in the gap between them, so no bar of the lecture's histogram lies
    between the red line and the true pairs' peak; any threshold in the gap (0.6, say) splits the two groups the
    same way, as section 3.5 says."""
    true_scores, wrong_scores = sample_scores()
    assert (len(true_scores), len(wrong_scores)) == (150, 50)
    quoted = (
        f"제 캡션이 붙은 행은 {min(true_scores):.2f} ~ {max(true_scores):.2f}"
        f"(중앙값 {statistics.median(true_scores):.2f}), "
        f"엉뚱한 캡션이 붙은 행은 {min(wrong_scores):.2f} ~ {max(wrong_scores):.2f}"
        f"(중앙값 {statistics.median(wrong_scores):.2f})"
    )
    assert quoted == "제 캡션이 붙은 행은 0.70 ~ 0.80(중앙값 0.76), 엉뚱한 캡션이 붙은 행은 -0.61 ~ 0.44(중앙값 -0.05)"
    text = markdown_text(nbformat.read(NOTEBOOK, as_version=4))
    assert_contains(
        text,
        quoted,
        "봉우리가 둘이라는 예측이 맞습니다: "
        "오른쪽의 높고 좁은 봉우리는 제 캡션이 붙은 행(0.70 ~ 0.80), "
        "왼쪽에 낮고 넓게 퍼진 봉우리는 엉뚱한 캡션이 붙은 행(0.44 이하)",
        "임계값 0.5는 두 봉우리 사이의 **빈 곳**에 놓입니다",
        "0.44와 0.70 사이에는 행이 하나도 없으므로",
        "(예: 0.6)",
    )
    assert max(wrong_scores) < 0.5 < 0.6 < min(true_scores)
    assert f"{max(wrong_scores):.2f}" == "0.44" and f"{min(true_scores):.2f}" == "0.70"

    # The lecture's histogram: 30 bins from the lowest to the highest score; the blue (kept) bars are all true pairs,
    # and the bars of the two groups are apart, with empty bins on both sides of the red line.
    scores = np.array(true_scores + wrong_scores)
    bins = np.linspace(scores.min(), scores.max(), 31)
    counts, _ = np.histogram(scores[(scores > max(wrong_scores)) & (scores < min(true_scores))], bins=bins)
    assert counts.sum() == 0
    red = int(np.digitize(0.5, bins)) - 1  # the bin the red line crosses
    assert int(np.digitize(max(wrong_scores), bins)) - 1 < red < int(np.digitize(min(true_scores), bins)) - 1


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
    kept = [strict(row) for row in rows]
    assert kept == [row["clip_similarity_vitb32"] > 0.5 for row in rows]
    assert all(k for k, ok in zip(kept, true_pair) if ok)  # every true pair is kept ...
    assert kept == true_pair  # ... and no mismatched one
    # Section 3.5: any threshold between the mismatched rows' highest score and the true pairs' lowest splits them.
    assert [lecture_filter(0.6)(row) for row in rows] == true_pair


def test_solution_of_exercise_1_keeping_rows_without_a_score():
    """solutions/lectures/06b: no sample row lacks a score, so keeping such rows leaves the 150 rows of the lecture."""
    rows, _ = sample_rows_with_truth()
    assert not [row for row in rows if row["clip_similarity_vitb32"] is None]
    assert sum(lecture_filter(0.5)(row) for row in rows) == 150
    assert "남는 행은 그대로 **150행**입니다" in SOLUTIONS.read_text(encoding="utf-8")


def test_solution_of_exercise_2_threshold_028_on_the_sample():
    """solutions/lectures/06b: with THRESHOLD = 0.28 the lecture's filter keeps 154 sample rows, all 150 true
    pairs and 4 mismatched ones (scores 0.33-0.44), where 0.5 keeps none."""
    rows, true_pair = sample_rows_with_truth()
    loose = lecture_filter(0.28)
    kept = [row for row in rows if loose(row)]
    wrong_kept = mismatched_rows_above(0.28)
    assert sum(loose(row) for row, ok in zip(rows, true_pair) if ok) == 150
    assert (len(kept), len(wrong_kept), len(mismatched_rows_above(0.5))) == (154, 4, 0)
    wrong_scores = [row["clip_similarity_vitb32"] for row in wrong_kept]
    answer = SOLUTIONS.read_text(encoding="utf-8")
    assert_contains(
        answer,
        f"**{len(kept)}행**이 남습니다",
        f"엉뚱한 캡션이 붙은 50행 중 **{len(wrong_kept)}행**(점수 {min(wrong_scores):.2f} ~ {max(wrong_scores):.2f})",
        "제 캡션이 붙은 150행(점수 0.69 초과)은 모두 남고",
        "임계값 0.5에서는 엉뚱한 캡션이 하나도 남지 않았으니, 0.28 ~ 0.5 사이의 4행이 더해진 것입니다",
        f"{max(wrong_scores):.2f}까지 뻗어 있는 것으로 예측할 수 있습니다",
    )


# --- section 4: duplicates -------------------------------------------------------------------------------------------


def lecture_phash():
    """The lecture's `my_phash` and `hamming` (section 4.2), as the saved notebook defines them."""
    from PIL import Image

    tree = ast.parse(code_cell(nbformat.read(NOTEBOOK, as_version=4), "def my_phash(").source)
    wanted = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.Assign))]
    namespace = {"np": np, "Image": Image}
    exec(compile(ast.Module(wanted, type_ignores=[]), NOTEBOOK.name, "exec"), namespace)
    return namespace["my_phash"], namespace["hamming"]


def test_the_lectures_phash_is_the_samples():
    """Section 4.2: the lecture's 8-line pHash gives the sample's image_phash (imagehash.phash) for all 200 rows."""
    from PIL import Image

    my_phash, _ = lecture_phash()
    rows, _ = sample_rows_with_truth()
    assert all(my_phash(Image.open(REPO_ROOT / row["url"])) == row["image_phash"] for row in rows)


def test_duplicates_as_the_prose_says(nb):
    """Section 4: repeated texts counted as printed, most of the mismatched rows sharing their text with another
    row; the first kept row's pHash recomputed; the copies' distances: the mirror image farthest, the smaller JPEG
    and the brighter copy nearer than any two different pictures of the sample, the cropped one farther than that."""
    rows, true_pair = sample_rows_with_truth()
    counts = Counter(row["text"] for row in rows)
    repeated = {text: n for text, n in counts.items() if n > 1}
    shared = sum(counts[row["text"]] > 1 for row, ok in zip(rows, true_pair) if not ok)
    printed = cell_text(nb, "text_counts = Counter(")
    assert_contains(
        printed,
        f"200행의 text: 서로 다른 것 {len(counts)}개, "
        f"두 번 이상 나오는 것 {len(repeated)}개 ({sum(repeated.values())}행)",
        f"엉뚱한 캡션이 붙은 행 50개 중 text가 다른 행에도 나오는 것: {shared}개",
    )
    assert shared > 25  # "대부분 그 사진의 행과 `text`가 똑같습니다"

    hashes = cell_text(nb, "def my_phash(")
    stored, computed = re.findall(r"(?:image_phash|pHash) ?: ([0-9a-f]{16})", hashes)
    assert stored == computed

    _, hamming = lecture_phash()
    distances = [hamming(a["image_phash"], b["image_phash"]) for a, b in itertools.combinations(rows, 2)]
    pairs = cell_text(nb, "distances = [hamming(")
    assert f"200행의 사진 19900쌍: 가장 가까운 쌍 {min(distances)}비트, 중앙값 {np.median(distances):.0f}비트" in pairs
    assert shows_a_figure(nb, "distances = [hamming(")

    copies = dict(re.findall(r"^(\S.*?)\s+다른 비트\s+(\d+) / 64$", cell_text(nb, "copy_distances = {"), re.M))
    copies = {name: int(bits) for name, bits in copies.items()}
    assert list(copies) == ["반으로 줄여 JPEG로", "30% 밝게", "좌우 뒤집기", "가장자리 잘라내기"]
    assert max(copies, key=copies.get) == "좌우 뒤집기"
    assert copies["반으로 줄여 JPEG로"] < min(distances) and copies["30% 밝게"] < min(distances)
    assert copies["가장자리 잘라내기"] > min(distances)
    low, high = np.percentile(distances, [25, 75])
    assert low <= copies["좌우 뒤집기"] <= high  # "서로 다른 사진들 한가운데"
    assert shows_a_figure(nb, "copy_distances = {")
    assert_contains(
        markdown_text(nb),
        "가장 많이 바뀐 것은 **좌우 뒤집기**입니다",
        "가장 가까운 쌍보다도 왼쪽에 있으므로",
        "가장자리를 잘라낸 사진은 가장 가까운 다른 사진 쌍보다 멀리 있어서",
    )


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
