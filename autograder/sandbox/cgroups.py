"""A control group for each sandboxed child: what rlimits cannot see. Linux only.

RLIMIT_AS counts a process's address space, so memory held outside it escapes: pages written to a memfd, /dev/shm
or a tmpfs and never mapped. A cgroup is charged for them too; it stops a fork storm at pids.max whatever uid
forks, caps CPU use at the child's share of the cores, and adds up the CPU time of every process that ran in it,
so the time limit can count the child's own CPU time (a neighbour's load never times an honest student out).

Both versions work: v2 (one unified hierarchy, most current servers) and v1 (a hierarchy per controller). Groups
go under our *own* cgroup in each hierarchy (/proc/self/cgroup), never the root: a container or a service manager
gave us that subtree.

    with ChildGroup.create(memory_bytes=2 << 30, processes=256, cpus=1) as group:
        child = subprocess.Popen(command, preexec_fn=group.preexec)  # joins the group before exec, still root
        ...  # group.cpu_seconds(), group.oom_kills()
    # leaving the block kills whatever is left in the group and removes it
"""

import atexit
import contextlib
import errno
import functools
import itertools
import os
import signal
import time
from dataclasses import dataclass

NEEDED = ("memory", "pids", "cpu", "cpuacct")  # v1 hierarchies; in v2, cpu.stat has cpuacct's counters
V2_NEEDED = ("memory", "pids", "cpu")
HOST_LEAF = "autograder-host"  # v2: our own processes move here so that our cgroup may enable controllers
CPU_PERIOD_US = 100_000
_counter = itertools.count(1)
_parents: set[str] = set()


@dataclass(frozen=True)
class Support:
    available: bool
    version: int | None  # 1 or 2
    reason: str  # why not, one line; "" when available


class CgroupError(RuntimeError):
    """A child's cgroup could not be made or set up."""


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)  # one write(2): a cgroup file takes one value per write
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def read_text(path: str) -> str:
    """A cgroup file's text, "" when it is not there (the group is gone, or this kernel has no such file)."""
    try:
        with open(path) as file:
            return file.read().strip()
    except OSError:
        return ""


def _field(path: str, key: str) -> int:
    """The number after `key` in a flat-keyed cgroup file ("oom_kill 2"), 0 if there is none."""
    return next((int(line.split()[1]) for line in read_text(path).splitlines() if line.startswith(key + " ")), 0)


def own_directories() -> dict[str, str]:
    """The directory of our own cgroup in each mounted hierarchy: by v1 controller name, and "" for v2."""
    ours = {}
    for line in read_text("/proc/self/cgroup").splitlines():
        _, controllers, path = line.split(":", 2)
        ours.update((name, path) for name in controllers.split(","))
    directories = {}
    for line in read_text("/proc/self/mountinfo").splitlines():
        fields, _, tail = line.partition(" - ")
        fstype, *_, options = tail.split()
        root, point = fields.split()[3:5]
        for name in [""] if fstype == "cgroup2" else options.split(",") if fstype == "cgroup" else []:
            if name in ours and name not in directories:
                path = ours[name].removeprefix(root)  # a container may see its own cgroup as the mount's root
                directories[name] = os.path.normpath(os.path.join(point, path.lstrip("/")))
    return directories


def _v2_bases(own: dict[str, str]) -> dict[str, str]:
    """Our v2 cgroup, once it lets children use memory, pids and cpu."""
    base = own.get("", "/nonexistent")
    if os.path.basename(base) == HOST_LEAF:  # started after an earlier grader moved our processes
        base = os.path.dirname(base)
    missing = set(V2_NEEDED) - set(read_text(f"{base}/cgroup.controllers").split())
    if missing:
        raise CgroupError(f"no {', '.join(sorted(missing))} controller")
    if set(V2_NEEDED) - set(read_text(f"{base}/cgroup.subtree_control").split()):
        _enable_controllers(base)
    return dict.fromkeys(NEEDED, base)


def _enable_controllers(base: str) -> None:
    wanted = " ".join(f"+{name}" for name in V2_NEEDED)
    try:
        _write(f"{base}/cgroup.subtree_control", wanted)
        return
    except OSError as error:
        if error.errno != errno.EBUSY:
            raise
    # "No internal processes": a cgroup that holds processes (the root excepted) cannot give its children
    # controllers, so every process of ours moves into a leaf first.
    os.makedirs(f"{base}/{HOST_LEAF}", exist_ok=True)
    for _ in range(10):  # one may fork while we move the others
        for pid in read_text(f"{base}/cgroup.procs").split():
            with contextlib.suppress(ProcessLookupError):
                _write(f"{base}/{HOST_LEAF}/cgroup.procs", pid)
    _write(f"{base}/cgroup.subtree_control", wanted)


def _v1_bases(own: dict[str, str]) -> dict[str, str]:
    missing = [name for name in NEEDED if name not in own]
    if missing:
        raise CgroupError(f"no {', '.join(missing)} hierarchy")
    return {name: own[name] for name in NEEDED}


def _why(error: Exception) -> str:
    if isinstance(error, PermissionError) and os.geteuid() != 0:
        return "not root"
    return "read-only /sys/fs/cgroup" if getattr(error, "errno", None) == errno.EROFS else str(error)


@functools.cache
def _probe() -> tuple[Support, dict[str, str]]:
    """Support, and our cgroup in each hierarchy, where children's groups go: tried by making one."""
    own = own_directories()
    if not own:
        return Support(False, None, "no cgroup controllers"), {}
    reasons = {}
    for version, bases in ((2, _v2_bases), (1, _v1_bases)):
        try:
            layout = bases(own)
            ChildGroup._create(version, layout, 64 << 20, 8, 1.0).remove()
            return Support(True, version, ""), layout
        except (OSError, CgroupError) as error:
            reasons[version] = _why(error)
    if "not root" in reasons.values():  # the one thing to fix
        return Support(False, None, "not root"), {}
    why = reasons[1] if reasons[1] == reasons[2] else f"cgroup v2: {reasons[2]}; cgroup v1: {reasons[1]}"
    return Support(False, None, why), {}


def support() -> Support:
    """Whether children can have cgroups here, and which version."""
    return _probe()[0]


def _make_parent(directory: str, version: int) -> None:
    """The grader's own group, which holds its children's groups and goes when the grader exits."""
    if directory not in _parents:
        os.makedirs(directory, exist_ok=True)
        if version == 2:
            _write(f"{directory}/cgroup.subtree_control", " ".join(f"+{name}" for name in V2_NEEDED))
        _parents.add(directory)
        atexit.register(_rmdir, directory, tries=1)  # fails harmlessly while a child's group is still in it


def _rmdir(directory: str, tries: int) -> None:
    for _ in range(tries):  # a v1 memory group can stay busy for a moment after its last process
        try:
            return os.rmdir(directory)
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)


class ChildGroup:
    """One child's cgroup: a directory in each v1 hierarchy, or one directory in v2."""

    def __init__(self, version: int, directories: dict[str, str]):
        self.version = version
        self.directories = directories  # by controller
        self._unique = sorted(set(directories.values()))
        # What preexec writes, computed now: after fork it should only open, write and close.
        self._joins = [(os.fsencode(f"{d}/cgroup.procs"), b"0") for d in self._unique]  # "0": the writing process
        self._joins.append((b"/proc/self/oom_score_adj", b"1000"))  # the OOM killer picks the child, not the grader

    @classmethod
    def create(cls, memory_bytes: int, processes: int, cpus: float) -> "ChildGroup":
        """A fresh group that holds at most `memory_bytes`, `processes` processes and threads, and `cpus` cores."""
        status, layout = _probe()
        if not status.available:
            raise CgroupError(f"cgroups unavailable: {status.reason}")
        return cls._create(status.version, layout, memory_bytes, processes, cpus)

    @classmethod
    def _create(cls, version: int, layout: dict[str, str], memory_bytes: int, processes: int, cpus: float):
        parents = {controller: f"{base}/mmembed-autograder-{os.getpid()}" for controller, base in layout.items()}
        for parent in set(parents.values()):
            _make_parent(parent, version)
        name = f"child-{os.getpid()}-{next(_counter)}"
        group = cls(version, {controller: f"{parent}/{name}" for controller, parent in parents.items()})
        group.remove()  # a group of this name can only be left over by a dead grader that had our pid
        try:
            for directory in group._unique:
                os.mkdir(directory)
            group._limit(memory_bytes, processes, max(1000, round(cpus * CPU_PERIOD_US)))
        except OSError as error:
            group.remove()
            raise CgroupError(f"cannot set up {group._unique[0]}: {error}") from error
        return group

    def _limit(self, memory_bytes: int, processes: int, quota_us: int) -> None:
        if self.version == 2:
            self._set("memory", "memory.max", memory_bytes)
            self._set("memory", "memory.swap.max", 0, optional=True)  # absent without swap accounting
            self._set("cpu", "cpu.max", f"{quota_us} {CPU_PERIOD_US}")
        else:
            self._set("memory", "memory.limit_in_bytes", memory_bytes)
            self._set("memory", "memory.memsw.limit_in_bytes", memory_bytes, optional=True)  # memory + swap
            self._set("cpu", "cpu.cfs_period_us", CPU_PERIOD_US)
            self._set("cpu", "cpu.cfs_quota_us", quota_us)
        self._set("pids", "pids.max", processes)

    def _set(self, controller: str, name: str, value, optional: bool = False) -> None:
        path = f"{self.directories[controller]}/{name}"
        if not optional or os.path.exists(path):
            _write(path, str(value))

    def preexec(self) -> None:
        """In the child between fork and exec (a Popen preexec_fn), while still root: join the group."""
        for path, text in self._joins:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, text)
            finally:
                os.close(fd)

    def processes(self) -> list[int]:
        """The processes in the group now."""
        return [int(pid) for pid in read_text(f"{self.directories['pids']}/cgroup.procs").split()]

    def cpu_seconds(self) -> float:
        """CPU time of everything that has run in the group, exited processes included."""
        if self.version == 2:
            return _field(f"{self.directories['cpu']}/cpu.stat", "usage_usec") / 1e6
        return int(read_text(f"{self.directories['cpuacct']}/cpuacct.usage") or 0) / 1e9

    def memory_peak_bytes(self) -> int:
        """The most memory the group has held at once (0 where the kernel does not say)."""
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        return int(read_text(f"{self.directories['memory']}/{name}") or 0)

    def oom_kills(self) -> int:
        """How many processes the kernel's OOM killer ended because the group was over its memory limit."""
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        return _field(f"{self.directories['memory']}/{name}", "oom_kill")

    def kill(self) -> None:
        """SIGKILL everything in the group until it is empty (within a few seconds)."""
        with contextlib.suppress(OSError):
            self._set("pids", "pids.max", 0)  # nothing in the group can fork any more
            if self.version == 2:
                self._set("pids", "cgroup.kill", 1, optional=True)  # all at once (Linux 5.14)
        deadline = time.monotonic() + 5
        while (pids := self.processes()) and time.monotonic() < deadline:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)

    def remove(self) -> None:
        """Kill what is left in the group and remove its directories; never raises."""
        self.kill()
        for directory in self._unique:
            _rmdir(directory, tries=100)

    def __enter__(self) -> "ChildGroup":
        return self

    def __exit__(self, *exc_info) -> None:
        self.remove()
