"""The Gradescope bundle, run the way Gradescope runs it; and the CI files for students' repositories.

One freshly built autograder.zip is set up once by its own setup.sh, as root, in a throwaway root folder
(tests/grading/conftest.py: `gradescope_image`). Then its run_autograder grades each submission with the system
PATH only (no virtual environment on it), under Docker's default capability set (a `setpriv` bounding set), in a
768 MB, one-CPU cgroup standing for Gradescope's container (autograder/gradescope_check.py): once with bubblewrap
working (root without CAP_SYS_ADMIN makes a user namespace), once with a `bwrap` that fails first on PATH, as
Docker's seccomp profile makes it fail (a bounding set filters no system call). Each case runs in both.
"""

import json
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest

from autograder import config, gradescope
from autograder.gradescope_check import GRADESCOPE_CPUS, GRADESCOPE_MEMORY_MB, SYSTEM_PATH
from tests.grading.conftest import GRADESCOPE
from tests.helpers import REPO_ROOT, run_python

pytestmark = pytest.mark.slow

SOLUTION = (REPO_ROOT / "solutions" / "quiz_search.py").read_text(encoding="utf-8")
SKELETON = (REPO_ROOT / "quizzes" / "quiz_search.py").read_text(encoding="utf-8")


def at_import(code: str) -> str:
    """The solution with `code` run when it is imported."""
    return SOLUTION.replace("import mmembed\n", f"import mmembed\n\n{code}\n", 1)


# It waits rather than spins: the grader must stop it either way, and it leaves the cores to the other tests.
HANGING = at_import("import time\n\ntime.sleep(10**6)")
HANG_TIMEOUT = 20  # seconds; a sleeping child is stopped at twice that on the wall clock
# Far more than the child's share of the container: the child's cgroup, or the container's OOM killer, ends it.
MEMORY_HOG = at_import("hog = [b'x' * (32 << 20) for _ in range(1000)]")
# What the child may do: its uid, its capabilities, whether it reads the solution and the hidden queries. It says
# so in the error it raises at import, which the student's feedback shows.
SPY = at_import(
    """import os as _os


def _read(path):
    try:
        open(path, 'rb').read(1)
        return 'read'
    except OSError as error:
        return type(error).__name__


_status = dict(line.split(':', 1) for line in open('/proc/self/status') if ':' in line)
_caps = ','.join(f"{key}={_status[key].strip()}" for key in ('CapEff', 'CapPrm', 'CapInh', 'CapAmb', 'NoNewPrivs'))
raise RuntimeError(f"SPY uid={_os.getuid()} {_caps} solution={_read(SOLUTION)} config={_read(CONFIG)}")"""
)
EXPECTED = {"correct": config.MAX_SCORE, "skeleton": 0, "hanging": 0, "memory hog": 0, "spy": 0}
MODES = {"bwrap": False, "no bwrap": True}  # mode -> bwrap fails
GRADESCOPE_FIELDS = {"score", "execution_time", "output", "visibility", "stdout_visibility", "tests"}
TEST_FIELDS = {"name", "score", "max_score", "output", "visibility"}
VISIBILITIES = {"visible", "hidden", "after_due_date", "after_published"}


@pytest.fixture(scope="module")
def runs(gradescope_image):
    """(case, mode) -> gradescope_check.Run, graded four at a time."""
    source = gradescope_image.autograder / "source"
    texts = {"correct": SOLUTION, "skeleton": SKELETON, "hanging": HANGING, "memory hog": MEMORY_HOG}
    texts["spy"] = SPY.replace("(SOLUTION)", f"({str(source / 'solutions' / 'quiz_search.py')!r})").replace(
        "(CONFIG)", f"({str(source / 'autograder' / 'config.py')!r})"
    )
    cases = [(case, mode) for case in EXPECTED for mode in MODES]

    def one(key):
        case, mode = key
        args = ("--timeout", str(HANG_TIMEOUT)) if case == "hanging" else ()  # the default is 10x the reference
        return key, gradescope_image.run(texts[case], bwrap_fails=MODES[mode], args=args)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(one, cases))


def test_the_bundle_has_setup_and_run_autograder_at_its_root(gradescope_bundle):
    with zipfile.ZipFile(gradescope_bundle) as archive:
        names = set(archive.namelist())
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        setup = archive.read("setup.sh").decode()
        run_autograder = archive.read("run_autograder").decode()
    assert {"setup.sh", "run_autograder", "pyproject.toml", "constraints.txt", "solutions/quiz_search.py"} <= names
    assert "models/mini/model.safetensors" in names and "images/quiz-image/val_199.JPEG" in names
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert not any("__pycache__" in name or name.startswith(("tests/", "lectures/")) for name in names)
    assert "download.pytorch.org/whl/cpu" in setup and "--constraint constraints.txt" in setup
    assert setup.rstrip().endswith('--self-check --root "$ROOT" --model "mini"')  # the build fails unless 12/12
    assert "/usr/local/bin" not in setup and "python3 " not in run_autograder  # no interpreter from PATH
    assert '"$VENV/bin/python" -m autograder gradescope --run' in run_autograder
    assert "--hidden-visibility after_due_date" in run_autograder
    for script in (setup, run_autograder):
        assert subprocess.run(["bash", "-n", "-c", script]).returncode == 0  # the shell can parse it


@GRADESCOPE
def test_setup_ends_by_grading_the_reference_solution(gradescope_image):
    assert f"self-check: the reference solution scores {config.MAX_SCORE}/{config.MAX_SCORE}" in (
        gradescope_image.setup_output
    )
    source = gradescope_image.autograder / "source"
    for closed in (source / "solutions" / "quiz_search.py", source / "autograder" / "config.py"):
        assert closed.stat().st_mode & 0o077 == 0, closed  # root's alone
    assert (source / "autograder" / "inside" / "child.py").stat().st_mode & 0o004
    assert (gradescope_image.venv / "bin" / "python").resolve().is_relative_to("/usr")  # Debian's, not a pyenv


@GRADESCOPE
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", EXPECTED)
def test_every_run_writes_gradescopes_results(runs, case, mode):
    run = runs[case, mode]
    assert run.returncode == 0, run.stderr[-3000:]
    data = run.results
    assert data is not None, run.stderr[-3000:]
    assert GRADESCOPE_FIELDS <= set(data) and data["visibility"] in VISIBILITIES
    assert data["score"] == EXPECTED[case] == sum(test["score"] for test in data["tests"]), run.stderr[-3000:]
    assert data["stdout_visibility"] in VISIBILITIES
    for test in data["tests"]:
        assert TEST_FIELDS <= set(test) and isinstance(test["score"], int) and test["visibility"] in VISIBILITIES
    hidden = {config.TITLES[name] for name in gradescope.HIDDEN_CHECKS}
    assert {test["name"]: test["visibility"] for test in data["tests"] if test["name"] in hidden} == dict.fromkeys(
        hidden, "after_due_date"
    )
    text = json.dumps(data, ensure_ascii=False)
    assert not any(secret in text for secret in config.HIDDEN_QUERIES)
    sandbox = "NO SANDBOX" not in run.stderr
    assert sandbox == (mode == "bwrap"), run.stderr[-2000:]
    assert ("샌드박스 없이" in data["output"]) == (mode == "no bwrap")
    assert data["extra_data"]["cgroups"] and data["extra_data"]["child_memory_gb"] < GRADESCOPE_MEMORY_MB / 1024
    assert data["extra_data"]["threads"] == GRADESCOPE_CPUS  # the container's CPU quota, not this machine's cores


@GRADESCOPE
@pytest.mark.parametrize("mode", MODES)
def test_a_hang_gets_a_timeout_and_says_so(runs, mode):
    data = runs["hanging", mode].results
    message = data["tests"][0]["output"]
    assert f"시간 제한({HANG_TIMEOUT}초" in message and "--timeout" in message, message
    assert data["extra_data"]["status"] == "timeout"
    assert data["execution_time"] < 4 * HANG_TIMEOUT + 60  # one limit (the wall-clock backstop), not one per step


@GRADESCOPE
@pytest.mark.parametrize("mode", MODES)
def test_a_memory_hog_is_stopped_and_the_grader_lives(runs, mode):
    data = runs["memory hog", mode].results
    assert data["extra_data"]["status"] in {"out of memory", "crashed"}, data["tests"][0]["output"]
    assert "메모리" in data["tests"][0]["output"] or "끝나 버렸습니다" in data["tests"][0]["output"]


@GRADESCOPE
@pytest.mark.parametrize("mode", MODES)
def test_student_code_runs_with_no_capability_and_cannot_read_the_hidden_files(runs, mode):
    message = runs["spy", mode].results["tests"][0]["output"]
    assert "SPY uid=" in message, message
    uid = int(message.split("SPY uid=")[1].split()[0])
    assert uid >= 1_900_000_000  # a throwaway uid (inside the sandbox's user namespace, or the real one)
    for key in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
        assert f"{key}=0000000000000000" in message
    assert "NoNewPrivs=1" in message
    unseen = "FileNotFoundError" if mode == "bwrap" else "PermissionError"  # not there, or closed to its uid
    assert f"solution={unseen}" in message and f"config={unseen}" in message, message


@GRADESCOPE
def test_the_peak_memory_of_a_correct_run_is_reported(runs):
    for mode in MODES:
        run = runs["correct", mode]
        extra = run.results["extra_data"]
        print(
            f"{mode}: container {run.container_peak_mb} MB, child {extra['memory_peak_mb']} MB, "
            f"grader {extra['grader_peak_mb']} MB"
        )
        assert 0 < extra["memory_peak_mb"] and 0 < extra["grader_peak_mb"] < 300  # the reference ran elsewhere
        assert 0 < run.container_peak_mb <= GRADESCOPE_MEMORY_MB


def test_run_autograder_writes_results_even_when_its_python_is_missing(gradescope_bundle, tmp_path):
    with zipfile.ZipFile(gradescope_bundle) as archive:
        (tmp_path / "source" / "run_autograder").parent.mkdir()
        (tmp_path / "source" / "run_autograder").write_bytes(archive.read("run_autograder"))
    env = {"PATH": SYSTEM_PATH, "AUTOGRADER_ROOT": str(tmp_path), "MMEMBED_VENV": str(tmp_path / "no-venv")}
    result = subprocess.run(["bash", str(tmp_path / "source" / "run_autograder")], env=env, capture_output=True)
    data = json.loads((tmp_path / "results" / "results.json").read_text(encoding="utf-8"))
    assert result.returncode == 0 and data["score"] == 0 and data["output"].startswith("Autograder error")


def test_a_grader_that_cannot_grade_leaves_a_readable_results_json(tmp_path):
    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / "quiz_search.py").write_text(SOLUTION, encoding="utf-8")
    result = run_python(
        ["-m", "autograder", "gradescope", "--run", "--root", str(tmp_path), "--model", str(tmp_path / "no-model")],
        timeout=300,
    )
    data = json.loads((tmp_path / "results" / "results.json").read_text(encoding="utf-8"))
    assert result.returncode == 2 and data["score"] == 0 and data["extra_data"]["status"] == "grader error"
    assert data["output"].startswith("Autograder error") and "cannot compute the reference" in data["output"]
    assert [test["max_score"] for test in data["tests"]] == list(config.POINTS.values())


def test_the_self_check_fails_the_build_unless_the_solution_scores_full_marks(tmp_path):
    result = run_python(["-m", "autograder", "gradescope", "--self-check", "--model", str(tmp_path / "no-model")])
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"scores 0/{config.MAX_SCORE}" in result.stdout and "self-check FAILED" in result.stderr


@GRADESCOPE
def test_junit_report_matches_results_json(runs):
    from autograder.report import junit

    data = runs["skeleton", "bwrap"].results
    root = ET.fromstring(junit(data))
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert root.tag == "testsuites" and int(suite.get("tests")) == len(cases) == len(data["tests"])
    assert int(suite.get("failures")) == sum(test["score"] < test["max_score"] for test in data["tests"])
    assert [case.get("name") for case in cases] == [test["name"] for test in data["tests"]]
    scores = {p.get("name"): int(p.get("value")) for p in suite.find("properties")}
    assert scores["score"] == data["score"] and scores["max_score"] == data["max_score"]
    assert sum(scores[f"score.{name}"] for name in config.POINTS) == data["score"]  # per check, in the suite
