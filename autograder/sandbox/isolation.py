"""A user id of its own for each child, when the grader runs as root (CI, a grading server). Linux only.

Under that uid the child cannot write the repository or the grader's files, cannot signal the grader, and
afterwards `kill_all(uid)` reaches every process it started, even one that left the process group with setsid().
The child keeps one capability, CAP_DAC_READ_SEARCH: it may *read* any file, because the Python it runs
on and the course's models may live where only root can enter (e.g. /root/.pyenv); reading is what a child
running as the grader's own user could do anyway.
"""

import ctypes
import os
import secrets
import subprocess
import sys

CAP_DAC_READ_SEARCH = 2
PR_SET_KEEPCAPS = 8
PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE = 47, 2
LINUX_CAPABILITY_VERSION_3 = 0x20080522
MAX_PROCESSES = 256  # per child uid: processes and threads together (a fork bomb stops here)

_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def available() -> bool:
    return _libc is not None and os.geteuid() == 0


def throwaway_uid() -> int:
    """A uid no account uses (far above any real one), fresh for each child."""
    return 1_900_000_000 + secrets.randbelow(100_000_000)


def _check(result: int, what: str) -> None:
    if result != 0:
        raise OSError(ctypes.get_errno(), f"{what} failed")


def become(uid: int, limit_processes: bool = True) -> None:
    """In a forked child before exec: switch to `uid`, keeping only CAP_DAC_READ_SEARCH across the exec."""
    import resource

    if limit_processes:
        resource.setrlimit(resource.RLIMIT_NPROC, (MAX_PROCESSES, MAX_PROCESSES))
    _check(_libc.prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), "prctl(PR_SET_KEEPCAPS)")
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    header = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    keep = 1 << CAP_DAC_READ_SEARCH
    data = (_CapData * 2)(_CapData(keep, keep, keep), _CapData(0, 0, 0))
    _check(_libc.capset(ctypes.byref(header), data), "capset")
    _check(_libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_DAC_READ_SEARCH, 0, 0), "prctl(PR_CAP_AMBIENT)")


def processes_of(uid: int) -> int:
    """How many processes `uid` runs now: RLIMIT_NPROC counts all of them, not only a child's."""
    try:
        return sum(1 for entry in os.scandir("/proc") if entry.name.isdigit() and entry.stat().st_uid == uid)
    except OSError:
        return 0


def limits(memory_bytes: int, processes: int | None = None, uid: int | None = None):
    """A preexec_fn: address space, no core files, no file over 1 GB, at most `processes`; then `uid` if given."""

    def apply():  # runs in the new process between fork and exec
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (2**30, 2**30))
        if processes is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
        if uid is not None:
            become(uid)

    return apply


def kill_all(uid: int) -> None:
    """SIGKILL every process running as `uid`: kill(-1) from that uid reaches all of them, and only them.

    The killer sets no process limit of its own: exec fails for a uid over its limit, as after a fork bomb.
    """
    subprocess.run(
        [sys.executable, "-I", "-S", "-c", "import os, signal; os.kill(-1, signal.SIGKILL)"],
        preexec_fn=lambda: become(uid, limit_processes=False),
        env={},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
