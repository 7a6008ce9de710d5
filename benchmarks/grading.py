"""How much grading costs, measured side by side in one run (ratios hold across machines).

    python benchmarks/grading.py [--students 6] [--repeats 3] [--output benchmarks/results/grading.json]

1. One student in class mode (`python -m autograder CLASS --jobs 1`, the seconds grades.csv gives that student)
   against the student's own `python quiz_search.py` on the same machine, with `mini` and with the ViT-B/32
   architecture (random weights: speed does not depend on their values). Goal: at most 1.3x. Grading runs each
   step in its own fork of a child that imported torch and loaded the model once; main() and the separate
   load_images and embed_images steps each do their work again, which is what the goal allows for. The peak
   memory of the student's cgroup is reported too (shared memory and tmpfs included).
2. A class graded with `--jobs 2` against `--jobs 1` (mini). Goal: at least 1.7x on 2 cores.
3. What the bubblewrap sandbox adds to starting one child (`python -c pass` with and without it). Goal: < 0.3 s.
4. As root: the peak memory of one Gradescope run of a correct submission with `mini`, in the emulated container
   of `python -m autograder gradescope --check` (768 MB, one CPU, Docker's capabilities): the container's cgroup
   peak, and its two parts, the student's child (its cgroup) and the grader's own resident memory. Goal: the
   container at most 512 MB.
"""

import argparse
import csv
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SOLUTION = REPO_ROOT / "solutions" / "quiz_search.py"


def vit_b32_folder(folder: Path) -> Path:
    """The real ViT-B/32 CLIP architecture with random weights, and the real CLIP tokenizer and preprocessing."""
    from transformers import CLIPConfig, CLIPModel

    import mmembed

    _, processor = mmembed.load_clip("tiny", device="cpu")  # the real CLIP tokenizer, 224-pixel preprocessing
    CLIPModel(CLIPConfig()).save_pretrained(folder)
    processor.save_pretrained(folder)
    for path in folder.iterdir():  # save_pretrained writes the weights as 0600; the sandbox's user must read them
        path.chmod(0o644)
    return folder


def own_run(model_dir: Path, repeats: int) -> float:
    """Median wall-clock seconds of `python quiz_search.py`, as a student runs it."""
    env = {**os.environ, "MMEMBED_MODEL": str(model_dir), "TQDM_DISABLE": "1", "HF_HUB_OFFLINE": "1"}
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, str(SOLUTION)], env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def grade_class(model_dir: Path, students: int, jobs: int, workdir: Path) -> tuple[float, list[float], list[int]]:
    """(seconds for the class, each student's seconds, each student's peak memory in MB) for a class of copies of
    the solution."""
    folder = workdir / f"class-{jobs}-{students}"
    shutil.rmtree(folder, ignore_errors=True)
    for i in range(students):
        (folder / "submissions" / f"student_{i:02d}").mkdir(parents=True)
        shutil.copy(SOLUTION, folder / "submissions" / f"student_{i:02d}" / "quiz_search.py")
    command = [sys.executable, "-m", "autograder", str(folder / "submissions"), "--results", str(folder / "results")]
    command += ["--jobs", str(jobs), "--model", str(model_dir), "--timeout", "900"]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    seconds = float(re.search(r"submissions in (\d+(?:\.\d+)?) s", result.stdout).group(1))
    with open(folder / "results" / "grades.csv", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert all(row["score"] == row["max_score"] for row in rows), rows
    peaks = [
        json.loads((folder / "results" / f"{row['student']}.json").read_text())["extra_data"]["memory_peak_mb"]
        for row in rows
    ]
    return seconds, [float(row["seconds"]) for row in rows], peaks


def sandbox_cost(repeats: int) -> dict:
    """Seconds to start and end `python -c pass`, plain and in the sandbox (median of `repeats`)."""
    from autograder.sandbox import bubblewrap

    def timed(command):
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    plain = timed([sys.executable, "-E", "-s", "-c", "pass"])
    if not bubblewrap.status().available:
        return {"plain_s": plain, "sandbox_s": None, "reason": bubblewrap.status().reason}
    uid = 1_900_000_123 if os.geteuid() == 0 else None
    mounts = bubblewrap.Mounts(read_only=bubblewrap.python_paths())
    wrapped = bubblewrap.command([sys.executable, "-E", "-s", "-c", "pass"], mounts, env={}, uid=uid)
    sandboxed = timed(wrapped)
    return {"plain_s": plain, "sandbox_s": sandboxed, "added_s": sandboxed - plain}


def gradescope_memory(workdir: Path, torch_index_url: str) -> dict | None:
    """Build the Gradescope bundle, set it up as Gradescope does and grade the solution once (a few minutes).
    None when this is not root (Gradescope's setup.sh and the emulation need it)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return None
    from autograder.gradescope import build_bundle
    from autograder.gradescope_check import GRADESCOPE_MEMORY_MB, Image

    build_bundle(workdir / "autograder.zip")
    folder = Path(tempfile.mkdtemp(prefix="gradescope-bench-", dir="/var/tmp"))  # every user may enter it
    try:
        image = Image.build(workdir / "autograder.zip", folder, torch_index_url)
        run = image.run(SOLUTION.read_text(encoding="utf-8"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    extra = run.results["extra_data"]
    return {
        "container_limit_mb": GRADESCOPE_MEMORY_MB,
        "container_peak_mb": run.container_peak_mb,
        "child_peak_mb": extra["memory_peak_mb"],
        "grader_peak_mb": extra["grader_peak_mb"],
        "score": run.results["score"],
        "seconds": round(run.seconds, 1),
    }


def hardware() -> dict:
    import torch

    return {
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cuda": torch.cuda.is_available(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=6, help="class size for the --jobs comparison")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "grading.json")
    parser.add_argument(
        "--torch-index-url",
        default="https://download.pytorch.org/whl/cpu",
        help="where the Gradescope setup finds PyTorch ('' for pip's own configuration)",
    )
    parser.add_argument("--no-gradescope", action="store_true", help="skip the Gradescope run (4.)")
    args = parser.parse_args(argv)
    import mmembed

    report = {"hardware": hardware(), "per_student": {}, "jobs": {}}
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        workdir = Path(tmp)
        models = {"mini": Path(mmembed.course_model("mini")), "vit-b32": vit_b32_folder(workdir / "vit-b32")}
        for name, model_dir in models.items():
            alone = own_run(model_dir, args.repeats)
            _, per_student, peaks = grade_class(model_dir, args.repeats, 1, workdir)
            graded = statistics.median(per_student)
            report["per_student"][name] = {
                "own_run_s": alone,
                "graded_s": graded,
                "ratio": graded / alone,
                "peak_memory_mb": max(peaks),
            }
        one, _, _ = grade_class(models["mini"], args.students, 1, workdir)
        two, _, _ = grade_class(models["mini"], args.students, 2, workdir)
        report["jobs"] = {"students": args.students, "jobs_1_s": one, "jobs_2_s": two, "speedup": one / two}
        if not args.no_gradescope:
            report["gradescope"] = gradescope_memory(workdir, args.torch_index_url)
    report["sandbox"] = sandbox_cost(max(5, args.repeats * 3))

    print(f"hardware: {report['hardware']}")
    print(f"{'model':<10}{'own run (s)':>14}{'graded (s)':>14}{'ratio':>9}{'peak (MB)':>11}   goal <= 1.3")
    for name, row in report["per_student"].items():
        print(
            f"{name:<10}{row['own_run_s']:>14.1f}{row['graded_s']:>14.1f}{row['ratio']:>8.2f}x"
            f"{row['peak_memory_mb']:>11}"
        )
    jobs = report["jobs"]
    print(
        f"class of {jobs['students']}: --jobs 1 {jobs['jobs_1_s']:.0f} s, --jobs 2 {jobs['jobs_2_s']:.0f} s, "
        f"speed-up {jobs['speedup']:.2f}x   goal >= 1.7"
    )
    box = report["sandbox"]
    if box["sandbox_s"] is not None:
        print(
            f"sandbox: python -c pass {box['plain_s']:.3f} s plain, {box['sandbox_s']:.3f} s in bwrap "
            f"(+{box['added_s']:.3f} s)   goal < 0.3 s"
        )
    if report.get("gradescope"):
        run = report["gradescope"]
        print(
            f"gradescope (mini, {run['score']}/12): container peak {run['container_peak_mb']} MB of "
            f"{run['container_limit_mb']} MB (child {run['child_peak_mb']} MB, grader {run['grader_peak_mb']} MB)"
            "   goal <= 512 MB"
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"-> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
