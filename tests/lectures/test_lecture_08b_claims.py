"""What lecture 08b (embeddings in a dataset, and past one machine) says, checked.

- Without running it: the settings the lecture states for `mmembed index` (FLAT_LIMIT, HNSW's M and efSearch) are
  the package's, and its new glossary terms are in the glossary and used in the lecture.
- The `slow` tests read the lecture's one offline run: datasets' map adds one 512-float column (the prediction's
  answer), saves and searches as exact search, and the count of wrong alt-texts is the manifest's; the shards'
  merged answer is the single index's (recall 1, the prediction's answer); the days to embed COYO-700M follow from
  the speed measured; Ray Data's embeddings answer every course query as the single process does (the prediction's
  answer); and `mmembed index` / `search --index` run as section 5 says.
"""

import re

import pytest

from mmembed.index import FLAT_LIMIT, HNSW_EF_SEARCH, HNSW_LINKS
from tests.helpers import (
    REPO_ROOT,
    assert_contains,
    assert_new_terms_are_glossary_entries_of,
    figures,
    notebook_source,
    printed_text,
    shows_a_figure,
)
from tests.lectures.conftest import lecture_path, reads_the_lecture_run
from tests.student_copy import students_manifest

NOTEBOOK = lecture_path("08b")
SOLUTIONS = REPO_ROOT / "solutions" / "lectures" / "08b_beyond_one_machine.md"
NEW_TERMS = ["샤딩", "분산 추론"]


def test_the_settings_the_lecture_states_are_mmembed_index_s():
    """Section 5 and the summary: FLAT_LIMIT 10,000, M = 32 and efSearch 128 like mmembed index."""
    text = notebook_source(NOTEBOOK)
    assert f"`FLAT_LIMIT`({FLAT_LIMIT:,})장 이하면 `IndexFlatIP`" in text
    assert f"M = {HNSW_LINKS}, efSearch = {HNSW_EF_SEARCH}" in text
    assert f"{FLAT_LIMIT:,}장까지 Flat 그 위는 HNSW" in text


def test_the_new_terms_are_in_the_glossary_and_in_the_lecture():
    assert_new_terms_are_glossary_entries_of(NOTEBOOK, "08b", NEW_TERMS)


@reads_the_lecture_run(NOTEBOOK)
def test_datasets_embeds_saves_and_searches_the_coyo_sample(nb):
    """Section 2: 200 rows of 17 columns; map adds one column, a 512-float embedding (18 columns, as the
    prediction's answer says), saved to disk; get_nearest_examples is exact search; the count of wrong alt-texts
    among the results is the count the manifest gives for the rows printed: none for "a red car", as the prose says;
    the prose's example with wrong alt-texts ("a truck") is the answer key's exercise (3), whose output
    tests/lectures/test_answer_keys.py checks against the run."""
    loaded = printed_text(nb, "rows = Dataset.from_list(")
    assert "num_rows: 200" in loaded
    columns = re.search(r"features: \[([^\]]*)\]", loaded).group(1).split(", ")
    assert len(columns) == 17 and "지금 `rows`의 열은 17개입니다" in notebook_source(NOTEBOOK)
    mapped = printed_text(nb, "embedded = rows.map(embed_pictures")
    mapped_columns = re.search(r"features: \[([^\]]*)\]", mapped).group(1).split(", ")
    assert mapped_columns == columns + ["'embedding'"] and "열은 **18개**입니다" in notebook_source(NOTEBOOK)
    assert "num_rows: 200" in mapped.split("embedding 열")[0].split("Dataset(")[-1]
    assert "List(Value('float32'))  길이: 512" in mapped and "data-00000-of-00001.arrow" in mapped

    found = printed_text(nb, "coyo.add_faiss_index(")
    assert "get_nearest_examples == 정확 검색의 top-5: True" in found
    rows = re.findall(r"^(\d\.\d{4})  (images/\S+)  (.+)$", found, re.M)
    assert len(rows) == 5 and [row[0] for row in rows] == sorted((row[0] for row in rows), reverse=True)
    own = {"images/" + picture.path: picture.caption_en for picture in students_manifest()}
    wrong = sum(own[url] != text for _, url, text in rows)
    assert f"top-5 중 alt-text가 사진과 맞지 않는 행: {wrong}" in found
    assert 'query = "a red car"' in notebook_source(NOTEBOOK)
    assert wrong == 0 and '"a red car"의 top-5에는 그런 행이 없습니다(0)' in notebook_source(NOTEBOOK)
    assert_contains(
        notebook_source(NOTEBOOK),
        '질의가 "a truck"이면 1위와 2위가 그런 행입니다',
        '트럭 사진인데 alt-text는 "a Christmas pudding"과 "a hand saw"인 행으로',
    )
    assert_contains(
        SOLUTIONS.read_text(encoding="utf-8"),
        "1 'a Christmas pudding' -> 'a garbage truck'\n2 'a hand saw' -> 'a pickup truck'\n```",
    )
    assert shows_a_figure(nb, "coyo.add_faiss_index(")


@reads_the_lecture_run(NOTEBOOK)
def test_shards_merged_give_the_single_index_s_answer(nb):
    """Section 3: four flat shards, merged by IndexShards, find exactly the single Flat's top-10 (recall 1, as the
    prediction's answer says); the shards of COYO-700M, computed."""
    text = printed_text(nb, "shards = faiss.IndexShards(")
    assert_contains(
        text,
        "샤드 4개 x 벡터 25,000개, 합친 답의 재현율@10 (하나의 Flat 대비): 1.000",
        "샤드 75개, 샤드마다 Flat 20.5 GB 또는 PQ 64바이트 0.72 GB",
    )
    assert "재현율@10은 정확히 1입니다" in notebook_source(NOTEBOOK)


@reads_the_lecture_run(NOTEBOOK)
def test_the_days_to_embed_coyo_follow_from_the_speed_measured(nb):
    """Section 4: 210 pictures and 2 augmented copies of each, embedded in one process; the days for 747 million
    pictures are 747,000,000 / that speed, and more than a day (the summary: '날짜 단위의 시간')."""
    text = printed_text(nb, "pictures_per_second = len(ray_files)")
    rate = figures(re.search(r"한 프로세스: 사진 630장을 읽고 임베딩, 1초에 ([\d,]+)장", text).group(1))[0]
    days = figures(re.search(r"\(1초에 [\d,]+장\)로 7억 4,700만 장을 임베딩하면: ([\d,]+)일", text).group(1))[0]
    # The rate is printed rounded to whole pictures; the days were computed before rounding.
    assert days == pytest.approx(747_000_000 / rate / 86400, rel=0.02, abs=1)
    assert days > 1 and "날짜 단위의 시간" in notebook_source(NOTEBOOK)


@reads_the_lecture_run(NOTEBOOK)
def test_ray_data_runs_on_a_local_cluster_and_answers_as_the_single_process(nb):
    """Section 4: the Ray Data pipeline (from_items, map_batches with a model-holding class, 2 workers) runs on a
    local cluster over the 210 course pictures and 2 augmented copies of each, and for every course query (420
    captions) the top-10 of its embeddings are the single process's at fp32 (the prediction's answer)."""
    text = printed_text(nb, "ray_embedded = files.map_batches(EmbedPictures")
    ran = r"Ray Data: 작업자 2개가 사진 630장을 [\d.]+초에 임베딩 \(클러스터 시작 [\d.]+초는 별도\)"
    assert re.search(ran, text), text
    assert re.search(r"top-10이 같은 질의: (\d+)/(\d+)", text).groups() == ("420", "420")
    assert "420개 모두 같습니다" in notebook_source(NOTEBOOK)


@reads_the_lecture_run(NOTEBOOK)
def test_mmembed_index_and_search_index_run_as_section_5_says(nb):
    """Section 5: the course pictures (210, subfolders included) in a flat index of the lecture's model, searched
    with the index; the Python API opens it and accepts the lecture's model."""
    text = printed_text(nb, 'mmembed_command(["index", str(IMAGES_DIR)')
    embeddings = re.search(r"임베딩: 새로 계산 (\d+)장, 캐시에서 (\d+)장", text)
    computed, cached = (int(value) for value in embeddings.groups())
    assert computed + cached == 210
    assert "아래의 사진 210장을 인덱싱합니다 (하위 폴더까지)" in text and "인덱스: flat, 512차원 벡터 210개" in text
    assert re.search(r"질의 '[^']+': flat 인덱스 \S+의 사진 210장에서 찾습니다", text), text
    assert len(re.findall(r"^\s*\d\. \S+\s+-?\d\.\d{4}", text, re.M)) == 5
    assert '"kind": "flat"' in text and '"model": "mini"' in text
    assert "인덱스: flat 210 장, 모델 mini" in printed_text(nb, "course_index = PictureIndex.open(index_dir)")
    assert shows_a_figure(nb, "course_index = PictureIndex.open(index_dir)")
