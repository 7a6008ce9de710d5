"""What `python -m mmembed index` calls for the two paths past the single process:

    index FOLDER --output DIR --engine ray [--address ...] [--workers N] [--gpus-per-worker G]
        build_index_with_ray: embed on a Ray cluster (ray_engine), keep the embeddings in clip-retrieval's layout
        in DIR (img_emb/, metadata/, shards.json), and save the same FAISS index as the single process.
    index --from-embeddings DIR --model NAME --output INDEX_DIR
        index_from_embeddings: an index of embeddings in clip-retrieval's layout, made by the model NAME.

With an address the cluster must reach the pictures under the same path as this computer (storage every node
mounts), and every node must have mmembed and the model installed: the workers load it by name.
"""

import os
import time
from dataclasses import dataclass
from pathlib import Path

from ..images import picture_files
from ..index import BuildReport, save_index
from .cluster import ray_cluster
from .layout import embeddings_files, read_embeddings
from .ray_engine import embed_shards, plan_workers
from .shards import SHARD_SIZE, ShardManifest, plan_shards


@dataclass
class RayBuildReport:
    index: BuildReport  # its `computed` counts the pictures embedded in this run, `cached` those of finished shards
    shards_embedded: int
    shards_reused: int
    workers: int
    startup_seconds: float  # starting (or joining) the cluster
    embedding_seconds: float  # the workers' start (torch, the model) and the embedding itself
    log_folder: Path | None  # the local cluster's logs


def load_model(model_name: str | None):
    from transformers.utils import logging as transformers_logging

    from ..zoo import load_clip

    transformers_logging.disable_progress_bar()
    return load_clip(model_name, device="cpu")[0]


def build_index_with_ray(
    folder,
    output,
    model_name: str | None = None,
    address: str | None = None,
    workers: int | None = None,
    gpus_per_worker: float = 0,
    precision: str | None = None,
    kind: str = "auto",
    batch_size: int = 32,
    shard_size: int = SHARD_SIZE,
    on_shard=None,
    log_folder=None,
) -> RayBuildReport:
    """Embed every picture under `folder` on Ray and save an index of them in `output`; resumes from shards.json.

    Without `address` a local cluster of this computer's cores is started and stopped (or the Ray this process
    already runs is used). Shards finished by an earlier run with the same pictures, model and precision are
    read back, not embedded again."""
    import torch

    from ..precision import resolve_precision

    folder, output = Path(folder).resolve(), Path(output)
    files = picture_files(folder)
    if not files:
        raise FileNotFoundError(f"{folder} 아래에 사진이 없습니다")
    model = load_model(model_name)  # on the driver too: its fingerprint goes into index.json and the manifest
    from ..fingerprint import model_fingerprint

    fingerprint = model_fingerprint(model)
    device = "cuda" if gpus_per_worker > 0 else "cpu"
    precision = resolve_precision(precision, torch.device(device))
    shards = plan_shards(files, shard_size)
    output.mkdir(parents=True, exist_ok=True)
    settings = {"folder": str(folder), "fingerprint": fingerprint, "precision": precision, "shard_size": shard_size}
    manifest = ShardManifest.open(output, {**settings, "shards": len(shards)})
    todo = [shard for shard in shards if not manifest.is_done(shard, folder, len(shards))]

    run, startup, count, logs = None, 0.0, 0, None
    if todo:
        started = time.perf_counter()
        with ray_cluster(address, log_folder) as (ray, logs):
            startup = time.perf_counter() - started
            plan = plan_workers(ray, workers, gpus_per_worker)
            count = plan.count
            run = embed_shards(
                ray,
                todo,
                len(shards),
                folder,
                output,
                manifest,
                model.mmembed_name,
                fingerprint["sha256"],
                precision,
                plan,
                batch_size,
                on_shard,
            )
    remove_stale_shards(output, len(shards))
    vectors, image_paths = read_embeddings(output)
    names = [Path(path).relative_to(folder).as_posix() for path in image_paths]
    report = save_index(output, folder, names, vectors, model, precision, kind)
    embedded = run.pictures - run.skipped if run else 0
    report.computed, report.cached = embedded, len(names) - embedded
    return RayBuildReport(report, len(todo), len(shards) - len(todo), count, startup, run.seconds if run else 0.0, logs)


def remove_stale_shards(output: Path, shard_count: int) -> None:
    """Shard files of an earlier plan (another shard count or padding) would be read as this build's: remove them."""
    from .layout import shard_files

    current = {path for number in range(shard_count) for path in shard_files(output, number, shard_count)}
    for path in embeddings_files(output).values():
        if path not in current:
            label = path.stem.removeprefix("img_emb_")
            path.unlink(missing_ok=True)
            (output / "metadata" / f"metadata_{label}.parquet").unlink(missing_ok=True)


def index_from_embeddings(embeddings, output, model_name: str, kind: str = "auto", progress=None) -> BuildReport:
    """An index of the embeddings in `embeddings` (clip-retrieval's layout), made by the model `model_name`.

    The layout records no model, so the model is required: it names the index and checks query embeddings later.
    The pictures' folder is the deepest folder holding all their paths; names in the index are relative to it."""
    if not model_name:
        raise ValueError("--from-embeddings에는 --model이 필요합니다: clip-retrieval 형식은 모델을 적지 않습니다.")
    vectors, image_paths = read_embeddings(embeddings)
    model = load_model(model_name)
    if vectors.shape[1] != model.config.projection_dim:
        raise ValueError(
            f"{embeddings}의 임베딩은 {vectors.shape[1]}차원인데 {model_name} 모델은 "
            f"{model.config.projection_dim}차원을 만듭니다: 다른 모델이 만든 임베딩입니다."
        )
    folder = Path(os.path.commonpath([str(Path(path).parent) for path in image_paths]))
    names = [Path(path).relative_to(folder).as_posix() for path in image_paths]
    return save_index(output, folder, names, vectors, model, "unknown", kind, progress)
