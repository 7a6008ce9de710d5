"""Every lecture as a student meets it: opened from JupyterLab's file browser in Chromium, Run > Run All Cells,
offline (MMEMBED_OFFLINE=1). Each lecture runs once; these tests read that run. Screenshots:
test-artifacts/browser/<lecture>.png."""

import pytest

from tests.browser import notebook_checks as checks
from tests.lectures.conftest import LECTURES, seconds_limit

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("jupyterlab")]

lectures = pytest.mark.parametrize("lecture", LECTURES, ids=[path.stem for path in LECTURES])


@lectures
def test_run_all_finishes_without_errors(lecture, lab_runs, record_property):
    run = lab_runs.of(lecture, seconds_limit(lecture))
    record_property("seconds", round(run.seconds, 1))
    print(f"{lecture.name}: Run All took {run.seconds:.0f} s in JupyterLab (kernel {run.kernel!r})")

    assert run.kernel.startswith("Python 3"), f"Lab opened {lecture.name} with kernel {run.kernel!r}"
    assert run.finished, f"{lecture.name}: the kernel was still busy {run.limit:.0f} s after Run All"
    assert not checks.error_outputs(run.saved)
    assert not run.page_errors, f"JupyterLab raised in the page: {run.page_errors}"
    assert run.screenshot.stat().st_size > 0


@lectures
def test_every_plot_shows_its_figure(lecture, lab_runs):
    run = lab_runs.of(lecture, seconds_limit(lecture))
    drawing = checks.drawing_cells(run.saved)
    assert drawing, f"{lecture.name} draws nothing: the figure check would have nothing to check"

    without_figure = [index for index in drawing if checks.shown_images(run.cells[index]) == 0]
    broken = [index for index, cell in enumerate(run.cells) if checks.broken_images(cell)]
    assert not without_figure, f"{lecture.name}: cells {without_figure} draw a plot but show no image"
    assert not broken, f"{lecture.name}: cells {broken} show an image that did not load"


@lectures
def test_progress_bars_show_and_finish(lecture, lab_runs):
    run = lab_runs.of(lecture, seconds_limit(lecture))
    without_bar = [
        index for index in checks.progress_cells(run.saved) if not checks.shows_progress_bar(run.cells[index])
    ]
    unfinished = {index: bars for index, cell in enumerate(run.cells) if (bars := checks.unfinished_bars(cell))}
    widget_errors = {index: errors for index, cell in enumerate(run.cells) if (errors := checks.widget_errors(cell))}
    assert not without_bar, f"{lecture.name}: cells {without_bar} call tqdm but show no progress bar"
    assert not unfinished, f"{lecture.name}: progress bars that did not finish: {unfinished}"
    assert not widget_errors, f"{lecture.name}: widgets that did not display: {widget_errors}"
