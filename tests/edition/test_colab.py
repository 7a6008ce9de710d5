"""The student edition in Google Colab (issue 34, item 7): the setup cell that opens every notebook, and the badges.

The builder's part is checked on the editions it builds: one setup cell on top of every lecture and quiz notebook,
the rest of the notebook unchanged, the Colab URL (`--colab-url`) written in, and the README's badges.

Colab itself cannot run here, so a stand-in plays it (`colab_stand_in`): a fresh virtual environment whose
"preinstalled" packages are the test environment's (links in its site-packages to the test environment's, less
`mmembed`, which Colab does not have: torch, transformers, Jupyter are there as on Colab), a stub `google.colab` on
its path, and a kernel that imports it at start (an IPython startup file), as Colab's kernels do. The edition is
published as a one-commit git repository in a temporary folder (`colab_edition`), and its file:// URL stands in for
the hosted one; the setup cell clones it under MMEMBED_COLAB_ROOT in place of /content. pip installs the edition as
the cell asks, with build isolation (its setuptools comes from the machine's package index, as Colab's from PyPI).
Then lecture 02, the lightest, runs whole from the clone, offline, in the same kind of kernel. Outside Colab (the
test environment's own kernel) the cell must do nothing.

A quiz notebook handed in from Colab carries the setup cell (and its Colab output): nbgrader must grade it as the
release, which the last test checks with the real autograde of a solved quiz 1.

What this cannot show: Colab's own machine (its Python 3.12, its preinstalled versions, its network and disk).
"""

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from autograder.sandbox import bubblewrap
from tests.helpers import OFFLINE_SETTINGS
from tests.student_copy import lend_packages
from tests.student_copy import run_in_kernel as execute
from tools.make_student_edition import COLAB_SETUP_ID as SETUP_ID
from tools.make_student_edition import REPO, build

pytestmark = pytest.mark.xdist_group("student_edition")  # the worker that builds the editions once

LECTURE = "02_cosine_similarity.ipynb"  # the lightest lecture
KERNEL = "colab-stand-in"
PREFIX = "[Colab 준비]"
HANGUL = re.compile(r"[가-힣]")


def notebooks(edition: Path) -> list[str]:
    """Every notebook of the edition, by its path there (the same path in the repository)."""
    return sorted(path.relative_to(edition).as_posix() for path in edition.rglob("*.ipynb") if ".git" not in path.parts)


def read(path: Path):
    return nbformat.read(path, as_version=4)


def assigned(source: str) -> dict[str, object]:
    """The constants the setup cell assigns at its top level (COURSE_URL, NOTEBOOK_FOLDER, ...)."""
    return {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
    }


def printed(cell) -> str:
    assert all(output.output_type == "stream" and output.name == "stdout" for output in cell.outputs), cell.outputs
    return "".join(output.text for output in cell.outputs)


def probe(code: str):
    """A cell that prints one JSON object (the last line of its output)."""
    return nbformat.v4.new_code_cell(f"import json as _json, os as _os, sys as _sys\nprint(_json.dumps({code}))")


def probed(cell) -> dict:
    return json.loads(printed(cell).splitlines()[-1])


# ------------------------------------------------------------------------------------------ the builder
def test_every_notebook_opens_with_one_setup_cell_and_is_otherwise_the_course_s(edition):
    names = notebooks(edition)
    assert len([name for name in names if name.startswith("lectures/")]) == len(
        list((REPO / "lectures").glob("*.ipynb"))
    )
    assert len([name for name in names if name.startswith("quizzes/quiz_notebooks/")]) == 3
    for name in names:
        nb, course = read(edition / name), read(REPO / name)
        setup = nb.cells[0]
        assert (setup.cell_type, setup.id, setup.outputs, setup.execution_count) == ("code", SETUP_ID, [], None), name
        assert [cell.id for cell in nb.cells].count(SETUP_ID) == 1
        assert [(cell.cell_type, cell.source) for cell in nb.cells[1:]] == [
            (cell.cell_type, cell.source) for cell in course.cells
        ], f"{name}: the edition's notebook is the course's with one cell more"
        constants = assigned(setup.source)
        assert constants["COURSE_URL"] == "", name  # built without --colab-url
        assert constants["NOTEBOOK_FOLDER"] == Path(name).parent.as_posix(), name


def test_the_setup_cell_is_plain_python_with_korean_comments(edition):
    source = read(edition / "lectures" / LECTURE).cells[0].source
    compile(source, "setup", "exec")
    comments = [line.strip() for line in source.splitlines() if line.strip().startswith("#")]
    assert len(comments) >= 5 and all(HANGUL.search(line) for line in comments), comments
    assert '"google.colab" in sys.modules' in source
    for forbidden in ("--upgrade", "-U", "--force-reinstall", "--constraint", "-c", "restart", "kill"):
        assert not re.search(rf"[\"']{re.escape(forbidden)}[\"']", source), forbidden  # as a pip or git argument
    assert "os.kill" not in source and "exit(" not in source  # no runtime restart


def test_the_colab_url_is_written_into_every_notebook(colab_edition):
    for name in notebooks(colab_edition):
        assert assigned(read(colab_edition / name).cells[0].source)["COURSE_URL"] == colab_edition.as_uri(), name
    log = subprocess.run(["git", "log", "--format=%s"], cwd=colab_edition, capture_output=True, text=True, check=True)
    assert len(log.stdout.splitlines()) == 1  # a fresh, one-commit history


def test_the_readme_without_an_address_says_how_the_instructor_adds_one(edition):
    readme = (edition / "README.md").read_text(encoding="utf-8")
    assert "## Colab에서 열기" in readme and "--colab-url" in readme
    assert "colab.research.google.com" not in readme and "@COLAB@" not in readme


def test_the_readme_has_an_open_in_colab_badge_per_notebook_for_a_github_address(tmp_path):
    url = "https://github.com/kim/mm-2026.git"
    edition = build(tmp_path / "course", lectures=["01", "05"], quizzes=["1", "3"], colab_url=url)
    readme = (edition / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\((https://colab\.research\.google\.com/github/[^)]+)\)", readme)
    names = [
        "lectures/01_modality_and_clip.ipynb",
        "lectures/05a_korean_clip_and_distillation.ipynb",
        "lectures/05b_multilingual_clip_demos.ipynb",
        "quizzes/quiz_notebooks/quiz1_cosine_similarity.ipynb",
    ]
    assert notebooks(edition) == sorted(names)
    assert links == [f"https://colab.research.google.com/github/kim/mm-2026/blob/main/{name}" for name in names]
    assert readme.count("colab-badge.svg") == len(names)
    for name in names:
        title = read(edition / name).cells[1].source.splitlines()[0].lstrip("# ")
        assert f"| {title} | [![Open In Colab]" in readme  # the notebook's own heading beside its badge
        assert assigned(read(edition / name).cells[0].source)["COURSE_URL"] == url


def test_the_colab_extra_is_what_the_lectures_need_beyond_the_dependencies(edition):
    import tomllib

    edition_project = tomllib.loads((edition / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    course = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    colab = edition_project["optional-dependencies"]["colab"]
    assert sorted(colab) == sorted(r for r in course["course"] if r.startswith(("datasets", "scikit-image")))
    assert not any(r.startswith(("nbgrader", "jupyterlab", "ipykernel", "torch")) for r in colab)


# ------------------------------------------------------------------------------------------ outside Colab
def test_outside_colab_the_cell_does_nothing(colab_edition, tmp_path):
    """In the test environment's own kernel (no google.colab): no output, same folder, same path, nothing cloned."""
    content = tmp_path / "content"
    content.mkdir()
    setup = read(colab_edition / "lectures" / LECTURE).cells[0]
    state = '{"cwd": _os.getcwd(), "path": _sys.path, "modules": sorted(_sys.modules)}'
    nb = nbformat.v4.new_notebook(cells=[probe(state), setup, probe(state)])
    env = {key: value for key, value in os.environ.items() if not key.startswith("MMEMBED_")}
    execute(nb, tmp_path, {**env, "MMEMBED_COLAB_ROOT": str(content), **OFFLINE_SETTINGS})
    before, after = probed(nb.cells[0]), probed(nb.cells[2])
    assert nb.cells[1].outputs == []
    assert after["cwd"] == before["cwd"] == str(tmp_path)
    assert after["path"] == before["path"]
    assert set(after["modules"]) == set(before["modules"])
    assert list(content.iterdir()) == []


# ------------------------------------------------------------------------------------------ in Colab's stand-in
@dataclass
class StandIn:
    python: Path
    kernels: Path  # a kernelspec folder with KERNEL, whose kernel imports google.colab at start
    env: dict  # the kernel's and pip's environment
    content: Path  # Colab's /content (MMEMBED_COLAB_ROOT)
    cache: Path  # mmembed's cache folder there (platformdirs, under XDG_CACHE_HOME)


def colab_stand_in(base: Path) -> StandIn:
    """A fresh venv standing in for Colab's Python: the test environment's packages "preinstalled" but mmembed."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", base / "venv"], check=True, capture_output=True)
    python = base / "venv" / "bin" / "python"
    lend_packages(python)  # the test environment's packages but mmembed: Colab's preinstalled ones
    stub = base / "colab-stub" / "google" / "colab"  # `google` stays a namespace package (protobuf's is one too)
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text('"""A stand-in for Colab\'s google.colab: the setup cell only looks for it."""\n')
    (site_packages(python) / "colab-stand-in.pth").write_text(f"{stub.parent.parent}\n")
    startup = base / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-google-colab.py").write_text("import google.colab  # as Colab's kernels do when they start\n")
    spec = base / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Colab", "language": "python"}))
    content = base / "content"
    content.mkdir()
    kept = ("MMEMBED_", "PYTHON", "VIRTUAL_ENV", "JUPYTER", "IPYTHON", "HF_", "XDG_", "CONDA")
    env = {key: value for key, value in os.environ.items() if not key.startswith(kept)}
    env.update(
        OFFLINE_SETTINGS,
        PATH=os.pathsep.join([str(python.parent), env.get("PATH", "")]),
        IPYTHONDIR=str(base / "ipython"),
        MMEMBED_COLAB_ROOT=str(content),
        XDG_CACHE_HOME=str(base / "cache"),
        HF_HOME=str(base / "hf-home"),
        HF_HUB_OFFLINE="1",
        PYTHONIOENCODING="utf-8",
    )
    return StandIn(python, base / "kernels", env, content, base / "cache" / "mmembed")


def site_packages(python: Path) -> Path:
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    return Path(purelib)


def pip_list(stand_in: StandIn) -> dict[str, str]:
    listed = subprocess.run(
        [stand_in.python, "-m", "pip", "list", "--format=json"],
        capture_output=True,
        text=True,
        env=stand_in.env,
        cwd=stand_in.content,  # as in Colab: not a folder with a course checkout's metadata in it
    )
    assert listed.returncode == 0, listed.stderr
    return {package["name"].lower(): package["version"] for package in json.loads(listed.stdout)}


@pytest.fixture(scope="module")
def colab(edition, colab_edition, tmp_path_factory):
    """The setup cell run in the stand-in as a student would in Colab, then lecture 02 from the clone."""
    stand_in = colab_stand_in(tmp_path_factory.mktemp("colab"))
    run = {"stand_in": stand_in, "clone": stand_in.content / colab_edition.name, "before": pip_list(stand_in)}
    started = time.monotonic()
    # The notebook as the student opens it from the published edition: first a copy built without an address.
    without_address = read(edition / "lectures" / LECTURE).cells[0]
    without_address.id = "colab-setup-without-address"  # two setup cells in one notebook: ids must differ
    setup = read(colab_edition / "lectures" / LECTURE).cells[0]
    state = '{"cwd": _os.getcwd(), "content": sorted(_os.listdir(_os.environ["MMEMBED_COLAB_ROOT"]))}'
    where = '{"cwd": _os.getcwd(), "mmembed": __import__("mmembed").__file__, "colab": "google.colab" in _sys.modules}'
    cells = [without_address, probe(state), setup, probe(where)]
    run["setup"] = execute(
        nbformat.v4.new_notebook(cells=cells), stand_in.content, stand_in.env, KERNEL, [stand_in.kernels]
    )
    run["setup_seconds"] = time.monotonic() - started
    run["after"] = pip_list(stand_in)
    direct_url = "import importlib.metadata as m; print(m.distribution('mmembed').read_text('direct_url.json'))"
    run["direct_url"] = subprocess.run(
        [stand_in.python, "-c", direct_url], capture_output=True, text=True, env=stand_in.env, cwd=stand_in.content
    ).stdout
    started = time.monotonic()
    lecture = read(run["clone"] / "lectures" / LECTURE)
    lecture.cells.append(probe(where))
    run["lecture"] = execute(lecture, stand_in.content, stand_in.env, KERNEL, [stand_in.kernels], timeout=600)
    run["lecture_seconds"] = time.monotonic() - started
    print(f"Colab stand-in: setup cell {run['setup_seconds']:.0f} s, lecture 02 {run['lecture_seconds']:.0f} s")
    return run


slow = pytest.mark.slow


@slow
def test_without_an_address_the_cell_says_so_in_korean_and_does_nothing(colab):
    said = printed(colab["setup"].cells[0])
    assert said.count("\n") == 1 and said.startswith(PREFIX) and "주소가 없어서" in said
    assert probed(colab["setup"].cells[1]) == {"cwd": str(colab["stand_in"].content), "content": []}


@slow
def test_it_clones_the_edition_once(colab, colab_edition):
    clone = colab["clone"]
    git = ["git", "-C", str(clone)]
    remote = subprocess.run([*git, "remote", "get-url", "origin"], capture_output=True, text=True, check=True)
    assert remote.stdout.strip() == colab_edition.as_uri()
    assert subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout == (
        subprocess.run(["git", "-C", str(colab_edition), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    )
    assert f"{clone}에 내려받습니다" in printed(colab["setup"].cells[2])
    again = printed(colab["lecture"].cells[0])  # the lecture's own setup cell, in a second kernel
    assert "내려받습니다" not in again and "설치합니다" not in again


@slow
def test_pip_adds_the_edition_editable_and_nothing_else(colab):
    before, after = colab["before"], colab["after"]
    assert "mmembed" not in before and "torch" in before and "transformers" in before
    assert {name: version for name, version in after.items() if before.get(name) != version} == {"mmembed": "0.1.0"}
    assert set(before) <= set(after)
    direct = json.loads(colab["direct_url"])
    assert direct["dir_info"] == {"editable": True} and direct["url"] == colab["clone"].as_uri()
    assert f"{PREFIX} 새로 설치한 패키지: mmembed-0.1.0\n" in printed(colab["setup"].cells[2])


@slow
def test_the_working_directory_is_the_clone_s_lectures_and_mmembed_the_clone_s(colab):
    lectures = colab["clone"] / "lectures"
    where = probed(colab["setup"].cells[3])
    assert where == {"cwd": str(lectures), "mmembed": str(colab["clone"] / "mmembed" / "__init__.py"), "colab": True}
    assert f"{PREFIX} 작업 폴더: {lectures}\n" in printed(colab["setup"].cells[2])


@slow
def test_it_names_the_embedding_cache_and_that_it_goes_with_the_runtime(colab):
    said = printed(colab["setup"].cells[2])
    assert f"{PREFIX} 임베딩 캐시: {colab['stand_in'].cache} (Colab 런타임이 끝나면" in said
    assert all(line.startswith(PREFIX) and HANGUL.search(line) for line in said.splitlines()), said


@slow
def test_lecture_02_runs_whole_from_the_clone(colab):
    nb = colab["lecture"]
    errors = [output for cell in nb.cells for output in cell.get("outputs", []) if output.output_type == "error"]
    stderr = [output.text for cell in nb.cells for output in cell.get("outputs", []) if output.get("name") == "stderr"]
    assert errors == [] and stderr == []
    where = probed(nb.cells[-1])
    assert where["mmembed"] == str(colab["clone"] / "mmembed" / "__init__.py")
    assert where["cwd"] == str(colab["clone"] / "lectures")


# ------------------------------------------------------------------------------------------ graded as the release
@slow
@pytest.mark.skipif(not bubblewrap.status().available, reason=f"no sandbox here: {bubblewrap.status().reason}")
def test_a_quiz_handed_in_from_colab_is_graded_as_the_release(colab_edition, tmp_path):
    """A solved quiz 1 from the edition, setup cell and its Colab output included: full marks from nbgrader."""
    from nbgrader.api import Gradebook

    from tests.grading import test_nbgrader as grading

    root = tmp_path / "course"
    assignment = grading.ASSIGNMENT
    shutil.copytree(grading.SOURCE, root / "solutions" / assignment)
    for package in ("autograder", "mmembed"):
        shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    grading.editable_clone(tmp_path)
    grading.check_ran(grading.nbgrader(root, "generate_assignment", assignment, "--force"))
    name = "quiz1_cosine_similarity"
    submitted = read(colab_edition / "quizzes" / assignment / f"{name}.ipynb")
    submitted.cells[0].outputs = [
        nbformat.v4.new_output(
            "stream", name="stdout", text=f"{PREFIX} 작업 폴더: /content/course/quizzes/{assignment}\n"
        )
    ]
    submitted = grading.solved(submitted, read(grading.SOURCE / f"{name}.ipynb"))
    (root / "submitted" / "colab" / assignment).mkdir(parents=True)
    nbformat.write(submitted, root / "submitted" / "colab" / assignment / f"{name}.ipynb")
    grading.check_ran(grading.nbgrader(root, "autograde", assignment, "--student", "colab"))
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        scores = {
            grade.name: grade.score
            for nb in gradebook.find_submission(assignment, "colab").notebooks
            for grade in nb.grades
        }
    assert scores == {**dict.fromkeys(grading.POINTS, 0), **grading.QUIZ1_POINTS}
