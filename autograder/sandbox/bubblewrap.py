"""The sandbox both graders run student code in: bubblewrap (`bwrap`, the sandbox Flatpak uses).

Inside it, student code sees a read-only filesystem holding only what it needs (the system's /usr, Python and
its packages, `mmembed`, the grading model, the pictures, its own submission), and nothing else of the machine:
no solutions, no nbgrader source or gradebook, no other student, no grader code or working files. It has

- no network (a network namespace of its own, with nothing in it but a loopback device);
- a private, size-limited HOME, /tmp, /var/tmp and /dev/shm (tmpfs), gone when the run ends;
- its own PID namespace, with `--die-with-parent`: when the run ends or the grader dies, every process it
  started ends too, detached or not;
- when the grader is root, a throwaway user id of its own (dropped to with `setpriv` after bwrap has mounted
  everything), so the kernel's limits on processes apply to it alone.

Where bubblewrap cannot run (not installed, not Linux, no user namespaces for an ordinary user), `status()` says
why, and each grader falls back to the isolation it had before (see the README, "Autograder limits").
"""

import enum
import functools
import os
import shutil
import site
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

CAP_SYS_ADMIN = 21
TMPFS_BYTES = 256 * 2**20  # HOME, /tmp, /var/tmp: RAM, so they are small
SHM_BYTES = 64 * 2**20
HOME = "/home/student"
# Top-level system folders, bound read-only (or recreated as the symlinks they are on merged-/usr systems).
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Files of /etc that programs read to start (the dynamic linker's cache, fonts, time zone); nothing secret.
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "fonts", "localtime", "nsswitch.conf")


@dataclass
class Status:
    available: bool
    reason: str  # why not, in English, for the grader's one line; "" when available


@dataclass
class Mounts:
    """What the sandbox shows: host paths, bound at the same path read-only (or read-write), plus single files
    bound read-only at a path of the sandbox's own (`files`: sandbox path -> host path)."""

    read_only: list[Path] = field(default_factory=list)
    read_write: list[Path] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)


def python_paths() -> list[Path]:
    """The Python that runs the grader and its packages: the interpreter's prefix, the virtual environment, and
    any site folder outside both (an editable install's source is bound separately, by what it needs)."""
    paths = [Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), Path(sys.executable).resolve().parent]
    for folder in [*site.getsitepackages(), *sys.path]:
        if folder and ("site-packages" in folder or "dist-packages" in folder) and Path(folder).is_dir():
            paths.append(Path(folder).resolve())
    return _outermost(paths)


def _outermost(paths: list[Path]) -> list[Path]:
    """Paths without those inside another of them."""
    kept = []
    for path in sorted(set(paths), key=lambda p: (len(p.parts), str(p))):
        if not any(path.is_relative_to(other) for other in kept):
            kept.append(path)
    return kept


def _parents(paths) -> list[str]:
    """Every folder above the mount points, so each can be made with mode 0755 (bwrap's own are 0700)."""
    parents = set()
    for path in paths:
        for parent in Path(path).parents:
            if str(parent) != "/":
                parents.add(str(parent))
    return sorted(parents, key=lambda p: (p.count("/"), p))


def _capable(capability: int) -> bool:
    """Whether this process holds `capability` in its effective set (/proc/self/status, CapEff)."""
    try:
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith("CapEff:"))
        return bool(int(line.split()[1], 16) >> capability & 1)
    except (OSError, StopIteration, ValueError):
        return False


def needs_user_namespace() -> bool:
    """Whether bwrap must make a user namespace to mount: as an ordinary user, and as root without CAP_SYS_ADMIN
    (Docker's default capabilities, Gradescope). There root maps only itself, so the sandbox's processes run as
    `uid` inside and as root outside: the kernel's per-user process limit then counts every root process."""
    return os.geteuid() != 0 or not _capable(CAP_SYS_ADMIN)


def command(argv: list[str], mounts: Mounts, env: dict[str, str], cwd: str = HOME, uid: int | None = None) -> list[str]:
    """The bwrap command line that runs `argv` in the sandbox (with `uid`: as that user, when the grader is root)."""
    args = ["bwrap", "--die-with-parent", "--new-session", "--clearenv"]
    args += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    userns = needs_user_namespace()
    if userns:  # an ordinary user needs a user namespace to mount anything; root keeps its real uid
        args += ["--unshare-user", "--disable-userns"]  # (to drop to `uid`), which a user namespace would not map
    for folder in SYSTEM_DIRS:
        if os.path.islink(folder):
            args += ["--symlink", os.readlink(folder), folder]
        elif os.path.isdir(folder):
            args += ["--ro-bind", folder, folder]

    # The private folders first: a bind below one of them (a virtual environment in /tmp) goes on top.
    args += ["--proc", "/proc", "--dev", "/dev"]
    for folder, size in (("/tmp", TMPFS_BYTES), ("/var/tmp", TMPFS_BYTES), ("/dev/shm", SHM_BYTES)):
        args += ["--perms", "1777", "--size", str(size), "--tmpfs", folder]
    args += ["--perms", "0755", "--dir", "/home", "--perms", "0777", "--size", str(TMPFS_BYTES), "--tmpfs", HOME]

    etc = [f"/etc/{name}" for name in ETC_FILES if os.path.lexists(f"/etc/{name}")]
    read_only = _outermost([Path(p) for p in mounts.read_only])
    read_write = [Path(p) for p in mounts.read_write]
    for parent in _parents([*etc, *map(str, read_only), *map(str, read_write), *mounts.files]):
        args += ["--perms", "0755", "--dir", parent]
    for path in etc:
        args += ["--ro-bind", path, path]
    for path in read_only:
        args += ["--ro-bind", str(path), str(path)]
    for path in read_write:
        args += ["--bind", str(path), str(path)]
    for target, source in mounts.files.items():
        args += ["--ro-bind", str(source), target]

    for key, value in {"HOME": HOME, "TMPDIR": "/tmp", **env}.items():
        args += ["--setenv", key, value]
    args += ["--chdir", cwd]
    if uid is not None and userns:  # root without CAP_SYS_ADMIN: `uid` inside, root's uid outside (the only one
        args += ["--uid", str(uid), "--gid", str(uid), "--", *argv]  # a user namespace maps), with no capability
    elif uid is not None:
        setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
        drop = [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"]
        args += ["--", *drop, "--", *argv]
    else:
        args += ["--", *argv]
    return args


def with_args_fd(args: list[str]) -> tuple[list[str], list[int]]:
    """`bwrap --args FD -- COMMAND` for a bwrap command line: the options (every bind, with its host path) go
    through a memfd instead of the command line, which every process in the sandbox can read as pid 1's. Only
    the command stays (bwrap takes it from its own command line). Returns (argv, fds to pass); the caller closes
    the fds once the process has started."""
    end = args.index("--")
    fd = os.memfd_create("bwrap-args", 0)
    os.write(fd, b"".join(arg.encode() + b"\0" for arg in args[1:end]))
    os.lseek(fd, 0, os.SEEK_SET)
    return [args[0], "--args", str(fd), *args[end:]], [fd]


@functools.cache
def status() -> Status:
    """Can bubblewrap run here? Tried once per process, with the same kind of command the graders use."""
    if not sys.platform.startswith("linux"):
        return Status(False, f"bubblewrap needs Linux (this is {sys.platform})")
    if shutil.which("bwrap") is None:
        return Status(False, "bwrap is not installed (Debian/Ubuntu: apt install bubblewrap)")
    uid = 65534 if os.geteuid() == 0 else None
    if uid is not None and shutil.which("setpriv") is None:
        return Status(False, "setpriv (util-linux) is not installed")
    probe = command(["/bin/sh", "-c", "exit 0"], Mounts(), env={}, cwd="/", uid=uid)
    try:
        result = subprocess.run(probe, capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as error:
        return Status(False, f"bwrap did not run: {error}")
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]
        return Status(False, f"bwrap cannot make a sandbox here ({last}; user namespaces may be disabled)")
    return Status(True, "")


class Choice(enum.Enum):
    """How a grader contains student code, as `choose` decides it (the grader says which, in one line)."""

    SANDBOX = "bubblewrap"
    FALLBACK = "separate processes with limits"  # bubblewrap cannot run here, and nobody required it
    REFUSED = "no sandbox, and one is required"  # --require-sandbox where bubblewrap cannot run: grade nobody


def choose(required: bool) -> Choice:
    """The sandbox where bubblewrap runs; otherwise the fallback, or a refusal when the sandbox is `required`.
    Why bubblewrap cannot run is `status().reason`."""
    if status().available:
        return Choice.SANDBOX
    return Choice.REFUSED if required else Choice.FALLBACK
