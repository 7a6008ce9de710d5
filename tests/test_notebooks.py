"""The notebooks: every lecture runs top to bottom in a real Jupyter kernel, offline and in time, and shows
at least one figure; every committed notebook is stored without outputs."""

import nbformat
import pytest

from .helpers import REPO_ROOT, execute_lecture

LECTURES = sorted((REPO_ROOT / "lectures").glob("*.ipynb"))
COMMITTED = sorted(
    path for folder in ("lectures", "quizzes", "solutions") for path in (REPO_ROOT / folder).rglob("*.ipynb")
    if ".ipynb_checkpoints" not in path.parts
)
# per notebook, on 2 CPU cores; issue 5 asks under 60 s for lectures 01-04, issue 7 under 90 s for 05-06
SECONDS_LIMIT = {
    "01_modality_and_clip.ipynb": 60,
    "02_cosine_similarity.ipynb": 60,
    "03_topk_search.ipynb": 60,
    "04_image_search.ipynb": 60,
    "05_korean_multilingual_clip.ipynb": 90,
    "06_align_vit_coyo.ipynb": 90,
    "07_train_your_own_clip.ipynb": 180,
}
DEFAULT_SECONDS_LIMIT = 120


def names(paths):
    return [path.relative_to(REPO_ROOT).as_posix() for path in paths]


def run_offline(notebook):
    """The lecture executed offline (MMEMBED_OFFLINE=1), shared with the claims tests; fails on a cell error."""
    nb, seconds, error = execute_lecture(notebook, SECONDS_LIMIT.get(notebook.name, DEFAULT_SECONDS_LIMIT))
    if error is not None:
        pytest.fail(f"{notebook.name} failed offline: {error}")
    return nb, seconds


@pytest.mark.parametrize("notebook", LECTURES, ids=names(LECTURES))
def test_lecture_runs_top_to_bottom(notebook, record_property):
    nb, seconds = run_offline(notebook)
    limit = SECONDS_LIMIT.get(notebook.name, DEFAULT_SECONDS_LIMIT)
    record_property("seconds", round(seconds, 1))
    print(f"{notebook.name}: {seconds:.0f} s with MMEMBED_OFFLINE=1")

    outputs = [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), f"{notebook.name} shows no figure"
    assert seconds < limit, f"{notebook.name} took {seconds:.0f} s (limit {limit} s)"


@pytest.mark.parametrize("notebook", COMMITTED, ids=names(COMMITTED))
def test_committed_notebook_has_no_outputs(notebook):
    nb = nbformat.read(notebook, as_version=4)
    dirty = [index for index, cell in enumerate(nb.cells)
             if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)]
    assert not dirty, f"{notebook.name}: cells {dirty} have outputs or execution counts; clear them before committing"


@pytest.mark.parametrize("notebook", LECTURES, ids=names(LECTURES))
def test_lecture_starts_with_goals_and_ends_with_summary(notebook):
    cells = nbformat.read(notebook, as_version=4).cells
    assert cells[0].cell_type == "markdown" and "학습 목표" in cells[0].source
    assert cells[-1].cell_type == "markdown" and "정리" in cells[-1].source
