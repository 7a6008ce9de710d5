"""Grade one submission: stage it, run the child (again after a crash, for the steps left), score what came back."""

import json
import secrets
import shutil
from pathlib import Path

import numpy as np

from . import config, sandbox
from .checks import Received, score_all
from .reference import Reference

STEPS = ["load_images", "embed_images", "embed_text", "search_top1", "main"]
MAX_JSON_BYTES = 1_000_000


def read_json(path: Path):
    """A dict from the child, or None (missing, too big, not JSON, not a dict)."""
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def search_inputs(io_dir: Path, ref: Reference):
    """The reference embeddings in a random order under random names; returns (names, name -> real filename)."""
    order = np.random.default_rng(secrets.randbits(64)).permutation(len(ref.names))
    names = [f"img_{secrets.token_hex(4)}.JPEG" for _ in order]
    np.save(io_dir / "search_images.npy", ref.image_embeddings[order])
    np.save(io_dir / "search_texts.npy", ref.text_embeddings)
    return names, {name: ref.names[i] for name, i in zip(names, order)}


def why(status: str, timeout: float, where: str) -> str:
    if status == "timeout":
        return f"{where} 시간 제한({timeout:g}초)을 넘겨 중단했습니다"
    return f"{where} 프로세스가 끝나 버렸습니다 ({status}; sys.exit, os._exit, 메모리 부족 등)"


def run_steps(workdir: Path, job: dict, timeout: float, memory_gb: float):
    """Run the steps, starting a new child after a crash; a timeout ends the run. Returns (steps, missing)."""
    io_dir = workdir / "io"
    steps, missing, remaining = {}, {}, list(STEPS)
    while remaining:
        (io_dir / "import.json").unlink(missing_ok=True)
        status = sandbox.run_child(workdir, {**job, "steps": remaining}, timeout, memory_gb)
        imported = read_json(io_dir / "import.json")
        if imported is None or imported.get("error"):
            reason = (
                f"과제 파일을 불러올 때 오류가 났습니다: {str(imported['error'])[:500]}"
                if imported
                else why(status, timeout, "과제 파일을 불러오는 중")
            )
            missing.update({step: reason for step in remaining})
            break
        done = {step: read_json(io_dir / f"{step}.json") for step in remaining}
        steps.update({step: data for step, data in done.items() if data is not None})
        unfinished = [step for step in remaining if done[step] is None]
        if not unfinished:
            break
        culprit = unfinished[0]
        missing[culprit] = why(status, timeout, f"{culprit}을(를) 실행하는 중")
        later = remaining[remaining.index(culprit) + 1 :]
        if status == "timeout":
            missing.update({step: "앞 검사가 시간 제한을 넘겨 실행하지 않았습니다" for step in later})
            break
        remaining = later
    return steps, missing


def grade_submission(
    submission: Path, ref: Reference, timeout=config.DEFAULT_TIMEOUT, memory_gb=config.DEFAULT_MEMORY_GB, threads=1
) -> list[tuple[str, int, str]]:
    """[(check, score, output)] for one quiz_search.py."""
    workdir = sandbox.stage(submission)
    try:
        names, to_name = search_inputs(workdir / "io", ref)
        main_query = 1 + secrets.randbelow(len(ref.queries) - 1)  # main() runs with a hidden query as QUERY
        job = {
            "submission": str(workdir / "submission" / "quiz_search.py"),
            "image_dir": str(workdir / "images" / "quiz-image"),
            "model": ref.model_name,
            "queries": ref.queries,
            "search_names": names,
            "threads": threads,
            "main_query": main_query,
        }
        steps, missing = run_steps(workdir, job, timeout, memory_gb)
        return score_all(Received(workdir / "io", steps, missing, names, to_name, main_query), ref)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
