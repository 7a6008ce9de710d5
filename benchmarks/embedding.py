"""How fast mmembed embeds pictures, measured against the limit: the model's forward pass on its own.

    python benchmarks/embedding.py                 # ViT-B/32 architecture, 200 quiz + 2,000 augmented pictures
    python benchmarks/embedding.py --large 0       # the 200 quiz pictures only
    python benchmarks/embedding.py --model mini    # any mmembed.load_clip name instead of ViT-B/32
    python benchmarks/embedding.py --repeats 3     # on a busy machine: each path 3 times, interleaved, best kept

Everything is measured in one run, side by side, so the ratios carry over to other machines:

    loop                 the original lecture: one processor call and one forward pass per picture (fp32)
    serial               batches of 32, each prepared, then embedded (embed_images before the overlap; fp32)
    embed_images         mmembed.embed_images: the next batch is prepared while the model embeds this one (fp32)
    forward              THE LIMIT: the forward pass alone, on pixel batches of 32 prepared beforehand (fp32)
    forward bf16         the same under bf16 autocast (measured only where the hardware has native bf16)
    embed_images auto    mmembed.embed_images(precision="auto")
    embed_folder cold    mmembed.embed_folder(precision="auto") with an empty cache: reading, hashing, decoding
    embed_folder warm    the same again in a fresh process (its start-up and model load are not counted)

The larger set (the quiz pictures flipped, cropped, turned and recoloured into distinct pictures) measures the
paths that scale: forward at auto precision, embed_folder cold and warm. ViT-B/32 has random weights: the speed
of a forward pass does not depend on their values. Writes results/embedding.json and results/embedding.png.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import torch
from PIL import ImageEnhance, ImageOps
from transformers.utils import logging as transformers_logging

import mmembed
from mmembed.cache import embed_folder
from mmembed.images import image_files
from mmembed.paths import QUIZ_IMAGE_DIR
from mmembed.precision import autocast, describe_hardware, native_bf16, resolve_precision

RESULTS_DIR = Path(__file__).resolve().parent / "results"
VIT_B_32 = "vit-b-32"
BATCH = 32


# ---- the model and the pictures ----


def save_vit_b_32(folder: Path) -> Path:
    """The ViT-B/32 CLIP architecture (transformers' CLIPConfig defaults) with seeded random weights, saved as a
    model folder with the real CLIP preprocessing and tokenizer (the offline "tiny" model's), so load_clip and
    the cache treat it like any downloaded model."""
    from transformers import CLIPConfig, CLIPModel

    torch.manual_seed(0)
    CLIPModel(CLIPConfig()).save_pretrained(folder)
    mmembed.load_clip("tiny", device="cpu")[1].save_pretrained(folder)
    return folder


def augmented_pictures(sources: list[Path], count: int, folder: Path) -> Path:
    """`count` distinct pictures made from `sources` (flipped, cropped, turned, recoloured), saved as JPEG."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        picture = mmembed.load_image(sources[i % len(sources)])
        variant = i // len(sources)
        if variant % 2:
            picture = ImageOps.mirror(picture)
        width, height = picture.size
        margin = 0.02 * (variant % 5)
        picture = picture.crop((margin * width, margin * height, (1 - margin) * width, (1 - margin) * height))
        picture = picture.rotate(3 * ((variant % 7) - 3), expand=False, fillcolor=(255, 255, 255))
        picture = ImageEnhance.Color(picture).enhance(0.7 + 0.06 * (variant % 10))
        picture.save(folder / f"aug_{i}.jpg", quality=90)
    return folder


# ---- the paths ----


def timed(function, *args, **kwargs) -> float:
    started = time.perf_counter()
    function(*args, **kwargs)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - started


def pixel_batches(images, processor, device) -> list[torch.Tensor]:
    return [
        processor(images=images[i : i + BATCH], return_tensors="pt")["pixel_values"].to(device)
        for i in range(0, len(images), BATCH)
    ]


def forward_only(model, batches, precision):
    with torch.inference_mode(), autocast(precision, batches[0].device):
        for pixels in batches:
            model.get_image_features(pixel_values=pixels)


def original_loop(model, processor, images):
    with torch.no_grad():
        for image in images:
            model.get_image_features(**processor(images=image, return_tensors="pt").to(model.device))


def serial_batches(model, processor, images):
    with torch.inference_mode():
        for start in range(0, len(images), BATCH):
            pixels = processor(images=images[start : start + BATCH], return_tensors="pt")["pixel_values"]
            model.get_image_features(pixel_values=pixels.to(model.device))


def warm_up(model, processor, images, precisions, batch_sizes):
    """oneDNN builds its kernels on the first call of each shape and precision; do that before timing."""
    for size in sorted(set(batch_sizes)):
        pixels = pixel_batches(images[:size], processor, model.device)
        for precision in precisions:
            forward_only(model, pixels, precision)


def warm_in_fresh_process(model_source: str, folder: Path, cache: Path, device: str) -> dict:
    """embed_folder in a new Python process whose cache is already filled; only the call itself is timed."""
    command = [sys.executable, __file__, "--warm-child", str(folder), "--model", model_source, "--cache", str(cache)]
    done = subprocess.run([*command, "--device", device], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def warm_child(folder: str, model_source: str, cache: str, device: str) -> None:
    model, processor = mmembed.load_clip(model_source, device=device)
    started = time.perf_counter()
    result = embed_folder(folder, model, processor, cache=Path(cache), precision="auto", progress=False)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "computed": result.computed, "cached": result.cached}))


# ---- one run ----


class Run:
    """The measurements of one run: tables of rows, each row a path with the seconds of every round."""

    def __init__(self, repeats: int):
        self.repeats = repeats
        self.started = time.perf_counter()
        self.rows: dict[str, list[dict]] = {}
        self.phases: dict[str, list[float]] = {}  # wall seconds of the set-up, each round, the larger set
        self.phase_started = self.started

    def end_phase(self, name: str) -> None:
        now = time.perf_counter()
        self.phases.setdefault(name, []).append(now - self.phase_started)
        self.phase_started = now

    def measure(self, table: str, path: str, precision: str, step, note: str = "") -> None:
        seconds = step()
        if isinstance(seconds, dict):  # a child process's report
            seconds, note = seconds["seconds"], f"{seconds['computed']} embedded, {seconds['cached']} from the cache"
        rows = self.rows.setdefault(table, [])
        row = next((r for r in rows if r["path"] == path), None)
        if row is None:
            row = {"path": path, "precision": precision, "seconds": [], "note": note}
            rows.append(row)
        row["seconds"].append(seconds)
        print(f"  [{time.perf_counter() - self.started:4.0f} s] {table:<14} {path:<18} {seconds:8.2f} s  {note}")


def best(row) -> float:
    return min(row["seconds"])


def first_pictures(count: int, folder: Path) -> Path:
    """The first `count` quiz pictures, copied into `folder` (the whole quiz folder when count is 200)."""
    files = image_files(QUIZ_IMAGE_DIR)
    if count >= len(files):
        return QUIZ_IMAGE_DIR
    folder.mkdir()
    for path in files[:count]:
        (folder / path.name).write_bytes(path.read_bytes())
    return folder


def benchmark(args, work: Path) -> dict:
    run = Run(args.repeats)
    device = args.device
    auto = resolve_precision("auto", device)
    precisions = ["fp32", "bf16"] if native_bf16(device) else ["fp32"]
    if args.model == VIT_B_32:
        model_source, label = str(save_vit_b_32(work / "vit-b-32")), "ViT-B/32 architecture (random weights)"
    else:
        model_source, label = args.model, args.model
    model, processor = mmembed.load_clip(model_source, device=device)
    model.mmembed_name = label
    quiz = first_pictures(args.pictures, work / "quiz")
    images, _ = mmembed.load_images(quiz)
    table = f"{len(images)} pictures"
    print(f"{label}, {table}, auto precision = {auto}; {describe_hardware()}")
    warm_up(model, processor, images, precisions, [1, BATCH, len(images) % BATCH or BATCH])
    run.end_phase("set-up")

    batches = []
    prepare = partial(timed, lambda: batches.extend(pixel_batches(images, processor, device)))
    run.measure(table, "preprocess only", "-", prepare, "the processor, batches of 32")
    embed_images = partial(timed, mmembed.embed_images, images, model, processor, progress=False)
    for round_ in range(args.repeats):
        run.measure(table, "loop", "fp32", partial(timed, original_loop, model, processor, images))
        run.measure(table, "serial", "fp32", partial(timed, serial_batches, model, processor, images))
        run.measure(table, "embed_images", "fp32", partial(embed_images, precision="fp32"))
        run.measure(table, "forward", "fp32", partial(timed, forward_only, model, batches, "fp32"), "the limit")
        if "bf16" in precisions:
            run.measure(table, "forward bf16", "bf16", partial(timed, forward_only, model, batches, "bf16"))
        run.measure(table, "embed_images auto", auto, partial(embed_images, precision="auto"))
        measure_cache(run, table, auto, model, processor, model_source, quiz, work / f"cache-{round_}", device)
        run.end_phase("round")

    if args.large:
        large = augmented_pictures(image_files(QUIZ_IMAGE_DIR), args.large, work / "large")
        table = f"{args.large} pictures"
        large_batches = pixel_batches(mmembed.load_images(large)[0], processor, device)
        warm_up(model, processor, images, [auto], [len(large_batches[-1])])
        run.measure(table, "forward", auto, partial(timed, forward_only, model, large_batches, auto), "the limit")
        del large_batches  # 1.2 GB for 2,000 pictures
        measure_cache(run, table, auto, model, processor, model_source, large, work / "cache-large", device)
        run.end_phase("larger set")

    return summarise(run, label, auto)


def measure_cache(run, table, auto, model, processor, model_source, folder, cache, device):
    cold = partial(timed, embed_folder, folder, model, processor, cache=cache, precision="auto", progress=False)
    run.measure(table, "embed_folder cold", auto, cold, "empty cache")
    run.measure(table, "embed_folder warm", auto, partial(warm_in_fresh_process, model_source, folder, cache, device))


def cpu_seconds() -> float:
    """CPU time of this process (all its threads) and its finished children: on a busy machine the wall time
    grows while this stays about the same."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def summarise(run: Run, label: str, auto: str) -> dict:
    tables = {}
    for table, rows in run.rows.items():
        limit = next(best(r) for r in rows if r["path"] == "forward")
        tables[table] = [
            {**row, "best": best(row), "vs_forward": best(row) / limit if row["path"] != "preprocess only" else None}
            for row in rows
        ]
    quiz_rows = {row["path"]: row["best"] for row in next(iter(tables.values()))}
    ratios = {
        "embed_images / forward (fp32)": quiz_rows["embed_images"] / quiz_rows["forward"],
        "serial / forward (fp32)": quiz_rows["serial"] / quiz_rows["forward"],
        "loop / forward (fp32)": quiz_rows["loop"] / quiz_rows["forward"],
        "embed_images fp32 / embed_images auto": quiz_rows["embed_images"] / quiz_rows["embed_images auto"],
    }
    for table, rows in tables.items():
        seconds = {row["path"]: row["best"] for row in rows}
        ratios[f"embed_folder cold / warm ({table})"] = seconds["embed_folder cold"] / seconds["embed_folder warm"]
    # A run with --repeats 1 does exactly the set-up, the first round and the larger set: its time, measured here
    # even when more rounds ran.
    one_round = sum(seconds[0] for seconds in run.phases.values())
    return {
        "model": label,
        "auto_precision": auto,
        "hardware": describe_hardware(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "repeats": run.repeats,
        "seconds_total": time.perf_counter() - run.started,
        "seconds_with_one_round": one_round,
        "seconds_phases": run.phases,
        "cpu_seconds": cpu_seconds(),
        "tables": tables,
        "ratios": ratios,
    }


# ---- reporting ----


def markdown(results: dict) -> str:
    hardware = results["hardware"]
    bf16 = ", ".join(hardware["cpu_bf16"]) or "none"
    lines = [
        f"{results['model']}; {hardware['cpu']}, {hardware['cores']} cores, {hardware['torch_threads']} torch threads, "
        f"CPU capability {hardware['cpu_capability']}, native bf16: {bf16}, GPU: {hardware['gpu'] or 'none'}; "
        f"torch {hardware['torch']}; best of {results['repeats']}; load average at the end "
        f"{' / '.join(f'{v:.1f}' for v in results['load_average'] or [])}.",
    ]
    if "seconds_with_one_round" in results:  # results written before these were recorded lack them
        lines.append(
            f"Took {results['seconds_total']:.0f} s ({results['cpu_seconds']:.0f} CPU seconds); with --repeats 1 it "
            f"would have taken {results['seconds_with_one_round']:.0f} s (set-up, first round, larger set as timed)."
        )
    for table, rows in results["tables"].items():
        limit = next(row for row in rows if row["path"] == "forward")
        lines += [
            "",
            f"| {table} | precision | seconds | vs forward-only ({limit['precision']}) | |",
            "| --- | --- | --- | --- | --- |",
        ]
        for row in rows:
            ratio = f"{row['vs_forward']:.2f}x" if row["vs_forward"] is not None else ""
            lines.append(f"| {row['path']} | {row['precision']} | {row['best']:.2f} | {ratio} | {row['note']} |")
    lines += ["", *(f"- {name}: {value:.2f}" for name, value in results["ratios"].items())]
    return "\n".join(lines)


def bar_chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tables = {table: [r for r in rows if r["vs_forward"] is not None] for table, rows in results["tables"].items()}
    heights = [len(rows) for rows in tables.values()]
    figure, axes = plt.subplots(
        len(tables),
        1,
        figsize=(8, 1.5 * len(tables) + 0.4 * sum(heights)),
        squeeze=False,
        gridspec_kw={"height_ratios": heights},
    )
    for axis, (table, rows) in zip(axes[:, 0], tables.items()):
        labels = [f"{row['path']} ({row['precision']})" for row in rows]
        seconds = [row["best"] for row in rows]
        colours = ["tab:red" if row["path"] == "forward" else "tab:blue" for row in rows]
        axis.barh(labels, seconds, color=colours)
        axis.invert_yaxis()
        for y, row in enumerate(rows):
            axis.text(row["best"], y, f" {row['best']:.2f} s ({row['vs_forward']:.2f}x)", va="center", fontsize=8)
        axis.set_xlim(0, max(seconds) * 1.35)
        axis.set_title(f"{results['model']}, {table} (red: forward-only, the limit)", fontsize=10)
        axis.set_xlabel("seconds (lower is faster)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=VIT_B_32, help=f"{VIT_B_32} (default) or a load_clip name")
    parser.add_argument("--pictures", type=int, default=200, help="how many quiz pictures (default: all 200)")
    parser.add_argument("--large", type=int, default=2000, help="size of the larger set; 0 skips it (default 2000)")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of the quiz-set paths; the best is kept")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="folder for embedding.json and .png")
    parser.add_argument("--device", default=str(mmembed.pick_device()), help="default: cuda if available, else cpu")
    parser.add_argument("--warm-child", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    transformers_logging.disable_progress_bar()  # "Loading weights" bars would break up the table
    if args.warm_child:
        return warm_child(args.warm_child, args.model, args.cache, args.device)

    with tempfile.TemporaryDirectory(prefix="mmembed-benchmark-") as work:
        results = benchmark(args, Path(work))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "embedding.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    bar_chart(results, args.out / "embedding.png")
    print()
    print(markdown(results))
    print(f"\nWrote {args.out / 'embedding.json'} and {args.out / 'embedding.png'} in {results['seconds_total']:.0f} s")


if __name__ == "__main__":
    main()
