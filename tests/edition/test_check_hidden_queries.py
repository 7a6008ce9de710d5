"""tools.check_hidden_queries with the grading model mini: the course's hidden queries pass, a vague one is refused."""

import subprocess
import sys

import pytest

from autograder import config
from tools.make_student_edition import REPO

pytestmark = pytest.mark.slow


def test_hidden_queries_have_a_clear_top1_and_a_vague_one_is_refused(offline_env):
    vague = "an animal"  # twenty-odd animals: mini's top two are within 0.01
    done = subprocess.run(
        [sys.executable, "-m", "tools.check_hidden_queries", *config.HIDDEN_QUERIES, vague, "--model", "mini"],
        cwd=REPO,
        env=offline_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1
    verdicts = {line.split("  ")[0].strip(): line.rsplit("  ", 1)[-1] for line in done.stdout.splitlines()[2:]}
    assert verdicts == {**{query: "ok" for query in config.HIDDEN_QUERIES}, vague: "TOO CLOSE (< 0.05)"}
    assert "no clear top-1" in done.stderr
