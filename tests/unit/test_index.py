"""`mmembed index` and `search --index`: the index finds what exact search finds, a killed build resumes from the
embedding cache, unreadable pictures are skipped, and a query from another model is refused."""

import json
import re
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
from PIL import Image

import mmembed
from mmembed import cache as embedding_cache
from mmembed import cli, fingerprint
from mmembed.cache import embed_paths
from mmembed.images import picture_files
from mmembed.index import (
    FLAT_LIMIT,
    KOutOfRangeError,
    OutdatedIndexError,
    PictureIndex,
    WrongModelError,
    build_index,
    choose_kind,
    save_index,
)
from mmembed.manifest import read_manifest
from mmembed.paths import IMAGES_DIR, REPO_ROOT, TINY_DIR
from tests.helpers import run_python

EMBEDDINGS_LINE = re.compile(r"^임베딩: 새로 계산 (\d+)장, 캐시에서 (\d+)장 \((fp32|bf16)\)$", re.MULTILINE)
RESULT_LINE = re.compile(r"^\s*(\d+)\. (\S+)\s+(-?\d\.\d{4})(?:  (.+))?$", re.MULTILINE)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "embedding-cache"
    monkeypatch.setenv("MMEMBED_CACHE", str(folder))
    return folder


@pytest.fixture
def offline_env(offline_env, tmp_path):
    return {**offline_env, "MMEMBED_CACHE": str(tmp_path / "embedding-cache")}


def save_pictures(folder, count, name="val_{i}.JPEG"):
    """`count` distinct small pictures (a colour and a square that moves)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        picture = Image.new("RGB", (40, 32), (i * 37 % 256, i * 91 % 256, i * 13 % 256))
        picture.paste((255 - i % 256, i % 256, 128), (i % 28, i // 28 % 20, i % 28 + 12, i // 28 % 20 + 12))
        picture.save(folder / name.format(i=i))
    return folder


def course_picture_paths():
    return [IMAGES_DIR / picture.path for picture in read_manifest()]


# ---- what the index finds --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exact_course_search(mini):
    """Every course caption (English), its embedding, and its top 5 pictures by exact search (text @ image.T, then
    topk), computed once for both kinds of index."""
    model, processor = mini
    paths = course_picture_paths()
    pictures = [mmembed.load_image(path) for path in paths]
    image_embeddings = mmembed.embed_images(pictures, model, processor, precision="fp32", progress=False)
    names = [path.relative_to(IMAGES_DIR).as_posix() for path in paths]
    captions = [picture.caption_en for picture in read_manifest()]
    text_embeddings = mmembed.embed_texts(captions, model, processor, precision="fp32")
    exact = [mmembed.search(text, image_embeddings, names, k=5) for text in text_embeddings]
    return captions, text_embeddings, exact


@pytest.fixture(scope="module")
def course_cache(tmp_path_factory):
    """One embedding cache for both kinds: the second index reads the pictures' embeddings the first one stored."""
    return tmp_path_factory.mktemp("embedding-cache")


@pytest.mark.xdist_group("test_index-course-pictures")  # one worker builds the module fixtures above, once
@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_the_index_agrees_with_exact_search_on_the_course_pictures(
    mini, exact_course_search, course_cache, monkeypatch, tmp_path, kind
):
    """Every course caption as a query: the index's top 5 are exact search's."""
    monkeypatch.setenv("MMEMBED_CACHE", str(course_cache))
    model, processor = mini
    report = build_index(IMAGES_DIR, tmp_path / "index", model, processor, kind=kind, precision="fp32")
    index = PictureIndex.open(tmp_path / "index")
    assert (report.kind, report.vectors, index.kind, len(index.names)) == (kind, 210, kind, 210)

    captions, text_embeddings, exact = exact_course_search
    for caption, results, expected in zip(captions, index.search(text_embeddings, k=5), exact):
        assert [name for name, _ in results] == [name for name, _ in expected], caption
        np.testing.assert_allclose([s for _, s in results], [s for _, s in expected], atol=1e-5)


def test_pictures_are_found_in_subfolders_in_natural_order_and_hidden_ones_are_not(tmp_path):
    save_pictures(tmp_path / "b", 3)
    save_pictures(tmp_path / "a" / "deeper", 2, name="x_{i}.png")
    save_pictures(tmp_path, 1, name="top_{i}.jpg")
    save_pictures(tmp_path / ".hidden", 2)
    (tmp_path / "notes.txt").write_text("not a picture")
    (tmp_path / "b" / ".val_9.JPEG").write_bytes((tmp_path / "b" / "val_0.JPEG").read_bytes())
    found = [path.relative_to(tmp_path).as_posix() for path in picture_files(tmp_path)]
    assert found == [
        "a/deeper/x_0.png",
        "a/deeper/x_1.png",
        "b/val_0.JPEG",
        "b/val_1.JPEG",
        "b/val_2.JPEG",
        "top_0.jpg",
    ]


def test_saving_refuses_names_that_do_not_match_the_vectors(tiny, tmp_path):
    with pytest.raises(ValueError, match="이름 1개, 벡터 2개"):
        save_index(tmp_path / "index", tmp_path, ["val_0.JPEG"], np.ones((2, 512), np.float32), tiny[0], "fp32")
    assert not (tmp_path / "index").exists()


def test_flat_up_to_the_limit_then_hnsw():
    assert [choose_kind(n) for n in (1, FLAT_LIMIT, FLAT_LIMIT + 1)] == ["flat", "flat", "hnsw"]
    assert choose_kind(5, "hnsw") == "hnsw" and choose_kind(10**6, "flat") == "flat"
    with pytest.raises(ValueError, match="auto, flat, hnsw 중 하나여야"):
        choose_kind(5, "ivf")


def test_the_command_line_help_states_the_limit(offline_env):
    result = run_python(["-m", "mmembed", "index", "--help"], env=offline_env)
    assert f"{FLAT_LIMIT:,}장까지 flat" in " ".join(result.stdout.split())


# ---- the command line ------------------------------------------------------------------------------------------


@pytest.mark.slow  # over 8 s: kept out of make test-fast
def test_index_then_search_on_the_course_pictures_as_from_a_fresh_clone(offline_env, tmp_path):
    """`index images` (no model named: offline that is mini), then `search --index` with the index's own model: the
    same results, scores and captions as searching the folder itself."""
    output = tmp_path / "course-index"
    built = run_python(["-m", "mmembed", "index", "images", "--output", str(output)], env=offline_env)
    assert built.returncode == 0, built.stderr
    assert built.stdout.splitlines()[:2] == ["모델: mini", "images 아래의 사진 210장을 인덱싱합니다 (하위 폴더까지)"]
    assert EMBEDDINGS_LINE.search(built.stdout).group(1, 2) == ("210", "0")
    assert f"인덱스: flat, 512차원 벡터 210개, 0.4 MB ({output}에 저장)" in built.stdout
    about = json.loads((output / "index.json").read_text(encoding="utf-8"))
    assert (about["model"], about["kind"], about["vectors"]) == ("mini", "flat", 210)

    searched = run_python(["-m", "mmembed", "search", "a red car", "--index", str(output), "-k", "5"], env=offline_env)
    direct = run_python(["-m", "mmembed", "search", "a red car", "images/quiz-image", "-k", "5"], env=offline_env)
    assert searched.returncode == 0 and direct.returncode == 0, searched.stderr + direct.stderr
    assert searched.stdout.splitlines()[0] == "모델: mini"
    from_index = [(m[2], m[3], m[4]) for m in RESULT_LINE.finditer(searched.stdout)]
    from_folder = [("quiz-image/" + m[2], m[3], m[4]) for m in RESULT_LINE.finditer(direct.stdout)]
    assert len(from_index) == 5 and from_index == from_folder  # the red car is among the quiz pictures


def test_a_corrupt_picture_is_skipped_with_a_one_line_warning(offline_env, tmp_path):
    folder = save_pictures(tmp_path / "pictures" / "one", 4)
    save_pictures(tmp_path / "pictures" / "two", 2, name="y_{i}.png")
    (folder / "val_2.JPEG").write_bytes(b"not a JPEG at all")
    output = tmp_path / "index"
    result = run_python(
        ["-m", "mmembed", "index", str(tmp_path / "pictures"), "--output", str(output), "--model", "tiny"],
        env=offline_env,
    )
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("경고:")]
    assert len(warnings) == 1 and "사진이 아니어서 건너뜁니다" in warnings[0] and "val_2.JPEG" in warnings[0]
    assert "사진 6장을 인덱싱합니다" in result.stdout and "인덱스: flat, 512차원 벡터 5개" in result.stdout
    assert PictureIndex.open(output).names == [
        "one/val_0.JPEG",
        "one/val_1.JPEG",
        "one/val_3.JPEG",
        "two/y_0.png",
        "two/y_1.png",
    ]


@pytest.mark.slow  # over 8 s: kept out of make test-fast
def test_a_query_from_another_model_is_refused(offline_env, tmp_path):
    save_pictures(tmp_path / "pictures", 6)
    output = tmp_path / "index"
    built = run_python(
        ["-m", "mmembed", "index", str(tmp_path / "pictures"), "--output", str(output), "--model", "tiny"],
        env=offline_env,
    )
    assert built.returncode == 0, built.stderr
    refused = run_python(
        ["-m", "mmembed", "search", "A dog", "--index", str(output), "--model", "mini"], env=offline_env
    )
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "오류: 이 인덱스는 'tiny' 모델로 만들었는데 질의는 'mini' 모델에서 나왔습니다: 두 모델의 임베딩은 서로 다른 "
        "공간에 있습니다. --model tiny로 검색하세요 (또는 이 모델로 인덱스를 다시 만드세요)."
    ]
    assert not RESULT_LINE.search(refused.stdout)
    own = run_python(["-m", "mmembed", "search", "A dog", "--index", str(output), "-k", "6"], env=offline_env)
    assert own.returncode == 0 and own.stdout.splitlines()[0] == "모델: tiny", own.stderr
    assert len(RESULT_LINE.findall(own.stdout)) == 6


def test_the_same_weights_under_another_name_are_the_same_model(tiny, mini, cache, tmp_path):
    model, processor = tiny
    build_index(save_pictures(tmp_path / "pictures", 4), tmp_path / "index", model, processor)
    index = PictureIndex.open(tmp_path / "index")
    same, _ = mmembed.load_clip(str(TINY_DIR), device="cpu")  # tiny, named by its folder
    index.check_model(same)
    with pytest.raises(WrongModelError, match="이 인덱스는 'tiny' 모델로 만들었는데"):
        index.check_model(mini[0])
    with pytest.raises(WrongModelError, match="질의는 3차원인데"):
        index.search(np.ones((1, 3), dtype=np.float32), k=1)
    with pytest.raises(KOutOfRangeError, match=r"^k는 1부터 인덱스의 사진 수\(4\)까지여야 하는데 5입니다"):
        index.search(np.ones((1, 512), dtype=np.float32), k=5)


# ---- the model's fingerprint: what index.json keeps of the model ----------------------------------------------


def test_a_saved_index_outlives_a_change_to_the_embedding_cache(tiny, cache, tmp_path, monkeypatch):
    """index.json keeps the model's fingerprint, not the cache's key: with the key changed (its FORMAT bumped, so
    every picture is embedded again), an index saved before still opens, accepts its model and finds the same."""
    model, processor = tiny
    folder = save_pictures(tmp_path / "pictures", 4)
    build_index(folder, tmp_path / "index", model, processor, precision="fp32")
    query = mmembed.embed_texts("A dog", model, processor, precision="fp32")
    before = PictureIndex.open(tmp_path / "index").search(query, k=4)

    monkeypatch.setattr(embedding_cache, "FORMAT", embedding_cache.FORMAT + 1)
    assert embed_paths(picture_files(folder), model, processor, precision="fp32").computed == 4  # a new key
    index = PictureIndex.open(tmp_path / "index")
    index.check_model(model)
    assert index.search(query, k=4) == before


def test_an_index_of_an_older_fingerprint_is_refused_for_that_reason(tiny, cache, tmp_path, monkeypatch, capsys):
    """A new way of fingerprinting (fewer samples, so version 2) cannot check an index fingerprinted by version 1:
    the index still opens, and the error, one line on the command line, names the fingerprint and how to rebuild
    rather than blaming the model."""
    model, processor = tiny
    build_index(save_pictures(tmp_path / "pictures", 4), tmp_path / "index", model, processor)
    monkeypatch.setattr(fingerprint, "PARAMETER_SAMPLES", 64)
    monkeypatch.setattr(fingerprint, "FINGERPRINT_VERSION", 2)
    index = PictureIndex.open(tmp_path / "index")
    with pytest.raises(OutdatedIndexError, match="버전 1 방식으로 기록했는데 이 mmembed는 버전 2 방식으로 계산하므로"):
        index.check_model(model)

    monkeypatch.setattr(warnings, "formatwarning", warnings.formatwarning)  # cli.main sets its own
    with pytest.raises(SystemExit) as exited:
        cli.main(["search", "A dog", "--index", str(tmp_path / "index"), "--model", "tiny", "-k", "2"])
    error = capsys.readouterr().err.strip()
    assert exited.value.code == 1 and error.splitlines() == [error]
    assert error.startswith(f"오류: {tmp_path / 'index'}의 인덱스는") and "다른 공간" not in error
    assert f"다시 만드세요 (python -m mmembed index {tmp_path / 'pictures'} --output {tmp_path / 'index'})" in error


def test_an_index_of_format_1_still_opens(tiny, mini, cache, tmp_path):
    """Format 1 kept version 1's fingerprint under "weights": it opens and accepts the model it was built with."""
    model, processor = tiny
    build_index(save_pictures(tmp_path / "pictures", 4), tmp_path / "index", model, processor)
    saved = tmp_path / "index" / "index.json"
    about = json.loads(saved.read_text(encoding="utf-8"))
    assert about["fingerprint"]["version"] == 1
    about.update(format=1, weights=about.pop("fingerprint")["sha256"])
    saved.write_text(json.dumps(about), encoding="utf-8")
    index = PictureIndex.open(tmp_path / "index")
    index.check_model(model)
    with pytest.raises(WrongModelError):
        index.check_model(mini[0])


@pytest.mark.parametrize(
    "args, message",
    [
        (["search", "A dog", "--index", "{missing}"], "{missing}에 인덱스가 없습니다: python -m mmembed index"),
        (["search", "A dog", "{folder}", "--index", "{folder}"], "폴더와 --index 중 하나만 주세요."),
        (["search", "A dog", "--index", "{index}", "-k", "5"], "-k는 1부터 사진 수(4)까지여야 하는데 5입니다"),
        (["index", "{missing}", "--output", "{index}"], "사진 폴더가 없습니다"),
    ],
)
def test_index_errors_are_one_line(tiny, cache, tmp_path, monkeypatch, capsys, args, message):
    """`python -m mmembed ...` as cli.main runs it, in this process: a child would spend its seconds importing torch
    before the one line (test_cli runs the command itself in fresh processes)."""
    folder = save_pictures(tmp_path / "pictures", 4)
    model, processor = tiny
    build_index(folder, tmp_path / "index", model, processor)
    names = {"missing": tmp_path / "missing", "folder": folder, "index": tmp_path / "index"}
    monkeypatch.setattr(warnings, "formatwarning", warnings.formatwarning)  # cli.main sets its own
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        cli.main([*[a.format(**names) for a in args], "--model", "tiny"])
    error = capsys.readouterr().err.strip()
    assert exited.value.code == 1 and error.splitlines() == [error]
    assert error.startswith("오류: ") and message.format(**names) in error


# ---- interruptions -------------------------------------------------------------------------------------------


def embedded_so_far(cache_folder) -> int:
    return len(list(cache_folder.glob("images/*/*.npy")))


@pytest.mark.slow  # two builds of 1,500 pictures in fresh processes
def test_a_killed_build_resumes_from_the_embedding_cache(offline_env, tmp_path):
    folder = save_pictures(tmp_path / "pictures", 1500)
    output, cache_folder = tmp_path / "index", tmp_path / "embedding-cache"
    command = [sys.executable, "-m", "mmembed", "index", str(folder), "--output", str(output), "--model", "mini"]
    build = subprocess.Popen(command, env=offline_env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while embedded_so_far(cache_folder) < 64 and build.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    build.send_signal(signal.SIGKILL)
    build.communicate()
    before = embedded_so_far(cache_folder)
    assert build.returncode == -signal.SIGKILL, "the build ended before it could be killed"
    assert 64 <= before < 1500 and not (output / "index.json").exists()

    resumed = run_python(command[1:], env=offline_env, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    computed, cached = (int(n) for n in EMBEDDINGS_LINE.search(resumed.stdout).group(1, 2))
    assert cached >= before and computed + cached == 1500 and computed < 1500
    index = PictureIndex.open(output)
    assert index.names == [f"val_{i}.JPEG" for i in range(1500)]


def test_an_unfinished_build_leaves_the_previous_index_whole(tiny, cache, tmp_path):
    """A build killed while writing has written its vectors and names but not index.json: the index folder still
    opens as the previous build, and the next build clears the leftovers."""
    model, processor = tiny
    folder, output = save_pictures(tmp_path / "pictures", 5), tmp_path / "index"
    build_index(folder, output, model, processor)
    (output / "vectors-deadbeef.faiss").write_bytes(b"half a file")
    (output / "pictures-deadbeef.txt").write_text("val_0.JPEG\n")
    assert len(PictureIndex.open(output).names) == 5
    save_pictures(folder, 7)
    build_index(folder, output, model, processor)
    assert len(PictureIndex.open(output).names) == 7
    assert sorted(path.name.split("-")[0] for path in output.iterdir()) == ["index.json", "pictures", "vectors"]


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_a_flat_index_is_filled_in_chunks_and_an_hnsw_graph_in_one_add(monkeypatch, kind):
    """Lecture 08a, section 6: an HNSW graph added in several calls finds fewer true neighbours (measured recall@10
    0.84 instead of 0.96 on 100,000 vectors), so the graph gets every vector in one call; a flat index has no
    graph and is filled in chunks under the progress bar."""
    import mmembed.index as index_module

    added = []
    make = index_module.new_faiss_index

    class Counting:
        def __init__(self, index):
            self.index = index

        def add(self, vectors):
            added.append(len(vectors))
            self.index.add(vectors)

    monkeypatch.setattr(index_module, "new_faiss_index", lambda kind, dimension: Counting(make(kind, dimension)))
    vectors = np.random.default_rng(0).standard_normal((2 * index_module.ADD_CHUNK + 1, 8)).astype(np.float32)
    filled = index_module.filled_index(kind, vectors, progress=False)
    assert filled.index.ntotal == len(vectors)
    chunk = index_module.ADD_CHUNK
    assert added == ([chunk, chunk, 1] if kind == "flat" else [len(vectors)])
