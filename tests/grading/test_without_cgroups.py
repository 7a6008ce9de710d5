"""python -m autograder where no cgroup can be made, as in a container that mounts no cgroup filesystem.

The condition is real, not simulated in the grader: the grader runs in a mount namespace of its own
(`unshare --mount`) with every cgroup hierarchy unmounted, so there is none to find.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from autograder import config
from autograder.sandbox import bubblewrap, cgroups
from tests.helpers import REPO_ROOT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare"),
    pytest.mark.skipif(not cgroups.support().available, reason="no cgroups here to take away"),
]


def grade_without_cgroups(*args: str) -> subprocess.CompletedProcess:
    hide = 'umount --recursive --lazy /sys/fs/cgroup && exec "$0" "$@"'
    command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", hide, sys.executable, "-m", "autograder"]
    env = {**os.environ, "MMEMBED_OFFLINE": "1"}
    return subprocess.run([*command, *args], capture_output=True, text=True, cwd=REPO_ROOT, env=env, timeout=300)


def test_require_limits_refuses_to_grade_without_a_cgroup(tmp_path):
    result = grade_without_cgroups(
        str(REPO_ROOT / "solutions" / "quiz_search.py"), "--results", str(tmp_path / "r.json"), "--require-limits"
    )
    assert result.returncode == 2 and not (tmp_path / "r.json").exists()
    assert "--require-limits: no cgroups here (no cgroup controllers" in result.stderr, result.stderr


@pytest.mark.skipif(not bubblewrap.status().available, reason="no sandbox here")
def test_without_cgroups_the_grader_says_so_in_one_line_and_grades_on_the_wall_clock(tmp_path):
    result = grade_without_cgroups(
        str(REPO_ROOT / "solutions" / "quiz_search.py"), "--results", str(tmp_path / "r.json")
    )
    assert result.returncode == 0, result.stderr[-2000:]
    warnings = [line for line in result.stderr.splitlines() if "NO CGROUPS" in line]
    assert len(warnings) == 1 and "wall-clock time limit only" in warnings[0]
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["score"] == config.MAX_SCORE and data["extra_data"]["memory_peak_mb"] == 0
    assert "cgroup" in data["output"]  # the student's feedback says the grading had no per-student limits
