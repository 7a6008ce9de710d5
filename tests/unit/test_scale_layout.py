"""Embeddings in clip-retrieval's layout (mmembed.scale.layout), an index built from such a folder, and the
message a student gets when the Ray engine is asked for without Ray. No Ray cluster here: see test_scale_ray.py."""

import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

from mmembed.cache import embed_paths
from mmembed.embedding import embed_texts
from mmembed.images import picture_files
from mmembed.index import PictureIndex, build_index, normalised
from mmembed.scale import RayMissingError, index_from_embeddings
from mmembed.scale.cluster import import_ray
from mmembed.scale.layout import LayoutError, read_embeddings, shard_files, write_shard
from tests.unit.test_index import save_pictures

QUERIES = ["a red square", "a green picture", "a dark blue square", "a white background"]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MMEMBED_CACHE", str(tmp_path / "embedding-cache"))


def test_shards_are_named_padded_and_read_back_as_clip_retrieval_writes_them(tmp_path):
    """12 shards: numbers padded to two digits (int(log10(12)) + 1), `image_path` the one metadata column."""
    rng = np.random.default_rng(0)
    written = {
        number: (rng.standard_normal((3, 8)).astype(np.float32), [f"/data/{number}_{i}.jpg" for i in range(3)])
        for number in range(12)
    }
    for number, (vectors, paths) in reversed(written.items()):  # written out of order, read in shard order
        write_shard(tmp_path, number, 12, vectors, paths)
    assert shard_files(tmp_path, 3, 12) == (
        tmp_path / "img_emb/img_emb_03.npy",
        tmp_path / "metadata/metadata_03.parquet",
    )
    assert pq.read_table(tmp_path / "metadata/metadata_11.parquet").column_names == ["image_path"]
    vectors, paths = read_embeddings(tmp_path)
    assert np.array_equal(vectors, np.concatenate([v for v, _ in written.values()]))
    assert paths == [path for _, shard_paths in written.values() for path in shard_paths]


def test_a_shard_without_its_metadata_is_refused(tmp_path):
    write_shard(tmp_path, 0, 1, np.ones((2, 4), np.float32), ["a.jpg", "b.jpg"])
    (tmp_path / "metadata/metadata_0.parquet").unlink()
    with pytest.raises(LayoutError, match="metadata_0.parquet"):
        read_embeddings(tmp_path)


def test_an_index_from_embeddings_answers_as_the_single_process(tiny, cache, tmp_path):
    """The folder's pictures embedded at fp32, written as two shards with absolute paths (as clip-retrieval's files
    reader writes them), indexed with --from-embeddings: the same pictures, the same top-5 as `mmembed index`."""
    model, processor = tiny
    pictures = save_pictures(tmp_path / "pictures" / "sub", 9).parent
    save_pictures(tmp_path / "pictures", 5, name="top_{i}.png")
    single = PictureIndex.open(build_index(pictures, tmp_path / "single", model, processor, precision="fp32").directory)

    files = picture_files(pictures)
    found = embed_paths(files, model, processor, cache=False, precision="fp32", progress=False)
    vectors, paths = normalised(found.embeddings.numpy()), [str(path) for path in found.paths]
    write_shard(tmp_path / "embeddings", 0, 2, vectors[:8], paths[:8])
    write_shard(tmp_path / "embeddings", 1, 2, vectors[8:], paths[8:])
    report = index_from_embeddings(tmp_path / "embeddings", tmp_path / "from-embeddings", "tiny")
    rebuilt = PictureIndex.open(report.directory)

    assert rebuilt.names == single.names and rebuilt.folder == single.folder == pictures.resolve()
    rebuilt.check_model(model)
    queries = embed_texts(QUERIES, model, processor, precision="fp32")
    assert [[name for name, _ in row] for row in rebuilt.search(queries, k=5)] == [
        [name for name, _ in row] for row in single.search(queries, k=5)
    ]


def test_from_embeddings_needs_the_model_that_made_them(tmp_path):
    write_shard(tmp_path, 0, 1, np.ones((2, 7), np.float32), ["/p/a.jpg", "/p/b.jpg"])
    with pytest.raises(ValueError, match="--model"):
        index_from_embeddings(tmp_path, tmp_path / "index", "")
    with pytest.raises(ValueError, match="7차원"):
        index_from_embeddings(tmp_path, tmp_path / "index", "tiny")


def test_without_ray_the_message_says_how_to_install_it_in_korean(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets where Ray is not installed
    with pytest.raises(RayMissingError) as caught:
        import_ray()
    assert isinstance(caught.value, ImportError)
    assert "Ray가 설치되어 있지 않습니다" in str(caught.value) and 'pip install ".[scale]"' in str(caught.value)
