"""`mmembed index --engine ray` on a real local Ray cluster: a build killed half way resumes from its shard
manifest, embedding at most the unfinished shards, skips an unreadable picture with one line, keeps Ray off the
screen, and answers as the single process at fp32.

One cluster for the whole test session (starting one takes ~7 s, its workers importing torch ~15 s more), so the
tests here share one xdist worker; the model is `tiny` and the pictures are few."""

import json
import os
import shutil
import signal
import tempfile

import pytest

from mmembed.embedding import embed_texts
from mmembed.index import PictureIndex, build_index
from mmembed.scale import build_index_with_ray
from mmembed.scale.cluster import start_local_cluster
from mmembed.scale.layout import read_embeddings
from tests.helpers import run_python
from tests.unit.test_index import save_pictures

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray-cluster")]

QUERIES = ["a red square", "a green picture", "a dark blue square", "a white background", "a yellow corner"]


@pytest.fixture(scope="session")
def ray_cluster():
    """The session's one local cluster, two CPUs; its files in a short temporary path (Ray's sockets live there)."""
    folder = tempfile.mkdtemp(prefix="mmembed-ray-")
    start_local_cluster(folder, num_cpus=2)
    import ray

    yield ray
    ray.shutdown()
    shutil.rmtree(folder, ignore_errors=True)


# The first build runs in a process of its own, joined to the session's cluster, and is killed with SIGKILL when half
# of its shards are written: no cleanup and no `finally` runs, as when a machine is lost or the job is killed.
KILLED_HALF_WAY = """
import os, signal, sys
from mmembed.scale import build_index_with_ray

def kill_half_way(written, total):
    if written == total // 2:
        os.kill(os.getpid(), signal.SIGKILL)

pictures, output, address = sys.argv[1:]
build_index_with_ray(pictures, output, address=address, on_shard=kill_half_way, **SETTINGS)
"""


def test_a_killed_ray_build_resumes_and_answers_as_the_single_process(ray_cluster, tiny, tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("MMEMBED_CACHE", str(tmp_path / "embedding-cache"))
    pictures = save_pictures(tmp_path / "pictures", 14)
    (pictures / "val_5.JPEG").write_bytes(b"not a picture")  # in shard 1 of 4 (val_0-3, 4-7, 8-11, 12-13)
    output = tmp_path / "index"
    settings = {"model_name": "tiny", "workers": 2, "precision": "fp32", "shard_size": 4, "batch_size": 3}

    address = ray_cluster.get_runtime_context().gcs_address
    code = f"SETTINGS = {settings!r}\n{KILLED_HALF_WAY}"
    killed = run_python(["-c", code, str(pictures), str(output), address], env=dict(os.environ), timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    finished = json.loads((output / "shards.json").read_text(encoding="utf-8"))["shards"]
    assert len(finished) >= 2 and not (output / "index.json").exists()

    resumed = build_index_with_ray(pictures, output, **settings)
    assert resumed.shards_reused == len(finished) and resumed.shards_embedded == 4 - len(finished)
    unfinished_pictures = sum(min(4, 14 - 4 * number) for number in range(4) if str(number) not in finished)
    assert resumed.index.computed <= unfinished_pictures
    assert resumed.index.computed + resumed.index.cached == 13 == resumed.index.vectors

    model, processor = tiny
    single = PictureIndex.open(build_index(pictures, tmp_path / "single", model, processor, precision="fp32").directory)
    ray_index = PictureIndex.open(output)
    assert ray_index.names == single.names and "val_5.JPEG" not in ray_index.names
    ray_index.check_model(model)
    queries = embed_texts(QUERIES, model, processor, precision="fp32")
    assert [[name for name, _ in row] for row in ray_index.search(queries, k=10)] == [
        [name for name, _ in row] for row in single.search(queries, k=10)
    ]
    vectors, paths = read_embeddings(output)  # the embeddings, kept in clip-retrieval's layout
    assert len(vectors) == len(paths) == 13 and paths[0] == str(pictures.resolve() / "val_0.JPEG")

    out, err = capfd.readouterr()
    skipped = [line for line in (killed.stdout + killed.stderr + out + err).splitlines() if "val_5.JPEG" in line]
    assert len(skipped) == 1 and "건너뜁니다" in skipped[0]  # one line, from whichever run embedded shard 1
    assert not [line for line in err.splitlines() if line.strip() and not line.startswith("[mmembed]")], err


def test_a_finished_build_embeds_nothing_again(ray_cluster, tmp_path):
    pictures = save_pictures(tmp_path / "pictures", 5)
    settings = {"model_name": "tiny", "workers": 1, "precision": "fp32", "shard_size": 2}
    first = build_index_with_ray(pictures, tmp_path / "index", **settings)
    again = build_index_with_ray(pictures, tmp_path / "index", **settings)
    assert (first.shards_embedded, first.index.computed) == (3, 5)
    assert (again.shards_embedded, again.shards_reused, again.index.computed, again.index.cached) == (0, 3, 0, 5)
