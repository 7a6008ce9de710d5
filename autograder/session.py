"""Getting ready to grade: one path for `python -m autograder` and for Gradescope's run, so the two cannot drift.

A session decides how student code will be contained (the bubblewrap sandbox, a cgroup per child), computes the
reference with the grading model, checks that a sandboxed child can read that model, and sets the limits. Any
reason not to grade is a `SessionError` with one English line for the instructor; nothing is graded then.
"""

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import config, runner
from .grade import Limits
from .reference import Reference, compute_reference
from .sandbox import bubblewrap, cgroups, cores, isolation


class SessionError(RuntimeError):
    """Why grading cannot start (English, one line)."""


@dataclass
class Session:
    ref: Reference
    limits: Limits
    sandboxed: bool
    note: str  # Korean, for every student's feedback: how this grading differed from the full guarantees


def say(line: str) -> None:
    print(f"[autograder] {line}", file=sys.stderr)


def sandbox_line(require_sandbox: bool) -> bool:
    """True when student code runs in the bubblewrap sandbox; says how it is contained, in one line."""
    choice = bubblewrap.choose(require_sandbox)
    reason = bubblewrap.status().reason
    if choice is bubblewrap.Choice.REFUSED:
        raise SessionError(f"--require-sandbox: no sandbox here ({reason}); not grading")
    if choice is bubblewrap.Choice.SANDBOX:
        print("[autograder] sandbox: bubblewrap (read-only files, no network, private /tmp, own PID namespace)")
        return True
    say(
        f"NO SANDBOX ({reason}): falling back to separate processes with limits"
        " (student code can read this machine's files and use the network; see README, 'Autograder limits')"
    )
    return False


def limits_line(require_limits: bool) -> bool:
    """True when each child gets a cgroup; says which limits apply, in one line."""
    support = cgroups.support()
    if support.available:
        say(f"limits: a cgroup v{support.version} per student (memory incl. shared memory, processes, CPU time)")
        return True
    if require_limits:
        raise SessionError(f"--require-limits: no cgroups here ({support.reason}); not grading")
    say(f"NO CGROUPS ({support.reason}): rlimits and a wall-clock time limit only (see README, 'Autograder limits')")
    return False


def python_unreadable_in_fallback(sandboxed: bool) -> str | None:
    """Why a throwaway uid could not run the child without the sandbox (as root, each child is one), or None:
    said once, instead of every student crashing."""
    if sandboxed or os.geteuid() != 0:
        return None
    for needed in (Path(sys.executable), Path(sys.prefix), config.CHILD_SCRIPT):
        blocked = isolation.unreadable_for_others(needed)
        if blocked is not None:
            return (
                f"without the sandbox, student code runs as a throwaway user, who cannot read {blocked} "
                f"(needed for {needed}); install Python and the course where every user may read them"
            )
    return None


def open_session(
    model: str = config.GRADING_MODEL,
    timeout: float | None = None,
    memory_gb: float = config.DEFAULT_MEMORY_GB,
    require_sandbox: bool = False,
    require_limits: bool = False,
    reference: Callable[[str], Reference] = compute_reference,
) -> Session:
    """`reference` computes the right answers with the grading model (Gradescope does it in a process of its own,
    to give the memory back before students run)."""
    sandboxed = sandbox_line(require_sandbox)
    limited = limits_line(require_limits)
    unrunnable = python_unreadable_in_fallback(sandboxed)
    if unrunnable:
        raise SessionError(unrunnable)
    try:
        ref = reference(model)
    except Exception as error:
        raise SessionError(f"cannot compute the reference with model {model!r}: {error}") from error
    unreadable = runner.model_unreadable_in_sandbox(ref.model_dir, sandboxed)
    if unreadable:
        raise SessionError(unreadable)
    limits = Limits.for_reference(ref, timeout, memory_gb)
    limits.threads = cores.available_cores()
    notes = []
    if not sandboxed:
        notes.append("샌드박스 없이 채점했습니다 (채점 환경에서 bubblewrap을 쓸 수 없음).")
    if not limited:
        notes.append("학생별 자원 제한(cgroup) 없이 채점했습니다.")
    return Session(ref, limits, sandboxed, " ".join(notes))
