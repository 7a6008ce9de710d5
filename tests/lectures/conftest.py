"""The lectures, each run once per test session offline (MMEMBED_OFFLINE=1) in a real kernel.

`executed_lecture(name)` owns the time limits: every test that reads a lecture's run gets the same run. Under
pytest-xdist, the tests of one lecture share a worker through their `xdist_group` (see `lecture_group`). The same run
also runs the checks of the lecture's answer key, after the lecture and outside its notebook (`answer_key_results`).
"""

import pytest

from tests.helpers import REPO_ROOT, execute_lecture

LECTURES_DIR = REPO_ROOT / "lectures"
LECTURES = sorted(LECTURES_DIR.glob("[0-9][0-9]*_*.ipynb"))

# Seconds a lecture may take offline on 2 CPU cores (the whole notebook, and each cell), by its number
# ("05a" for lectures/05a_*.ipynb).
SECONDS_LIMIT = {
    "01": 60,
    "02": 60,
    "03": 60,
    "04": 90,
    "05a": 90,
    "05b": 90,
    "06a": 90,
    "06b": 90,
    "07": 180,
    "08a": 240,
    "08b": 180,
}
DEFAULT_SECONDS_LIMIT = 180


def lecture_number(notebook) -> str:
    return notebook.name.split("_", 1)[0]


def seconds_limit(notebook) -> int:
    return SECONDS_LIMIT.get(lecture_number(notebook), DEFAULT_SECONDS_LIMIT)


def lecture_group(notebook) -> str:
    """The xdist group of a lecture's tests, so its one run is shared by every test that reads it."""
    return f"lecture-{lecture_number(notebook)}"


def lecture_run_marks(notebook) -> list:
    """The marks of a test that reads `notebook`'s one offline run (the `nb` fixture): `slow`, and the lecture's
    xdist group, so that it shares that run with the lecture's other tests. A module's `pytestmark` for a module
    whose every test reads the run; `reads_the_lecture_run` for one test."""
    return [pytest.mark.slow, pytest.mark.xdist_group(lecture_group(notebook))]


def reads_the_lecture_run(notebook):
    """Decorator: `lecture_run_marks(notebook)` on one test."""

    def mark(test):
        for lecture_mark in lecture_run_marks(notebook):
            test = lecture_mark(test)
        return test

    return mark


def lecture_path(number: str):
    """lectures/<number>_*.ipynb, e.g. lecture_path("05a")."""
    matches = [path for path in LECTURES if lecture_number(path) == number]
    assert len(matches) == 1, f"{len(matches)} lectures are numbered {number!r}"
    return matches[0]


def executed_lecture(notebook):
    """(executed notebook, seconds) of the lecture's one offline run; the test fails if a cell failed."""
    run = execute_lecture(notebook, seconds_limit(notebook))
    if run.error is not None:
        pytest.fail(f"{notebook.name} failed offline: {run.error}")
    return run.nb, run.seconds


def answer_key_results(notebook):
    """What each check block of the lecture's answer key printed, in that same run, after the lecture's last cell
    (tests.helpers.execute_lecture); the test fails if the lecture itself failed."""
    executed_lecture(notebook)
    return execute_lecture(notebook, seconds_limit(notebook)).key_results


@pytest.fixture(scope="module")
def nb(request):
    """The executed notebook of the test module's lecture (its NOTEBOOK), from the session's one run."""
    return executed_lecture(request.module.NOTEBOOK)[0]


@pytest.fixture
def online_nb(request, monkeypatch):
    """The test module's lecture run top to bottom online, with the real models and data (for `online` tests)."""
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.delenv("MMEMBED_OFFLINE", raising=False)
    monkeypatch.delenv("MMEMBED_MODEL", raising=False)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = request.module.NOTEBOOK
    online = nbformat.read(notebook, as_version=4)
    NotebookClient(
        online, kernel_name="python3", timeout=1800, resources={"metadata": {"path": str(notebook.parent)}}
    ).execute()
    return online
