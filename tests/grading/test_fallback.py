"""Where no sandbox can run: both graders say so in one line and fall back, unless told to refuse.

"No sandbox" is made real here by a PATH without bwrap (as on a machine where bubblewrap is not installed).
"""

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import config
from autograder.gradescope_check import docker_capabilities
from autograder.notebooks import kernel_manager as nbsandbox
from autograder.sandbox import bubblewrap, isolation
from tests.grading.conftest import GRADESCOPE
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
@GRADESCOPE
def test_the_quiz_grader_falls_back_and_says_so(tmp_path, request):
    """As root each student runs as a throwaway uid with no capability, so the grader runs on a Python that uid can
    run: the Gradescope image's virtual environment (Debian's python3.11, readable by every user)."""
    python = sys.executable
    if os.geteuid() == 0:
        python = str(request.getfixturevalue("gradescope_image").venv / "bin" / "python")
    for student, text in {"a_solution": SOLUTION, "b_skeleton": SKELETON}.items():
        (tmp_path / "class" / student).mkdir(parents=True)
        (tmp_path / "class" / student / "quiz_search.py").write_text(text, encoding="utf-8")
    folder = tmp_path / "bin"  # no bwrap: only the system's tools
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MMEMBED_", "HF_"))}
    env.update(PATH=str(folder), HF_HUB_OFFLINE="1")
    folder.mkdir()
    if shutil.which("setpriv"):
        (folder / "setpriv").symlink_to(shutil.which("setpriv"))
    command = [str(tmp_path / "class"), "--results", str(tmp_path / "results"), "--timeout", "120"]
    result = subprocess.run(
        [python, "-m", "autograder", *command],
        env=env,
        capture_output=True,
        text=True,
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


# --------------------------------------------------------------------------- the throwaway uid, without capabilities
DOCKER = docker_capabilities()
BECOME = """
import subprocess, sys
from autograder.sandbox import isolation
uid = isolation.throwaway_uid()
child = subprocess.run(["/bin/cat", "/proc/self/status"], preexec_fn=isolation.limits(2**33, None, uid),
                       capture_output=True, text=True)
print(uid, child.returncode, child.stdout, child.stderr, sep="\\n")
"""
root_only = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="the throwaway uid needs root (and setpriv here)"
)


@root_only
def test_the_drop_works_in_dockers_capability_set_and_keeps_nothing():
    """Docker's default set has no CAP_SYS_ADMIN or CAP_DAC_READ_SEARCH: the drop must ask for neither."""
    result = subprocess.run([*DOCKER, sys.executable, "-c", BECOME], capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    uid, code, status = result.stdout.split("\n", 2)
    assert code == "0", status
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    assert fields["Uid"].split() == [uid] * 4 and fields["Gid"].split() == [uid] * 4 and fields["Groups"].strip() == ""
    for key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert fields[key].strip() == "0" * 16, (key, fields[key])
    assert fields["NoNewPrivs"].strip() == "1"  # a set-uid program gives nothing back


@root_only
def test_a_failed_drop_is_a_readable_exit_not_a_crash():
    """Root without CAP_SETUID cannot change its uid: the child says why on its stderr and exits 126; nothing runs
    as root, and the grader gets no bare SubprocessError."""
    no_capability = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--ambient-caps=-all", "--"]
    result = subprocess.run(
        [*no_capability, sys.executable, "-c", BECOME], capture_output=True, text=True, cwd=REPO_ROOT
    )
    assert result.returncode == 0, result.stderr
    _, code, _, stderr = result.stdout.split("\n", 3)
    assert code == str(isolation.LAUNCH_FAILED) and "could not start the child as its own user" in stderr


@pytest.mark.slow
@root_only
def test_a_python_the_throwaway_uid_cannot_run_is_said_once_before_grading(tmp_path, no_bwrap_env):
    """This machine's pyenv lives under /root (0700): without the sandbox a child could not even start. The grader
    says so once, naming the closed folder, and grades nobody (rather than every student crashing)."""
    blocked = isolation.unreadable_for_others(Path(sys.executable))
    if blocked is None:
        pytest.skip("this Python is readable by every user")
    (tmp_path / "quiz_search.py").write_text(SOLUTION, encoding="utf-8")
    command = ["-m", "autograder", str(tmp_path / "quiz_search.py"), "--results", str(tmp_path / "r.json")]
    result = run_python(command, env=no_bwrap_env, timeout=300)
    assert result.returncode == 2 and not (tmp_path / "r.json").exists(), result.stderr
    assert f"student code runs as a throwaway user, who cannot read {blocked}" in result.stderr
