"""Where no sandbox can run: both graders say so in one line and fall back, unless told to refuse.

"No sandbox" is made real here by a PATH without bwrap (as on a machine where bubblewrap is not installed).
"""

import csv
import os
import shutil
import sys
from pathlib import Path

import pytest

from autograder import config, nbsandbox
from autograder.sandbox import bubblewrap
from tests.helpers import REPO_ROOT, run_python

SOLUTION = (REPO_ROOT / "solutions" / "quiz_search.py").read_text(encoding="utf-8")
SKELETON = (REPO_ROOT / "quizzes" / "quiz_search.py").read_text(encoding="utf-8")


@pytest.fixture
def no_bwrap_env(tmp_path):
    """A PATH with the tools the grader needs but no bwrap."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in ("setpriv",):
        if shutil.which(tool):
            (folder / tool).symlink_to(shutil.which(tool))
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{folder}"}


@pytest.mark.slow
def test_the_quiz_grader_falls_back_and_says_so(tmp_path, no_bwrap_env):
    for student, text in {"a_solution": SOLUTION, "b_skeleton": SKELETON}.items():
        (tmp_path / "class" / student).mkdir(parents=True)
        (tmp_path / "class" / student / "quiz_search.py").write_text(text, encoding="utf-8")
    result = run_python(
        ["-m", "autograder", str(tmp_path / "class"), "--results", str(tmp_path / "results"), "--timeout", "120"],
        env=no_bwrap_env,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    assert "NO SANDBOX (bwrap is not installed" in result.stderr and "falling back" in result.stderr
    assert result.stderr.count("NO SANDBOX") == 1  # one line, not one per student
    with open(tmp_path / "results" / "grades.csv", encoding="utf-8") as file:
        rows = {row["student"]: row for row in csv.DictReader(file)}
    assert rows["a_solution"]["score"] == str(config.MAX_SCORE) and rows["a_solution"]["status"] == "no sandbox"
    assert rows["b_skeleton"]["score"] == "0"


def test_require_sandbox_refuses_to_grade_without_one(tmp_path, no_bwrap_env):
    (tmp_path / "quiz_search.py").write_text(SOLUTION, encoding="utf-8")
    command = ["-m", "autograder", str(tmp_path / "quiz_search.py"), "--results", str(tmp_path / "r.json")]
    result = run_python([*command, "--require-sandbox"], env=no_bwrap_env, timeout=300)
    assert result.returncode == 2 and "--require-sandbox" in result.stderr and "bwrap is not installed" in result.stderr
    assert not (tmp_path / "r.json").exists()


def test_the_nbgrader_kernel_manager_refuses_or_warns_without_a_sandbox(monkeypatch):
    monkeypatch.setattr(bubblewrap, "status", lambda: bubblewrap.Status(False, "bwrap is not installed"))
    with pytest.raises(nbsandbox.SandboxRequired, match="bwrap is not installed"):
        nbsandbox.SandboxedKernelManager(require_sandbox=True)
    manager = nbsandbox.SandboxedKernelManager()
    assert manager.transport == "tcp"  # nbgrader's usual kernel, as before the sandbox


def test_the_switch_works_from_nbgraders_config(monkeypatch):
    from traitlets.config import Config

    monkeypatch.setattr(bubblewrap, "status", lambda: bubblewrap.Status(False, "no user namespaces"))
    config = Config()
    config.SandboxedKernelManager.require_sandbox = True  # as in autograder/nbgrader_config.py
    with pytest.raises(nbsandbox.SandboxRequired):
        nbsandbox.SandboxedKernelManager(config=config)
