"""`mmembed index` past one process: the single process against Ray Data with 1 and 2 workers, on this machine.

    python benchmarks/index_scale.py               # ViT-B/32 architecture (fp32), 200 quiz + 2,000 copies
    python benchmarks/index_scale.py --large 200   # fewer copies, for a quick look

The pictures and the model are benchmarks/embedding.py's: the 200 quiz pictures and 2,000 distinct augmented
copies, the ViT-B/32 CLIP architecture with seeded random weights (a forward pass costs the same whatever the
weights). Every path builds the same flat index in fp32 from an empty embedding cache:

    single process    mmembed.index.build_index (what `python -m mmembed index` runs)
    ray, 1 worker     mmembed.scale.build_index_with_ray(workers=1): one worker with both cores
    ray, 2 workers    the same with two workers of one core each

The local cluster is started once and its start-up reported on its own line; each Ray row counts its workers'
start (importing torch, loading the model) and the embedding. From the 2-worker run's rate per worker comes the
arithmetic for N machines (stated as arithmetic, not measured). Writes results/index_scale.json.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from transformers.utils import logging as transformers_logging

import mmembed
from mmembed.images import image_files
from mmembed.index import PictureIndex, build_index
from mmembed.paths import QUIZ_IMAGE_DIR
from mmembed.scale import build_index_with_ray
from mmembed.scale.cluster import start_local_cluster

sys.path.insert(0, str(Path(__file__).resolve().parent))
from embedding import augmented_pictures, save_vit_b_32  # noqa: E402  (benchmarks/embedding.py, beside this file)

RESULTS_DIR = Path(__file__).resolve().parent / "results"
GOAL = 1.2  # Ray with 2 workers, start-up excluded, at most this many times the single process
COYO = 747_000_000


def pictures_folder(work: Path, copies: int) -> Path:
    folder = work / "pictures"
    (folder / "quiz").mkdir(parents=True)
    for path in image_files(QUIZ_IMAGE_DIR):
        (folder / "quiz" / path.name).write_bytes(path.read_bytes())
    augmented_pictures(image_files(QUIZ_IMAGE_DIR), copies, folder / "copies")
    return folder


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def same_answers(first: Path, second: Path, queries) -> bool:
    a, b = PictureIndex.open(first), PictureIndex.open(second)
    return a.names == b.names and [[n for n, _ in r] for r in a.search(queries, 10)] == [
        [n for n, _ in r] for r in b.search(queries, 10)
    ]


def benchmark(args, work: Path) -> dict:
    os.environ["MMEMBED_CACHE"] = str(work / "cache")  # empty: every path embeds every picture
    model_folder = str(save_vit_b_32(work / "vit-b-32"))
    folder = pictures_folder(work, args.large)
    count = len(list(folder.rglob("*.*")))
    print(f"{count} pictures, ViT-B/32 architecture (random weights), fp32, {os.cpu_count()} cores")

    model, processor = mmembed.load_clip(model_folder, device="cpu")
    single, single_seconds = timed(build_index, folder, work / "single", model, processor, precision="fp32")
    print(f"  single process     {single_seconds:7.1f} s  ({single.computed} embedded)")

    started = time.perf_counter()
    logs = start_local_cluster(work / "ray")
    startup = time.perf_counter() - started
    print(f"  ray start-up       {startup:7.1f} s  (a local cluster of {os.cpu_count()} CPUs, once)")
    rows = {}
    for workers in (1, 2):
        output = work / f"ray-{workers}"
        report = build_index_with_ray(folder, output, model_folder, workers=workers, precision="fp32")
        rows[workers] = report.embedding_seconds
        print(f"  ray, {workers} worker(s)    {report.embedding_seconds:7.1f} s  ({report.index.computed} embedded)")
    import ray

    ray.shutdown()

    queries = mmembed.embed_texts(["a dog", "a red car", "a bowl of fruit", "a person on a bicycle"], model, processor)
    per_worker = count / rows[2] / 2  # pictures per second per worker, worker start included
    return {
        "pictures": count,
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
        "seconds": {"single": single_seconds, "ray_startup": startup, "ray_1": rows[1], "ray_2": rows[2]},
        "ratio_ray_2_to_single": rows[2] / single_seconds,
        "goal": GOAL,
        "same_top_10": {w: same_answers(work / "single", work / f"ray-{w}", queries) for w in (1, 2)},
        "per_worker_pictures_per_second": per_worker,
        "arithmetic": {str(n): {"coyo_700m_days": COYO / (per_worker * n) / 86400} for n in (1, 10, 100, 1000)},
        "ray_logs": str(logs),
    }


def markdown(results: dict) -> str:
    s = results["seconds"]
    lines = [
        f"{results['pictures']} pictures, ViT-B/32 architecture, fp32, {results['cores']} cores; load average at the "
        f"end {' / '.join(f'{v:.1f}' for v in results['load_average'])}.",
        "",
        "| path | seconds | vs single process |",
        "| --- | --- | --- |",
        f"| single process | {s['single']:.1f} | 1.00x |",
        f"| Ray, 1 worker (2 CPUs) | {s['ray_1']:.1f} | {s['ray_1'] / s['single']:.2f}x |",
        f"| Ray, 2 workers (1 CPU each) | {s['ray_2']:.1f} | {s['ray_2'] / s['single']:.2f}x |",
        f"| Ray cluster start-up (once, not in the rows above) | {s['ray_startup']:.1f} | |",
        "",
        f"Goal: Ray with 2 workers at most {results['goal']}x the single process: "
        f"{results['ratio_ray_2_to_single']:.2f}x. Same top-10 as the single process: {results['same_top_10']}.",
        f"Per worker (2-worker run, its start included): {results['per_worker_pictures_per_second']:.1f} pictures/s.",
        "Arithmetic, not a run: COYO-700M (747 M pictures) on N machines with one such worker each: "
        + ", ".join(f"N={n}: {v['coyo_700m_days']:,.0f} days" for n, v in results["arithmetic"].items()),
    ]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--large", type=int, default=2000, help="augmented copies besides the 200 quiz pictures")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    transformers_logging.disable_progress_bar()
    with tempfile.TemporaryDirectory(prefix="mmembed-scale-") as work:
        results = benchmark(args, Path(work))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "index_scale.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print()
    print(markdown(results))


if __name__ == "__main__":
    main()
