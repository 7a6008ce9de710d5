"""nbgrader's whole exchange cycle with real Unix users, as on a JupyterHub: one instructor and two students.

The test (root) creates three users with unique names and private homes under a private folder in /var/tmp, and
removes them and the folder afterwards, even on failure. Nothing global is written: the server-wide nbgrader config
(course_id, Exchange.root) is a private folder on JUPYTER_CONFIG_PATH, each user's JUPYTER_CONFIG_DIR is a copy of
the repository's profile (jupyter/instructor, jupyter/student), and the exchange is a private folder (mode 777, as
the README has the administrator make it). The users run Debian's python3.11 with the course's packages
(tests/debian_python.py): this machine's course Python, under /root, is closed to them.

The instructor generates and releases quiz_notebooks; each student fetches it, answers and submits; the instructor
collects (LinkSafeCollect), autogrades in the sandbox (require_sandbox), generates and releases feedback; each
student fetches their feedback. Alice answers everything (14/14); Bob answers quiz 1 only (5/14). About 2 minutes,
most of it autograde.

Attacker model: a student who knows the other's user name but cannot list the exchange's inbound folder. Checked:
Bob cannot list inbound/, cannot find or read Alice's submission without its full name, and cannot read Alice's
fetched feedback or her nbgrader cache (homes are 0700). What nbgrader 0.9.6 does not promise (README): inbound/
lets anyone create a folder under anyone's name, and nbgrader's collect would take the newest per name; the
course's collect (LinkSafeCollect) takes a folder only from the user it names, so Bob cannot hand in *as Alice*.
"""

import json
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import nbformat
import pytest

from tests import debian_python
from tests.grading.test_nbgrader import ASSIGNMENT, MAX_SCORE, NOTEBOOKS, QUIZ1_POINTS, solved
from tests.helpers import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("hub-exchange")]

COPIED = ("autograder", "mmembed", "models", "images", "data", "solutions", "quizzes", "jupyter", "pyproject.toml")
EXPECTED = {"alice": MAX_SCORE, "bob": sum(QUIZ1_POINTS.values())}


class Hub:
    """The private folder, the three users and how to run a command as one of them."""

    def __init__(self, root: Path, tag: str, venv: Path):
        self.root, self.venv = root, venv
        self.names = {role: f"mm{role[0]}{tag}" for role in ("instructor", "alice", "bob")}
        self.exchange = root / "exchange"
        self.site = root / "site"
        self.course = self.home("instructor") / "course"
        self.feedback_error: str | None = None  # release_feedback's stderr if it failed

    def home(self, role: str) -> Path:
        return self.root / "home" / self.names[role]

    def run(self, role: str, *args: str, cwd: Path | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
        home = self.home(role)
        env = {
            "HOME": str(home),
            "USER": self.names[role],
            "LOGNAME": self.names[role],
            "PATH": f"{self.venv / 'bin'}:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "JUPYTER_CONFIG_DIR": str(home / ".jupyter-profile"),
            "JUPYTER_CONFIG_PATH": str(self.site),
            "JUPYTER_PREFER_ENV_PATH": "0",
            "MMEMBED_MODEL": "mini",
            "HF_HUB_OFFLINE": "1",
            "HF_HOME": str(home / ".hf"),
            "PYTHONWARNINGS": "ignore::DeprecationWarning",
        }
        command = ["setpriv", f"--reuid={self.names[role]}", f"--regid={self.names[role]}", "--init-groups", "--"]
        command += ["env", "-i", *(f"{key}={value}" for key, value in env.items()), *args]
        return subprocess.run(command, cwd=cwd or home, capture_output=True, text=True, timeout=timeout)

    def nbgrader(self, role: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
        cwd = self.course if role == "instructor" else None
        result = self.run(role, "nbgrader", *args, cwd=cwd, **kwargs)
        assert result.returncode == 0, (
            f"{role}: nbgrader {' '.join(args)}\n{result.stdout[-2000:]}{result.stderr[-4000:]}"
        )
        return result


def add_user(name: str, home: Path):
    subprocess.run(["useradd", "--user-group", "--no-create-home", "--home-dir", home, "--shell", "/bin/sh", name],
                   check=True, capture_output=True)  # fmt: skip
    home.mkdir(mode=0o700)
    shutil.chown(home, name, name)


@pytest.fixture(scope="module")
def hub():
    if os.geteuid() != 0 or shutil.which("useradd") is None or shutil.which("setpriv") is None:
        pytest.skip("creates Unix users: needs root, useradd and setpriv")
    if not debian_python.available():
        pytest.skip(debian_python.MISSING)
    closed = debian_python.unreadable_by_others(debian_python.course_site_packages())
    if closed is not None:
        pytest.skip(f"other users cannot read the course's packages ({closed} is closed to them)")
    root = Path(tempfile.mkdtemp(prefix="mmembed-hub-", dir="/var/tmp"))
    root.chmod(0o711)
    hub = Hub(root, secrets.token_hex(3), debian_python.shared_venv())
    created = []
    try:
        (root / "home").mkdir(mode=0o711)
        for role in hub.names:
            add_user(hub.names[role], hub.home(role))
            created.append(hub.names[role])
            profile = "instructor" if role == "instructor" else "student"
            shutil.copytree(REPO_ROOT / "jupyter" / profile, hub.home(role) / ".jupyter-profile")
        hub.exchange.mkdir(mode=0o777)
        hub.exchange.chmod(0o777)
        hub.site.mkdir(mode=0o755)
        (hub.site / "nbgrader_config.py").write_text(
            f'c = get_config()\nc.CourseDirectory.course_id = "mmembed"\nc.Exchange.root = "{hub.exchange}"\n'
        )
        (hub.site / "nbgrader_config.py").chmod(0o644)
        hub.course.mkdir()
        for name in COPIED:
            source = REPO_ROOT / name
            if source.is_dir():
                shutil.copytree(source, hub.course / name, ignore=shutil.ignore_patterns("__pycache__", "tiny"))
            else:
                shutil.copy2(source, hub.course / name)
        for role in hub.names:
            subprocess.run(["chown", "-R", f"{hub.names[role]}:{hub.names[role]}", hub.home(role)], check=True)
        yield hub
    finally:
        for name in created:
            subprocess.run(["userdel", "--force", name], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def cycle(hub):
    """The whole cycle, once; returns what the tests read."""
    hub.nbgrader("instructor", "generate_assignment", ASSIGNMENT, "--force")
    hub.nbgrader("instructor", "release_assignment", ASSIGNMENT)
    source = {name: nbformat.read(hub.course / "solutions" / ASSIGNMENT / f"{name}.ipynb", 4) for name in NOTEBOOKS}
    for student in ("alice", "bob"):
        hub.nbgrader(student, "fetch_assignment", ASSIGNMENT)
        folder = hub.home(student) / ASSIGNMENT
        for name in NOTEBOOKS if student == "alice" else NOTEBOOKS[:1]:
            path = folder / f"{name}.ipynb"
            nbformat.write(solved(nbformat.read(path, 4), source[name]), path)
            shutil.chown(path, hub.names[student], hub.names[student])
        hub.nbgrader(student, "submit", ASSIGNMENT)
    hub.forged = forge_as(hub, "bob", "alice")
    hub.nbgrader("instructor", "collect", ASSIGNMENT)
    hub.nbgrader("instructor", "autograde", ASSIGNMENT, "--SandboxedKernelManager.require_sandbox=True")
    hub.nbgrader("instructor", "generate_feedback", ASSIGNMENT)
    released = hub.run("instructor", "nbgrader", "release_feedback", ASSIGNMENT, cwd=hub.course)
    hub.feedback_error = None if released.returncode == 0 else released.stderr[-2000:]
    if hub.feedback_error is None:
        for student in ("alice", "bob"):
            hub.nbgrader(student, "fetch_feedback", ASSIGNMENT)
    return hub


def scores(hub: Hub) -> dict[str, float]:
    """Each student's total, read from the gradebook by the instructor."""
    script = (
        "import json; from nbgrader.api import Gradebook\n"
        "with Gradebook('sqlite:///gradebook.db') as g:\n"
        f"    print(json.dumps({{s.id: g.find_submission('{ASSIGNMENT}', s.id).score for s in g.students}}))\n"
    )
    result = hub.run("instructor", "python", "-c", script, cwd=hub.course)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_every_score(cycle):
    names = cycle.names
    assert scores(cycle) == {names[student]: float(points) for student, points in EXPECTED.items()}


def test_feedback_reaches_each_student(cycle):
    assert cycle.feedback_error is None, cycle.feedback_error
    for student in EXPECTED:
        feedback = cycle.home(student) / ASSIGNMENT / "feedback"
        assert sorted(path.name for path in feedback.rglob("*.html")) == sorted(f"{n}.html" for n in NOTEBOOKS)


def test_a_student_cannot_find_or_read_anothers_submission_or_feedback(cycle):
    alice, inbound = cycle.names["alice"], cycle.exchange / "mmembed" / "inbound"
    probe = f"""
import glob, os, sys
inbound, alice, home = sys.argv[1], sys.argv[2], sys.argv[3]
def attempt(what, action):
    try:
        action()
        print("OPEN", what)
    except OSError as error:
        print("CLOSED", what, type(error).__name__)
attempt("list inbound", lambda: os.listdir(inbound))
print("GLOB", glob.glob(os.path.join(inbound, alice + "+*")))
attempt("a submission without its timestamp", lambda: os.listdir(os.path.join(inbound, alice + "+{ASSIGNMENT}")))
attempt("alice's home", lambda: os.listdir(home))
attempt("alice's feedback", lambda: os.listdir(os.path.join(home, "{ASSIGNMENT}", "feedback")))
"""
    result = cycle.run("bob", "python", "-c", probe, str(inbound), alice, str(cycle.home("alice")))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert not [line for line in lines if line.startswith("OPEN")], result.stdout
    assert "GLOB []" in lines


FORGED_TIME = "2999-01-01 00:00:00.000000 UTC"


def forge_as(hub: Hub, forger: str, victim: str) -> subprocess.CompletedProcess:
    """The forger, who knows the victim's id, makes a newer submission folder in the victim's name (inbound/ lets
    anyone create a folder, as nbgrader makes it)."""
    inbound = hub.exchange / "mmembed" / "inbound"
    forged = f"{hub.names[victim]}+{ASSIGNMENT}+{FORGED_TIME}+forgedby{forger}"
    script = "import os, sys; os.mkdir(sys.argv[1]); open(sys.argv[1] + '/timestamp.txt', 'w').write(sys.argv[2])"
    return hub.run(forger, "python", "-c", script, str(inbound / forged), FORGED_TIME)


def test_a_student_cannot_submit_as_another(cycle):
    """Bob could make the folder (nbgrader's inbound/ allows it), but collect passed it over: what was collected
    for Alice is her own submission (and test_every_score finds her 14/14)."""
    assert cycle.forged.returncode == 0, cycle.forged.stderr
    collected = cycle.course / "submitted" / cycle.names["alice"] / ASSIGNMENT / "timestamp.txt"
    assert collected.read_text().strip() != FORGED_TIME
