"""Grade one submission: read it safely, run each step in its own forked child, score the data in the grader.

Each step gets only its own inputs, and none of them reveals an answer: the texts to embed, the picture folder,
or, for search_top1, the reference embeddings turned by a random rotation (which keeps every dot product and
cosine, so the top-1 is the same) and shuffled under random names. The reference values stay here.

The steps whose inputs are hidden (main() runs with a hidden QUERY, the hidden texts, their searches) run apart
from the public ones, so what a public step printed or raised can be shown to the student, and nothing from a
hidden step ever is (checks.py).

The status says how grading went, for the instructor's grades.csv:
"ok", "timeout" (a step hit the time limit), "crashed" (a child died or could not import the file),
"out of memory", "protocol" (a child sent something no honest step sends), "no file" (nothing to grade),
"refused" (a link, empty, binary, not UTF-8, over 1 MB), "no sandbox" (see sandbox/bubblewrap.status()); the class
loop adds "grader error" and "not graded" (classroom.py).
"""

import functools
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import config, rules, runner
from .checks import CheckResult, Received, enforce_rule, failed, score_all
from .reference import Reference
from .sandbox import cgroups
from .submission import read_submission

# main() first: the student's own program, as they run it. The hidden-input searches last.
STEPS = ["main", "load_images", "embed_images", "embed_text", "embed_text_hidden", "search_top1", "search_top1_hidden"]
# A hang in main() inside one of these functions is a hang of that function's steps too: they are not run again.
STEPS_OF_FUNCTION = {
    "load_images": ["load_images"],
    "embed_images": ["embed_images"],
    "embed_text": ["embed_text", "embed_text_hidden"],
    "search_top1": ["search_top1", "search_top1_hidden"],
}
# Ways a step ends that happen where the code was: blamed on the function main() was in. (A protocol breach is
# the step's alone: the forged message was written wherever the code chose.)
DIED_IN_A_FUNCTION = {"timeout", "crashed", "out of memory"}
MAX_STARTS = 3  # fork servers per student: a step that ends its fork server costs a new one (3-4 s)
# Worst first: the one status a student's row shows when several steps went wrong.
STATUS_ORDER = ["protocol", "out of memory", "timeout", "too much output", "crashed", "stopped"]


@dataclass
class Graded:
    checks: list[CheckResult]
    status: str
    seconds: float
    log: list[str] = field(default_factory=list)  # for the instructor (what went wrong in which child)
    memory_peak_bytes: int = 0  # the most one child's cgroup held (0 without cgroups)
    cpu_seconds: float = 0.0  # CPU time of all the student's processes (0 without cgroups)

    @property
    def score(self) -> int:
        return sum(check.score for check in self.checks)


@dataclass
class Limits:
    timeout: float = config.DEFAULT_TIMEOUT
    memory_gb: float = config.DEFAULT_MEMORY_GB
    threads: int = 1
    timeout_reason: str = ""  # why the limit is what it is, for the feedback

    @classmethod
    def for_reference(cls, ref: Reference, timeout: float | None, memory_gb: float = config.DEFAULT_MEMORY_GB):
        """`timeout` if given, else max(30 s, 10 x the reference pipeline measured on this machine)."""
        if timeout is not None:
            return cls(timeout, memory_gb, timeout_reason="(채점자가 --timeout으로 정한 값입니다.)")
        seconds = max(config.MIN_TIMEOUT, config.TIMEOUT_FACTOR * ref.seconds)
        reason = (
            f"(기준 풀이가 이 컴퓨터에서 {ref.seconds:.1f}초 걸렸습니다. 제한은 그 {config.TIMEOUT_FACTOR}배와 "
            f"{config.MIN_TIMEOUT}초 중 큰 값입니다. 무한 루프나 너무 느린 코드가 없는지 확인하세요.)"
        )
        return cls(round(seconds), memory_gb, timeout_reason=reason)


def all_failed(message: str) -> list[CheckResult]:
    return [failed(name, message) for name in config.POINTS]


_ROTATION_LOCK = threading.Lock()


def random_rotation() -> tuple[np.ndarray, np.ndarray]:
    """One per grading run: three random permutations and three random sign vectors (see `rotate`).

    The grading threads ask for it at once when a class starts. Without the lock, two first calls could each draw
    their own, and one student's pictures and texts be turned by different maps: a right answer graded wrong."""
    with _ROTATION_LOCK:
        return _draw_rotation()


@functools.cache
def _draw_rotation() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(secrets.randbits(64))
    permutations = np.stack([rng.permutation(config.EMBED_DIM) for _ in range(3)])
    signs = rng.choice([-1.0, 1.0], size=(3, config.EMBED_DIM))
    return permutations, signs


def hadamard(x: np.ndarray) -> np.ndarray:
    """The normalised Walsh-Hadamard transform of each row (length a power of two): orthogonal, in elementwise
    steps."""
    rows, n = x.shape
    half = 1
    while half < n:
        pairs = x.reshape(rows, n // (2 * half), 2, half)
        x = np.stack((pairs[:, :, 0] + pairs[:, :, 1], pairs[:, :, 0] - pairs[:, :, 1]), axis=2).reshape(rows, n)
        half *= 2
    return x / np.sqrt(n)


def rotate(embeddings: np.ndarray) -> np.ndarray:
    """Turn every row by this run's random orthogonal map: permute, flip signs, mix all coordinates (Hadamard),
    three times. Every dot product and cosine is kept; no value is. Elementwise NumPy, no BLAS: the grading
    threads run it at once (two threads in OpenBLAS's QR hung the grader), and no torch is needed for it."""
    x = embeddings.astype(np.float64)
    for permutation, sign in zip(*random_rotation()):
        x = hadamard(x[:, permutation] * sign)
    return x.astype(np.float32)


def search_inputs(ref: Reference, rows: list[int], rng: np.random.Generator):
    """Inputs for search_top1 on the text rows `rows`: the pictures shuffled under random names, and every
    embedding turned (`rotate`). Returns (arrays, names, name -> real file name)."""
    order = rng.permutation(len(ref.names))
    names = [f"img_{secrets.token_hex(4)}.JPEG" for _ in order]
    arrays = {"images.npy": rotate(ref.image_embeddings[order]), "texts.npy": rotate(ref.text_embeddings[rows])}
    return arrays, names, {name: ref.names[i] for name, i in zip(names, order)}


def step_inputs(ref: Reference, main_query: int) -> dict:
    """step -> (job, arrays, number of texts, name map for search answers)."""
    public, hidden = [0], list(range(1, len(ref.queries)))
    inputs = {
        "main": ({"query": ref.queries[main_query]}, {}, 0, {}),
        "load_images": ({}, {}, 0, {}),
        "embed_images": ({}, {}, 0, {}),
        "embed_text": ({"queries": [ref.queries[0]]}, {}, 1, {}),
        "embed_text_hidden": ({"queries": [ref.queries[i] for i in hidden]}, {}, len(hidden), {}),
    }
    rng = np.random.default_rng(secrets.randbits(64))
    for step, rows in (("search_top1", public), ("search_top1_hidden", hidden)):
        arrays, names, to_name = search_inputs(ref, rows, rng)
        inputs[step] = ({"names": names}, arrays, len(rows), to_name)
    return inputs


def why(status: str, limits: Limits, where: str) -> str:
    if status == "timeout":
        because = f" {limits.timeout_reason}" if limits.timeout_reason else ""
        if not cgroups.support().available:
            return f"{where} 시간 제한({limits.timeout:g}초)을 넘겨 중단했습니다.{because}"
        wall = runner.WALL_FACTOR * limits.timeout
        counted = f"{limits.timeout:g}초, 계산한 CPU 시간 기준; 기다리기만 해도 {wall:g}초에서 멈춤"
        return f"{where} 시간 제한({counted})을 넘겨 중단했습니다.{because}"
    if status == "too much output":
        return f"{where} 채점기로 보낸 데이터가 너무 많아 중단했습니다."
    if status == "out of memory":
        return f"{where} 메모리 제한({limits.memory_gb:g}GB)을 넘겨 중단했습니다."
    if status == "protocol":
        return f"{where} 채점기로 보낸 데이터의 형식이 잘못되어 이 단계는 0점입니다."
    return f"{where} 프로세스가 끝나 버렸습니다 ({status}; sys.exit, os._exit, 메모리 부족 등)."


@dataclass
class Used:
    """What a student's children used, from their cgroups."""

    memory_peak_bytes: int = 0
    cpu_seconds: float = 0.0

    def add(self, memory_peak_bytes: int, cpu_seconds: float) -> None:
        self.memory_peak_bytes = max(self.memory_peak_bytes, memory_peak_bytes)
        self.cpu_seconds += cpu_seconds


def run_steps(staged: Path, inputs: dict, model_dir: Path, limits: Limits, sandboxed: bool):
    """Run every step, each in its own fork; a child that crashed, hung or misbehaved is replaced by a fresh one
    for the steps left. Returns (received step data, missing step -> why, log, statuses, Used, step -> when it
    called an mmembed helper)."""
    data, missing, log, statuses, server, starts = {}, {}, [], [], None, 0
    used, helper_calls = Used(), {}
    try:
        for step in STEPS:
            if step in missing:
                continue
            if server is None or not server.alive:
                if server is not None:
                    used.add(*server.release())
                if starts == MAX_STARTS:  # honest code never ends the fork server itself: this one keeps doing it
                    reason = f"채점 프로세스가 {MAX_STARTS}번 끝나 버려서 이 단계를 검사하지 못했습니다 (os.kill 등)."
                    missing.update({s: reason for s in STEPS if s not in data and s not in missing})
                    break
                starts += 1
                server = runner.ForkServer(staged, model_dir, limits.threads, limits.memory_gb, sandboxed)
                started = server.start(limits.timeout)
                if started.status != "ok":
                    statuses.append(started.status)
                    log.append(started.detail)
                    missing.update({s: why(started.status, limits, "채점 준비 중") for s in STEPS if s not in data})
                    break
            job, arrays, queries, _ = inputs[step]
            run = server.run(step, job, arrays, limits.timeout, queries)
            if run.helper_calls:
                helper_calls[step] = run.helper_calls
            if run.status == "ok" and run.data.result.get("during") == "import":
                reason = f"과제 파일을 불러올 때 오류가 났습니다: {run.data.result.get('error', '')}"
                missing.update({s: reason for s in STEPS if s not in data})
                statuses.append("crashed")
                break
            if run.status == "ok":
                data[step] = run.data
                continue
            statuses.append(run.status)
            log.append(run.detail)
            if not run.imported:  # it would hang or die the same way in every step
                where = "과제 파일을 불러오는 중"
                missing.update({s: why(run.status, limits, where) for s in STEPS if s not in data})
                break
            where = f"{step}을(를) 실행하는 중"
            blamed = [step]
            if step == "main" and run.function in STEPS_OF_FUNCTION and run.status in DIED_IN_A_FUNCTION:
                blamed += STEPS_OF_FUNCTION[run.function]
                where = f"main()이 부른 {run.function}을(를) 실행하는 중"
            missing.update({s: why(run.status, limits, where) for s in blamed})
    finally:
        if server is not None:
            used.add(*server.release())
    return data, missing, log, statuses, used, helper_calls


def helper_uses(in_code: set[str], helper_calls: dict) -> dict[str, str]:
    """The rule of quizzes 3-6, from both witnesses: the source (rules.functions_using_helpers) and the child's
    guard (helper_calls: step -> when). Returns graded function, or "import" for all of them -> how it was found
    ("code", "run" or "import"); the source is named first, as it is the surer witness."""
    found = {}
    if rules.IMPORT in in_code or any("import" in when for when in helper_calls.values()):
        found["import"] = "import"
    found.update((function, "code") for function in rules.GRADED if function in in_code)
    for step, when in helper_calls.items():
        if "step" in when:
            found.setdefault(step.removesuffix("_hidden"), "run")
    return found


def helper_log(in_code: set[str], helper_calls: dict) -> list[str]:
    """What each witness saw, for the instructor."""
    lines = []
    if in_code:
        lines.append(f"mmembed helpers in the code of: {', '.join(sorted(in_code))}")
    if helper_calls:
        steps = [f"{step} ({'/'.join(sorted(when))})" for step, when in helper_calls.items()]
        lines.append(f"mmembed helpers called at run time in: {', '.join(steps)}")
    return lines


def overall(statuses: list[str]) -> str:
    for status in STATUS_ORDER:
        if status in statuses:
            return status
    return "ok"


def grade_submission(path: Path, ref: Reference, limits: Limits | None = None, sandboxed: bool = False) -> Graded:
    """Grade one quiz_search.py. Never raises for anything the submission does."""
    limits = limits or Limits()
    started = time.monotonic()
    submission = read_submission(path)
    if submission.text is None:
        return Graded(all_failed(submission.problem + " 0점입니다."), submission.status, time.monotonic() - started)
    staged = runner.stage(submission.text)
    try:
        main_query = 1 + secrets.randbelow(len(ref.queries) - 1)  # main() runs with a hidden query as QUERY
        inputs = step_inputs(ref, main_query)
        data, missing, log, statuses, used, helper_calls = run_steps(staged, inputs, ref.model_dir, limits, sandboxed)
        to_name = {step: inputs[step][3] for step in ("search_top1", "search_top1_hidden")}
        in_code = rules.functions_using_helpers(submission.text)
        found = helper_uses(in_code, helper_calls)
        checks = enforce_rule(score_all(Received(data, missing, to_name, main_query), ref), found)
        log += helper_log(in_code, helper_calls)
        seconds = time.monotonic() - started
        return Graded(checks, overall(statuses), seconds, log, used.memory_peak_bytes, used.cpu_seconds)
    finally:
        runner.remove(staged)
