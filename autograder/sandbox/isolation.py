"""A user id of its own for each child, when the grader is root (CI, a grading server, Gradescope). Linux only.

Under that uid the child cannot write the repository or the grader's files, cannot signal the grader, and
afterwards `kill_all(uid)` reaches every process it started, even one that left the process group with setsid().

The drop keeps **no** capability, so it works wherever root may change its uid: in Docker's default capability set
(which has CAP_SETUID and CAP_SETGID, not CAP_SYS_ADMIN or CAP_DAC_READ_SEARCH), on Gradescope, on GitLab's Docker
runners. The bounding set is emptied where CAP_SETPCAP allows it, and `no_new_privs` is set in any case, so no
set-uid program or file capability can give anything back. What follows from it:
- the child reads only what every user may read: its Python and packages must be world-readable and outside any
  0700 home (a pyenv under /root is not; Gradescope's setup.sh builds its virtual environment where it is);
- the grader reads what the child must not see (the reference, the hidden queries) before any child starts, and
  those files stay closed to others (gradescope.close_to_others);
- the child's folder (runner.stage) is the grader's, made enterable by others.
"""

import ctypes
import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path

PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
LINUX_CAPABILITY_VERSION_3 = 0x20080522
MAX_PROCESSES = 256  # per child uid: processes and threads together (a fork bomb stops here)
LAUNCH_FAILED = 126  # a child's exit code when it could not become its uid (the shell's "cannot execute")

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


def _last_capability() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as file:
            return int(file.read())
    except (OSError, ValueError):
        return 40


def become(uid: int, limit_processes: bool = True) -> None:
    """In a forked child before exec: switch to `uid` with no capability at all (as `setpriv --reuid=UID
    --regid=UID --clear-groups --inh-caps=-all --bounding-set=-all`, plus no_new_privs)."""
    import resource

    if limit_processes:
        resource.setrlimit(resource.RLIMIT_NPROC, (MAX_PROCESSES, MAX_PROCESSES))
    for capability in range(_last_capability() + 1):  # needs CAP_SETPCAP (Docker grants it); no_new_privs suffices
        if _libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            break
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)  # from root without PR_SET_KEEPCAPS: permitted, effective and ambient sets are cleared
    header = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    nothing = (_CapData * 2)(_CapData(0, 0, 0), _CapData(0, 0, 0))
    _check(_libc.capset(ctypes.byref(header), nothing), "capset")  # the inheritable set too
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")


def unreadable_for_others(path: Path) -> Path | None:
    """What keeps a throwaway uid from reading `path`: the first folder on the way that others cannot enter, or
    `path` itself if others cannot read it; None when they can. A child needs its Python, its packages and its
    script readable so (a pyenv under a 0700 /root is not)."""
    path = path.resolve()
    for folder in reversed(path.parents):
        if not folder.stat().st_mode & stat.S_IXOTH:
            return folder
    return None if path.stat().st_mode & stat.S_IROTH else path


def _launch_failed(error: BaseException) -> None:
    """Between fork and exec: say why on the child's stderr (the grader's log shows it) and exit, never run on."""
    try:
        os.write(2, f"autograder: could not start the child as its own user: {error!r}\n".encode())
    finally:
        os._exit(LAUNCH_FAILED)


def processes_of(uid: int) -> int:
    """How many processes and threads `uid` runs now: RLIMIT_NPROC counts all of them, not only a child's."""
    count = 0
    try:
        entries = [entry for entry in os.scandir("/proc") if entry.name.isdigit()]
    except OSError:
        return 0
    for entry in entries:
        try:
            if entry.stat().st_uid != uid:
                continue
            with open(f"/proc/{entry.name}/status") as status:
                count += next((int(line.split()[1]) for line in status if line.startswith("Threads:")), 1)
        except (OSError, ValueError):
            continue  # it ended meanwhile
    return count


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
            try:
                become(uid)
            except BaseException as error:  # an exception here would reach the grader as a bare SubprocessError
                _launch_failed(error)

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
