"""Grade one submission: read it safely, run the child (again after a crash, for the steps left), score the data.

The status says how grading went, for the instructor's grades.csv:
"ok", "timeout" (a step hit the time limit), "crashed" (the child died or could not import the file),
"no file" (nothing to grade), "refused" (a link, empty, binary, not UTF-8, over 1 MB),
"no sandbox" (the class was graded without the sandbox, see bubblewrap.status()).
"""

import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import config, runner
from .checks import CheckResult, Received, failed, score_all
from .reference import Reference
from .submission import read_submission

# main() first: the child records the calls main() makes, and the later steps reuse what they can (child.py).
STEPS = ["main", "load_images", "embed_images", "embed_text", "search_top1"]
STEP_OF_FUNCTION = {
    "load_images": "load_images",
    "embed_images": "embed_images",
    "embed_text": "embed_text",
    "search_top1": "search_top1",
}


@dataclass
class Graded:
    checks: list[CheckResult]
    status: str
    seconds: float
    log: list[str] = field(default_factory=list)  # for the instructor (stderr tails of crashed children)

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


def search_inputs(ref: Reference):
    """The reference embeddings in a random order under random names: (arrays for the child, names, name -> file)."""
    order = np.random.default_rng(secrets.randbits(64)).permutation(len(ref.names))
    names = [f"img_{secrets.token_hex(4)}.JPEG" for _ in order]
    arrays = {"search_images": ref.image_embeddings[order], "search_texts": ref.text_embeddings}
    return arrays, names, {name: ref.names[i] for name, i in zip(names, order)}


def why(status: str, limits: Limits, where: str) -> str:
    if status == "timeout":
        because = f" {limits.timeout_reason}" if limits.timeout_reason else ""
        return f"{where} 시간 제한({limits.timeout:g}초)을 넘겨 중단했습니다.{because}"
    if status == "too much output":
        return f"{where} 채점기로 보낸 데이터가 너무 많아 중단했습니다"
    return f"{where} 프로세스가 끝나 버렸습니다 ({status}; sys.exit, os._exit, 메모리 부족 등)"


def run_steps(staged: Path, job: dict, inputs: dict, model_dir: Path, limits: Limits, sandboxed: bool):
    """Run the steps, starting a new child for the steps left after a crash or a hang. Returns
    (messages, missing, log, status). The step that was running is blamed, and so is the function it was in:
    a hang in search_top1 while main() runs costs main() and search_top1, once."""
    messages, missing, log, remaining, trouble = {}, {}, [], list(STEPS), None
    while remaining:
        run = runner.run_child(
            staged, {**job, "steps": remaining}, inputs, model_dir, limits.timeout, limits.memory_gb, sandboxed
        )
        if run.status != "ok" and run.stderr.strip():
            log.append(f"child {run.status}: ...{run.stderr[-1500:]}")
        imported = run.messages.get("import")
        if not isinstance(imported, dict) or imported.get("error"):
            reason = (
                f"과제 파일을 불러올 때 오류가 났습니다: {str(imported['error'])[:500]}"
                if isinstance(imported, dict)
                else why(run.status, limits, "과제 파일을 불러오는 중")
            )
            missing.update({step: reason for step in remaining})
            return messages, missing, log, "timeout" if run.status == "timeout" else "crashed"
        messages.update({name: value for name, value in run.messages.items() if name != "running"})
        unfinished = [step for step in remaining if not isinstance(run.messages.get(step), dict)]
        if not unfinished:
            break
        trouble = "timeout" if run.status == "timeout" or trouble == "timeout" else "crashed"
        running = run.messages.get("running") if isinstance(run.messages.get("running"), dict) else {}
        culprit = running.get("step") if running.get("step") in unfinished else unfinished[0]
        blamed = {culprit}
        function = running.get("function")
        where = f"{culprit}을(를) 실행하는 중"
        if culprit == "main" and function in STEP_OF_FUNCTION:
            blamed.add(STEP_OF_FUNCTION[function])
            where = f"main()이 부른 {function}을(를) 실행하는 중"
        for step in blamed:
            missing[step] = why(run.status, limits, where)
        remaining = [step for step in unfinished if step not in blamed]
    return messages, missing, log, trouble or ("ok" if run.status == "ok" else "crashed")


def grade_submission(path: Path, ref: Reference, limits: Limits | None = None, sandboxed: bool = False) -> Graded:
    """Grade one quiz_search.py. Never raises for anything the submission does."""
    limits = limits or Limits()
    started = time.monotonic()
    submission = read_submission(path)
    if submission.text is None:
        return Graded(all_failed(submission.problem + " 0점입니다."), submission.status, time.monotonic() - started)
    staged = runner.stage(submission.text)
    try:
        inputs, names, to_name = search_inputs(ref)
        inputs["reference_means"] = ref.means.astype(np.float64)
        main_query = 1 + secrets.randbelow(len(ref.queries) - 1)  # main() runs with a hidden query as QUERY
        job = {"queries": ref.queries, "search_names": names, "threads": limits.threads, "main_query": main_query}
        messages, missing, log, status = run_steps(staged, job, inputs, ref.model_dir, limits, sandboxed)
        checks = score_all(Received(messages, missing, to_name, main_query), ref)
        return Graded(checks, status, time.monotonic() - started, log)
    finally:
        runner.remove(staged)
