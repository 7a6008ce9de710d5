"""The lecture checks can fail: a notebook made to go wrong in each way they look for is run in Lab the way the
lectures are, and every check reports its failure. (The notebook is written into the server's mirror only.)"""

import nbformat
import pytest

from tests.browser import notebook_checks as checks
from tests.browser.lab_runs import run_in_lab

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("jupyterlab")]

CONTROL = "checks-control/broken.ipynb"
CELLS = [
    nbformat.v4.new_markdown_cell("# 일부러 고장 낸 노트북\n\n검사가 실패를 알아보는지 확인합니다."),
    # A plot that is closed before Lab can show it.
    nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\n\nplt.plot([0, 1], [1, 0])\nplt.close()"),
    # A widget bar and a text bar left at 4 of 10.
    nbformat.v4.new_code_cell(
        "from tqdm.auto import tqdm\n\nfor step in tqdm(range(10), desc='stopped'):\n    if step == 4:\n        break"
    ),
    nbformat.v4.new_code_cell(
        "import sys\nfrom tqdm import tqdm as text_tqdm\n\n"
        "for step in text_tqdm(range(10), file=sys.stderr):\n    if step == 4:\n        break"
    ),
    nbformat.v4.new_code_cell("raise ValueError('on purpose')"),
]


@pytest.fixture(scope="module")
def broken_run(lab_page, jupyter_lab, artifacts):
    notebook = nbformat.v4.new_notebook(cells=CELLS)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = jupyter_lab.root / CONTROL
    path.parent.mkdir(exist_ok=True)
    nbformat.write(notebook, path)
    try:
        return run_in_lab(lab_page, jupyter_lab, CONTROL, seconds=60, screenshot=artifacts / "checks_control.png")
    finally:
        jupyter_lab.shut_down_kernels()


def test_an_error_is_reported(broken_run):
    assert broken_run.finished
    assert checks.error_outputs(broken_run.saved) == ["cell 4: ValueError: on purpose"]


def test_a_plot_without_its_figure_is_reported(broken_run):
    assert checks.drawing_cells(broken_run.saved) == [1]
    assert checks.shown_images(broken_run.cells[1]) == 0


def test_unfinished_progress_bars_are_reported(broken_run):
    assert checks.progress_cells(broken_run.saved) == [2, 3]
    widget_bar, text_bar = (checks.unfinished_bars(broken_run.cells[index]) for index in (2, 3))
    assert len(widget_bar) == 1 and "widget bar at 40%" in widget_bar[0], widget_bar
    assert text_bar == ["text bar at 40% (4/10)"]
