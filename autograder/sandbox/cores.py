"""How many cores this grader may really use: how many children it should run at once, with how many threads.

`os.cpu_count()` counts the machine's cores. A container (Docker, Gradescope) or a systemd service often sees all
of the host's cores in its CPU affinity yet gets a CPU quota from its cgroup: two cores' worth of time on a 64-core
host. Sixty-four busy children would share those two cores, and every one of them would run out of time.
"""

import os

from .cgroups import own_directories, read_text


def _quota(directory: str) -> float | None:
    """The CPU quota of one cgroup in cores (1.5 is one and a half), or None if it has none."""
    quota, _, period = read_text(f"{directory}/cpu.max").partition(" ")  # v2: "150000 100000", or "max 100000"
    if quota and quota != "max":
        return int(quota) / int(period)
    quota = read_text(f"{directory}/cpu.cfs_quota_us")  # v1: -1 for none
    if quota and int(quota) > 0:
        return int(quota) / int(read_text(f"{directory}/cpu.cfs_period_us"))
    return None


def cgroup_quota() -> float | None:
    """The tightest CPU quota on our own cgroup and on those above it, in cores; None if there is none."""
    quotas = []
    for name, directory in own_directories().items():
        if name in ("", "cpu"):  # the v2 hierarchy, and v1's cpu hierarchy
            while os.path.exists(f"{directory}/cgroup.procs"):  # up to the hierarchy's root
                quotas.append(_quota(directory))
                directory = os.path.dirname(directory)
    return min((quota for quota in quotas if quota is not None), default=None)


def available_cores() -> int:
    """The cores we may keep busy: the CPU quota rounded down (at least 1), never more than our CPU affinity."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = cgroup_quota()
    return cores if quota is None else max(1, min(cores, int(quota)))
