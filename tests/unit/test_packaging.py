"""The install files agree: pyproject ranges, the constraints CI installs, environment.yml, Makefile, CI, README."""

import re
import sys
import tomllib

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from tests.helpers import REPO_ROOT

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def constraints() -> dict[str, str]:
    pins = {}
    for line in (REPO_ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def declared_requirements() -> list[Requirement]:
    project = PYPROJECT["project"]
    listed = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    return [Requirement(r) for r in listed]


def makefile_variable(name: str) -> str:
    match = re.search(rf"^{name} \?= (.+)$", (REPO_ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
    return match.group(1).strip()


def test_every_declared_range_has_a_pin_inside_it():
    pins = constraints()
    for requirement in declared_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not pinned in constraints.txt"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside {requirement.specifier}"


def test_every_declared_requirement_has_a_lower_bound():
    for requirement in declared_requirements():
        assert any(spec.operator == ">=" for spec in requirement.specifier), requirement


def test_torch_range_admits_the_cpu_build_on_disk():
    torch = next(r for r in declared_requirements() if r.name == "torch")
    assert torch.specifier.contains("2.13.0") and constraints()["torch"] == "2.13.0"


def test_environment_yml_installs_what_make_installs():
    environment = yaml.safe_load((REPO_ROOT / "environment.yml").read_text(encoding="utf-8"))
    python = next(d for d in environment["dependencies"] if isinstance(d, str) and d.startswith("python="))
    assert makefile_variable("PYTHON") == "python" + python.removeprefix("python=")
    pip_lines = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    assert pip_lines == [
        "--extra-index-url https://download.pytorch.org/whl/cpu",  # extra: PyPI stays the index for the rest
        f"--constraint {makefile_variable('CONSTRAINTS')}",
        f"--editable .[{makefile_variable('EXTRAS')}]",
    ]
    # The pin has no local label, so the CPU index's build is admitted (and preferred: 2.13.0+cpu > 2.13.0).
    assert SpecifierSet(f"=={constraints()['torch']}").contains("2.13.0+cpu")
    assert set(makefile_variable("EXTRAS").split(",")) == set(PYPROJECT["project"]["optional-dependencies"])


def test_build_backend_accepts_the_spdx_licence():
    """license = "MIT" (PEP 639) is a configuration error before setuptools 77: the floor must exclude those.
    Checked by hand: setuptools 77.0.3 builds the sdist and wheel (License-Expression: MIT), 76.1.0 refuses."""
    assert PYPROJECT["project"]["license"] == "MIT"
    setuptools = next(Requirement(r) for r in PYPROJECT["build-system"]["requires"] if r.startswith("setuptools"))
    assert setuptools.specifier.contains("77.0.3") and not setuptools.specifier.contains("76.1.0")


def test_requires_python_admits_the_course_python():
    environment = (REPO_ROOT / "environment.yml").read_text(encoding="utf-8")
    course_python = re.search(r"python=(\d+\.\d+)", environment).group(1)
    assert SpecifierSet(PYPROJECT["project"]["requires-python"]).contains(course_python + ".0")
    assert SpecifierSet(PYPROJECT["project"]["requires-python"]).contains(".".join(map(str, sys.version_info[:3])))


def test_ci_runs_the_readme_test_command():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in readme and "make demo" in readme
    assert re.search(r"^make test\b", ci, re.M), ".ci/run must call the README's test command"


def test_the_readme_names_only_commands_that_exist():
    """Every `python -m MODULE [COMMAND]` of the README and the lectures' prose names a module of this repository that
    exists, and for the two command lines a subcommand they have (autograder's default takes a folder instead)."""
    import importlib.util

    from autograder.__main__ import parser as autograder_parser
    from mmembed.cli import parser as mmembed_parser

    def subcommands(parser) -> set[str]:
        return set(next(action for action in parser._actions if action.choices and action.dest != "help").choices)

    known = {"mmembed": subcommands(mmembed_parser()), "autograder": subcommands(autograder_parser())}
    texts = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "lectures").glob("*.ipynb"))]
    named = set()
    for text in texts:
        content = text.read_text(encoding="utf-8").replace("\\n", "\n")
        named |= set(re.findall(r"python -m ((?:mmembed|autograder|tools)(?:\.\w+)*)(?: ([a-z][\w-]*))?", content))
    assert ("mmembed", "index") in named and ("autograder", "gradescope") in named
    for module, word in sorted(named):
        assert importlib.util.find_spec(module) is not None, f"python -m {module}: no such module"
        if module == "mmembed" and word:  # "python -m mmembed" alone: the command line in general
            assert word in known["mmembed"], f"python -m mmembed {word}: no such command"
        if module == "autograder" and word in known["autograder"] | {"ci", "grade"}:
            assert word in known["autograder"], f"python -m autograder {word}: no such command"
