"""The notebooks: every lecture runs top to bottom in a real Jupyter kernel, offline and in time, and shows
at least one figure; every committed notebook is stored without outputs."""

import nbformat
import pytest

from tests.helpers import REPO_ROOT
from tests.lectures.conftest import LECTURES, executed_lecture, lecture_group, seconds_limit

pytestmark = pytest.mark.slow

COMMITTED = sorted(
    path
    for folder in ("lectures", "quizzes", "solutions")
    for path in (REPO_ROOT / folder).rglob("*.ipynb")
    if ".ipynb_checkpoints" not in path.parts
)


def names(paths):
    return [path.relative_to(REPO_ROOT).as_posix() for path in paths]


@pytest.mark.parametrize(
    "notebook",
    [pytest.param(path, marks=pytest.mark.xdist_group(lecture_group(path))) for path in LECTURES],
    ids=names(LECTURES),
)
def test_lecture_runs_top_to_bottom(notebook, record_property):
    nb, seconds = executed_lecture(notebook)
    limit = seconds_limit(notebook)
    record_property("seconds", round(seconds, 1))
    print(f"{notebook.name}: {seconds:.0f} s with MMEMBED_OFFLINE=1")

    outputs = [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), f"{notebook.name} shows no figure"
    assert seconds < limit, f"{notebook.name} took {seconds:.0f} s (limit {limit} s)"


@pytest.mark.parametrize("notebook", COMMITTED, ids=names(COMMITTED))
def test_committed_notebook_has_no_outputs(notebook):
    nb = nbformat.read(notebook, as_version=4)
    dirty = [
        index
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{notebook.name}: cells {dirty} have outputs or execution counts; clear them before committing"


@pytest.mark.parametrize("notebook", LECTURES, ids=names(LECTURES))
def test_lecture_starts_with_goals_and_ends_with_summary(notebook):
    cells = nbformat.read(notebook, as_version=4).cells
    assert cells[0].cell_type == "markdown" and "학습 목표" in cells[0].source
    assert cells[-1].cell_type == "markdown" and "정리" in cells[-1].source
