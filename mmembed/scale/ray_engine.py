"""Embedding pictures on a Ray cluster with Ray Data: the file list as a dataset, a model-holding class per worker.

    file list ─ ray.data.from_items ─> map_batches(EmbedPictures, compute=ActorPoolStrategy) ─> rows, back on the driver
    a shard whose rows are all in ─> img_emb/ + metadata/ (layout) ─> recorded in shards.json

This is the shape of Ray's own CLIP batch-inference example: `map_batches` with a class, so each worker loads the
model once (in `__init__`) and embeds batch after batch. `from_items` keeps the file list on the driver: there is
no read task, so the workers may take every CPU of a small machine without leaving a task waiting for one that
never frees (a read task next to two 1-CPU workers deadlocked on 2 cores).

The workers embed through mmembed.cache.embed_paths, the single process's own pipeline (decoding in a background
thread, unreadable pictures skipped), without its cache: on a cluster the cache would be per node, so the shard
manifest on the driver is what resumes. Each worker sends its rows back; the driver writes a shard as soon as all
its pictures are in, so a run killed half way keeps every shard it finished.
"""

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..index import normalised
from ..notes import say
from .layout import write_shard
from .shards import Shard, ShardManifest


class EmbedPictures:
    """Ray Data's callable class: the model is loaded once per worker, then each call embeds one batch of rows
    {"path", "shard"} into rows {"path", "shard", "embedding", "error", "fingerprint"}; an unreadable picture
    keeps its row, with a zero embedding and the reason in "error", so the driver knows its shard is complete."""

    def __init__(self, model_name: str, precision: str, device: str, threads: int):
        import torch

        from ..fingerprint import model_fingerprint
        from ..zoo import load_clip

        torch.set_num_threads(threads)
        self.model, self.processor = load_clip(model_name, device=device)
        self.precision = precision
        self.fingerprint = model_fingerprint(self.model)["sha256"]
        self.dimension = int(self.model.config.projection_dim)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from ..cache import embed_paths

        paths = [Path(path) for path in batch["path"]]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                found = embed_paths(
                    paths, self.model, self.processor, cache=False, precision=self.precision, progress=False
                )
                vectors = dict(zip(found.paths, normalised(found.embeddings.numpy())))
            except FileNotFoundError:  # not one readable picture in the batch
                vectors = {}
        reasons = [str(warning.message) for warning in caught]
        blank = np.zeros(self.dimension, dtype=np.float32)
        errors = [
            "" if path in vectors else next((r for r in reasons if str(path) in r), "not a readable picture")
            for path in paths
        ]
        return {
            "path": batch["path"],
            "shard": batch["shard"],
            "embedding": np.stack([vectors.get(path, blank) for path in paths]),
            "error": np.array(errors, dtype=object),
            "fingerprint": np.array([self.fingerprint] * len(paths), dtype=object),
        }


@dataclass
class Workers:
    """How the embedding is spread: `count` workers, each with `cpus` CPUs (torch threads) and `gpus` GPUs."""

    count: int
    cpus: float
    gpus: float

    @property
    def device(self) -> str:
        return "cuda" if self.gpus > 0 else "cpu"

    @property
    def threads(self) -> int:
        return max(1, int(self.cpus))


def plan_workers(ray, workers: int | None, gpus_per_worker: float = 0) -> Workers:
    """`workers` (default: one per GPU share with --gpus-per-worker, else one per machine), the cluster's CPUs
    shared out evenly between them so that together they never ask for more than the cluster has."""
    resources = ray.cluster_resources()
    if workers is None:
        if gpus_per_worker > 0:
            workers = int(resources.get("GPU", 0) // gpus_per_worker)
        else:
            workers = sum(1 for node in ray.nodes() if node.get("Alive"))
    if workers < 1:
        raise ValueError(
            f"작업자가 하나 이상 있어야 하는데 {workers}개입니다 (클러스터의 GPU: {resources.get('GPU', 0)}개)."
        )
    cpus = resources.get("CPU", 1) / workers
    return Workers(workers, cpus if cpus < 1 else float(int(cpus)), gpus_per_worker)


@dataclass
class EmbeddingRun:
    shards: int  # shards embedded in this run
    pictures: int  # pictures embedded in this run
    skipped: int  # unreadable pictures among them
    seconds: float


def embed_shards(
    ray,
    shards: list[Shard],
    shard_count: int,
    folder: Path,
    output: Path,
    manifest: ShardManifest,
    model_name: str,
    fingerprint: str,
    precision: str,
    workers: Workers,
    batch_size: int = 32,
    on_shard: Callable[[int, int], None] | None = None,
) -> EmbeddingRun:
    """Embed the pictures of `shards` on the cluster; write each shard and record it in `manifest` as it completes.
    `on_shard(shards written, shards to write)` is called after each one."""
    started = time.perf_counter()
    items = [{"path": str(path), "shard": shard.number} for shard in shards for path in shard.files]
    dataset = ray.data.from_items(items)
    embedded = dataset.map_batches(
        EmbedPictures,
        fn_constructor_kwargs={
            "model_name": model_name,
            "precision": precision,
            "device": workers.device,
            "threads": workers.threads,
        },
        batch_size=batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=workers.count),
        num_cpus=workers.cpus,
        num_gpus=workers.gpus,
        # A worker that dies is not restarted: the build stops, and the next run resumes from shards.json. (Ray
        # logs an error line on the driver's stderr for restartable actors built with constructor arguments.)
        max_restarts=0,
    )
    by_number = {shard.number: shard for shard in shards}
    arrived: dict[int, dict[str, tuple[np.ndarray, str]]] = {shard.number: {} for shard in shards}
    written = skipped = 0
    for batch in embedded.iter_batches(batch_size=None, batch_format="numpy"):
        if set(batch["fingerprint"]) != {fingerprint}:
            raise ValueError(
                f"한 작업자가 {model_name!r}의 가중치를 이 컴퓨터와 다르게 불러왔습니다: 임베딩을 서로 비교할 수 "
                "없습니다. 클러스터의 모든 컴퓨터에 같은 모델(모델 폴더나 허브의 같은 리비전)을 주세요."
            )
        for path, number, vector, error in zip(batch["path"], batch["shard"], batch["embedding"], batch["error"]):
            rows = arrived[int(number)]
            rows[path] = (vector, error)
            if len(rows) == len(by_number[int(number)].files):
                skipped += write_finished_shard(by_number[int(number)], rows, shard_count, folder, output, manifest)
                del arrived[int(number)]
                written += 1
                if on_shard is not None:
                    on_shard(written, len(shards))
    pictures = sum(len(shard.files) for shard in shards)
    return EmbeddingRun(written, pictures, skipped, time.perf_counter() - started)


def write_finished_shard(shard: Shard, rows: dict, shard_count: int, folder: Path, output: Path, manifest) -> int:
    """Write one complete shard in its pictures' order, say which pictures were skipped; returns how many."""
    readable = [str(path) for path in shard.files if not rows[str(path)][1]]
    dimension = len(next(iter(rows.values()))[0])
    vectors = np.stack([rows[path][0] for path in readable]) if readable else np.zeros((0, dimension), np.float32)
    write_shard(output, shard.number, shard_count, vectors, readable)
    skipped = [path for path in shard.files if rows[str(path)][1]]
    for path in skipped:
        say(f"읽을 수 있는 사진이 아니어서 건너뜁니다: {path} ({rows[str(path)][1]})", once=False)
    manifest.record(shard, folder, len(readable), [path.relative_to(folder).as_posix() for path in skipped])
    return len(skipped)
