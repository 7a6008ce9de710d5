"""The Gradescope bundle, run the way Gradescope runs it; and the CI files for students' repositories.

A freshly built autograder.zip is unpacked into a temporary AUTOGRADER_ROOT laid out like Gradescope's
(source/, submission/, results/), and its own run_autograder grades a correct submission, the skeleton and one
that hangs, with python3 from PATH (the package installed). The default time limit comes from the reference run.
"""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from autograder import config
from tests.helpers import REPO_ROOT, run_python

pytestmark = pytest.mark.slow

SOLUTION = (REPO_ROOT / "solutions" / "quiz_search.py").read_text(encoding="utf-8")
SKELETON = (REPO_ROOT / "quizzes" / "quiz_search.py").read_text(encoding="utf-8")
# It waits rather than spins: the grader must stop it either way, and it leaves the cores to the other tests.
HANGING = SOLUTION.replace("import mmembed\n", "import mmembed\n\nimport time\n\ntime.sleep(10**6)\n", 1)
SUBMISSIONS = {"correct": (SOLUTION, config.MAX_SCORE), "skeleton": (SKELETON, 0), "hanging": (HANGING, 0)}
GRADESCOPE_FIELDS = {"score", "execution_time", "output", "visibility", "stdout_visibility", "tests"}
TEST_FIELDS = {"name", "score", "max_score", "output", "visibility"}
CI_TEMPLATES = REPO_ROOT / "autograder" / "templates" / "ci"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bundle")
    result = run_python(["-m", "autograder", "gradescope", "--output", str(folder / "autograder.zip")], timeout=300)
    assert result.returncode == 0, result.stderr
    return folder / "autograder.zip"


def run_autograder(bundle: Path, root: Path, submission: str) -> subprocess.CompletedProcess:
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source")
        for info in archive.infolist():  # zipfile does not restore permissions; Gradescope does
            mode = info.external_attr >> 16
            if mode:
                (root / "source" / info.filename).chmod(mode & 0o777)
    (root / "submission").mkdir()
    (root / "submission" / "quiz_search.py").write_text(submission, encoding="utf-8")
    (root / "results").mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MMEMBED_", "HF_"))}
    env.update(AUTOGRADER_ROOT=str(root), PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
    return subprocess.run(
        [str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True, timeout=900
    )


@pytest.fixture(scope="module")
def graded(bundle, tmp_path_factory):
    def one(name):
        root = tmp_path_factory.mktemp(f"gradescope-{name}")
        result = run_autograder(bundle, root, SUBMISSIONS[name][0])
        return name, (result, root / "results" / "results.json")

    with ThreadPoolExecutor(max_workers=len(SUBMISSIONS)) as pool:
        return dict(pool.map(one, SUBMISSIONS))


def test_the_bundle_has_setup_and_run_autograder_at_its_root(bundle):
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    assert {"setup.sh", "run_autograder", "pyproject.toml", "constraints.txt", "solutions/quiz_search.py"} <= names
    assert "models/mini/model.safetensors" in names and "images/quiz-image/val_199.JPEG" in names
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert not any("__pycache__" in name or name.startswith(("tests/", "lectures/")) for name in names)
    setup = zipfile.ZipFile(bundle).read("setup.sh").decode()
    assert "download.pytorch.org/whl/cpu" in setup and "--constraint constraints.txt" in setup
    assert subprocess.run(["bash", "-n", "-c", setup]).returncode == 0  # the shell can parse it


@pytest.mark.parametrize("name", list(SUBMISSIONS))
def test_run_autograder_writes_gradescopes_results(graded, name):
    result, path = graded[name]
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(path.read_text(encoding="utf-8"))
    assert GRADESCOPE_FIELDS <= set(data)
    assert data["score"] == SUBMISSIONS[name][1] == sum(test["score"] for test in data["tests"])
    assert data["visibility"] in {"visible", "hidden", "after_due_date", "after_published"}
    assert data["stdout_visibility"] in {"visible", "hidden", "after_due_date", "after_published"}
    for test in data["tests"]:
        assert TEST_FIELDS <= set(test) and isinstance(test["score"], int)
    text = path.read_text(encoding="utf-8")
    assert not any(secret in text for secret in config.HIDDEN_QUERIES)


def test_a_hang_costs_the_time_limit_from_the_reference_run_and_says_so(graded):
    _, path = graded["hanging"]
    data = json.loads(path.read_text(encoding="utf-8"))
    message = data["tests"][0]["output"]
    assert "시간 제한(" in message and "기준 풀이가 이 컴퓨터에서" in message, message
    limit = float(message.split("시간 제한(")[1].split("초")[0])
    reference = float(message.split("기준 풀이가 이 컴퓨터에서 ")[1].split("초")[0])
    assert limit == max(config.MIN_TIMEOUT, round(config.TIMEOUT_FACTOR * reference))
    assert data["execution_time"] < limit + 60  # the hang cost one limit, then the rest ran again
    assert data["extra_data"]["status"] == "timeout"


# ------------------------------------------------------------------------------- CI files for students' repos
def commands(workflow) -> list[str]:
    """Every shell command a GitHub or GitLab workflow file runs."""
    found = []
    if isinstance(workflow, dict):
        for key, value in workflow.items():
            if key in ("run", "command") and isinstance(value, str):
                found.extend(line.strip() for line in value.splitlines() if line.strip())
            elif key in ("script", "before_script") and isinstance(value, list):
                found.extend(value)
            else:
                found.extend(commands(value))
    elif isinstance(workflow, list):
        for item in workflow:
            found.extend(commands(item))
    return found


def test_github_classroom_workflow_gives_each_check_its_points():
    workflow = yaml.safe_load((CI_TEMPLATES / "github-classroom.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    graders = [
        step for step in steps if str(step.get("uses", "")).startswith("classroom-resources/autograding-command")
    ]
    assert {step["with"]["test-name"]: step["with"]["max-score"] for step in graders} == config.POINTS
    reporter = next(step for step in steps if "grading-reporter" in str(step.get("uses", "")))
    assert reporter["with"]["runners"].split(",") == [step["id"] for step in graders]
    assert set(reporter["env"]) == {f"{step['id'].upper()}_RESULTS" for step in graders}


@pytest.mark.parametrize("template", ["github-classroom.yml", "gitlab-ci.yml"])
def test_ci_files_call_commands_that_exist(template, tmp_path):
    workflow = yaml.safe_load((CI_TEMPLATES / template).read_text(encoding="utf-8"))
    grading = [command for command in commands(workflow) if command.startswith("python -m autograder")]
    assert any(" quiz_search.py --results results.json --junit report.xml" in command for command in grading)
    modules = set()
    for command in grading:  # each check named exists, and each module answers --help
        module, *rest = command.removeprefix("python -m ").split()
        modules.add(module)
        if module == "autograder.ci" and len(rest) == 2:
            assert rest[1] in config.POINTS
    for module in sorted(modules):
        help_run = run_python(["-m", module, "--help"], timeout=120)
        assert help_run.returncode == 0 and "Traceback" not in help_run.stderr, help_run.stderr


def test_junit_report_matches_results_json(tmp_path, graded):
    from autograder.report import junit

    _, path = graded["skeleton"]
    data = json.loads(path.read_text(encoding="utf-8"))
    root = ET.fromstring(junit(data))
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert root.tag == "testsuites" and int(suite.get("tests")) == len(cases) == len(data["tests"])
    assert int(suite.get("failures")) == sum(test["score"] < test["max_score"] for test in data["tests"])
    assert [case.get("name") for case in cases] == [test["name"] for test in data["tests"]]
    scores = {p.get("name"): int(p.get("value")) for p in suite.find("properties")}
    assert scores["score"] == data["score"] and scores["max_score"] == data["max_score"]
    assert sum(scores[f"score.{name}"] for name in config.POINTS) == data["score"]  # per check, in the suite
