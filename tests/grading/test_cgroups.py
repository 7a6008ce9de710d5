"""autograder/sandbox/cgroups.py and cores.py: real control groups holding real processes (as root).

Each test runs a small Python program inside a fresh group and checks what the kernel did to it: memory written
where RLIMIT_AS cannot see it still ends the program, a fork storm stops at the process limit, two busy processes
share the one core they were given, and what is left in a group dies with it.
"""

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from autograder.sandbox import cgroups
from tests.helpers import REPO_ROOT

pytestmark = pytest.mark.skipif(not cgroups.support().available, reason=cgroups.support().reason or "no cgroups")
MB = 1 << 20


def start(group: cgroups.ChildGroup, code: str) -> subprocess.Popen:
    """`python -c code` as a child in `group`, its stdout a pipe."""
    return subprocess.Popen(
        [sys.executable, "-c", code], preexec_fn=group.preexec, stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT
    )


def run(group: cgroups.ChildGroup, code: str) -> tuple[int, str]:
    child = start(group, code)
    output, _ = child.communicate(timeout=60)
    return child.returncode, output


# Writes 300 MB into a file, 1 MB at a time, and never maps it: the pages are the file's, outside the address space,
# so an address-space limit of 100 MB does not stop it.
WRITE_300_MB = """
import os, resource
resource.setrlimit(resource.RLIMIT_AS, (100 << 20, 100 << 20))
file = os.fdopen(os.memfd_create("hoard"), "wb") if {path!r} == "memfd" else open({path!r}, "wb")
chunk = b"x" * (1 << 20)
for written in range(300):
    file.write(chunk)
    file.flush()
print("wrote all", flush=True)
"""


@pytest.mark.parametrize("where", ["memfd", "/dev/shm"])
def test_memory_written_outside_the_address_space_counts(where):
    path = "memfd" if where == "memfd" else f"/dev/shm/mmembed-test-{uuid.uuid4().hex}"
    try:
        with cgroups.ChildGroup.create(memory_bytes=400 * MB, processes=16, cpus=1) as group:
            assert run(group, WRITE_300_MB.format(path=path)) == (0, "wrote all\n")  # RLIMIT_AS let it through
        with cgroups.ChildGroup.create(memory_bytes=200 * MB, processes=16, cpus=1) as group:
            returncode, output = run(group, WRITE_300_MB.format(path=path))
            assert returncode == -signal.SIGKILL and output == ""
            assert group.oom_kills() >= 1
            assert 150 * MB < group.memory_peak_bytes() <= 200 * MB
    finally:
        if path != "memfd" and os.path.exists(path):
            os.unlink(path)


FORK_STORM = """
import os, time
forked = failed = 0
for _ in range(100):
    try:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        forked += 1
    except BlockingIOError:  # EAGAIN: the group is at pids.max
        failed += 1
print(forked, failed, flush=True)
time.sleep(60)
"""


def test_a_fork_storm_stops_at_the_process_limit():
    with cgroups.ChildGroup.create(memory_bytes=1024 * MB, processes=16, cpus=1) as group:
        child = start(group, FORK_STORM)
        forked, failed = map(int, child.stdout.readline().split())
        assert forked == 15 and failed == 85  # the storm's parent is the 16th process
        assert len(group.processes()) == 16
        group.kill()
        assert child.wait(timeout=10) == -signal.SIGKILL


def test_two_busy_processes_get_the_one_core_they_were_given():
    with cgroups.ChildGroup.create(memory_bytes=1024 * MB, processes=16, cpus=1) as group:
        child = start(group, "import os\nos.fork()\nwhile True: pass")
        while len(group.processes()) < 2:
            time.sleep(0.01)
        time.sleep(0.3)
        cpu_before, wall_before = group.cpu_seconds(), time.monotonic()
        time.sleep(2)
        used, wall = group.cpu_seconds() - cpu_before, time.monotonic() - wall_before
        group.kill()
        child.wait(timeout=10)
    assert 0.2 * wall < used <= 1.3 * wall, (used, wall)  # the lower bound only says they ran


BUSY_CHILD = """
import os, time
pid = os.fork()
if pid == 0:
    while time.process_time() < 1.0:
        pass
    os._exit(0)
os.waitpid(pid, 0)
times = os.times()
print(times.user + times.system, times.children_user + times.children_system)
"""


def test_cpu_seconds_count_the_childs_children():
    with cgroups.ChildGroup.create(memory_bytes=1024 * MB, processes=16, cpus=2) as group:
        returncode, output = run(group, BUSY_CHILD)
        own, children = map(float, output.split())
        assert returncode == 0 and 0.95 <= children < 1.1  # os.times() counts in clock ticks
        assert group.cpu_seconds() == pytest.approx(own + children, abs=0.1)


DETACHING = """
import os, time
for _ in range(3):
    if os.fork() == 0:
        os.setsid()  # a session of its own; its parent exits at once, so it is nobody's child
        if os.fork() == 0:
            time.sleep(60)
        os._exit(0)
print("ready", flush=True)
time.sleep(60)
"""


def test_kill_reaches_children_that_left_the_session():
    with cgroups.ChildGroup.create(memory_bytes=1024 * MB, processes=16, cpus=1) as group:
        child = start(group, DETACHING)
        assert child.stdout.readline() == "ready\n"
        deadline = time.monotonic() + 10
        while not settled(pids := group.processes()) and time.monotonic() < deadline:
            time.sleep(0.01)  # until the three grandchildren run, and the middle processes that made them are gone
        detached = [pid for pid in pids if pid != child.pid]
        assert len(detached) == 3 and os.getsid(child.pid) not in map(os.getsid, detached)
        group.kill()
        assert group.processes() == []
        assert child.wait(timeout=10) == -signal.SIGKILL
        assert all(gone(pid) for pid in detached)


def settled(pids: list[int]) -> bool:
    """The parent and three processes, each in a session of its own (a fork not yet past setsid() shares one)."""
    try:
        return len(pids) == 4 and len({os.getsid(pid) for pid in pids}) == 4
    except ProcessLookupError:  # a middle process exited while we looked
        return False


def gone(pid: int) -> bool:
    """Dead: no such process, or a zombie its new parent has not reaped yet."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def cgroup_paths(text: str) -> dict[str, str]:
    """/proc/<pid>/cgroup as {hierarchy's controllers ("" for v2): path}."""
    return dict(line.split(":", 2)[1:] for line in text.splitlines() if line)


def test_preexec_joins_the_group_under_our_own_cgroup_and_offers_the_child_to_the_oom_killer():
    with cgroups.ChildGroup.create(memory_bytes=1024 * MB, processes=16, cpus=1) as group:
        returncode, output = run(
            group, "print(open('/proc/self/oom_score_adj').read(), end='')\nprint(open('/proc/self/cgroup').read())"
        )
        assert returncode == 0 and output.split()[0] == "1000"
        ours, childs = cgroup_paths(open("/proc/self/cgroup").read()), cgroup_paths(output.split("\n", 1)[1])
        name = os.path.basename(group.directories["memory"])
        for hierarchy in [""] if group.version == 2 else ["memory", "pids", "cpu", "cpuacct"]:
            key = next(key for key in ours if hierarchy in key.split(","))  # v1: "cpu,cpuacct" when mounted together
            assert childs[key] == f"{ours[key].rstrip('/')}/mmembed-autograder-{os.getpid()}/{name}"


def test_remove_kills_what_is_left_and_leaves_no_directory():
    group = cgroups.ChildGroup.create(memory_bytes=1024 * MB, processes=16, cpus=1)
    child = start(group, "import time\nprint('ready', flush=True)\ntime.sleep(60)")
    assert child.stdout.readline() == "ready\n"
    group.remove()
    assert child.wait(timeout=10) == -signal.SIGKILL
    assert [path for path in group.directories.values() if os.path.exists(path)] == []
    group.remove()  # twice is harmless


def test_available_cores_is_the_cpu_quota_of_its_cgroup():
    from autograder.sandbox.cores import available_cores

    assert 1 <= available_cores() <= len(os.sched_getaffinity(0))
    code = "from autograder.sandbox.cores import available_cores; print(available_cores())"
    for cpus, expected in ((1, 1), (1.5, 1), (0.5, 1), (2, min(2, len(os.sched_getaffinity(0))))):
        with cgroups.ChildGroup.create(memory_bytes=1024 * MB, processes=16, cpus=cpus) as group:
            assert run(group, code) == (0, f"{expected}\n"), cpus
