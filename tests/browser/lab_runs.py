"""A notebook run in JupyterLab as a student runs it, kept for every test that asks about it.

`run_in_lab` opens the notebook from the file browser, chooses Run > Run All Cells, waits for the kernel, saves the
copy (in the server's mirror, never the repository), makes the window as tall as the notebook, takes the
screenshot, and closes the tab. What the tests look at afterwards is all in the returned `LabRun`.
"""

from dataclasses import dataclass
from pathlib import Path

import nbformat

from tests.browser import lab_ui
from tests.helpers import REPO_ROOT

WINDOW = {"width": 1280, "height": 900}


@dataclass
class LabRun:
    notebook: str  # path relative to the repository (and to the server's mirror)
    kernel: str  # the kernel Lab chose, as its toolbar names it
    finished: bool  # Run All ended (kernel idle) within the time limit
    seconds: float
    limit: float
    saved: nbformat.NotebookNode  # the copy as Lab saved it after the run
    cells: list[dict]  # every cell as the page showed it (lab_ui.CELLS)
    screenshot: Path
    words: list[dict]  # words of Korean prose and their boxes in the screenshot (lab_ui.HANGUL_WORDS)
    page_errors: list[str]  # uncaught JavaScript errors in Lab meanwhile


def new_page(browser):
    return browser.new_page(viewport=dict(WINDOW))


def run_in_lab(page, lab, notebook: str, seconds: float, screenshot: Path) -> LabRun:
    page_errors = []

    def record(error):
        page_errors.append(str(error))

    page.on("pageerror", record)
    page.set_viewport_size(WINDOW)
    try:
        lab_ui.open_from_file_browser(page, notebook)
        kernel = lab_ui.kernel_name(page)
        finished, taken = lab_ui.run_all(page, seconds)
        lab_ui.save(page)
        lab_ui.screenshot_notebook(page, screenshot)
        cells = lab_ui.cells(page)
        words = lab_ui.hangul_words(page, f"{lab_ui.NOTEBOOK} .jp-MarkdownOutput")
        lab_ui.close_notebook(page)
    finally:
        page.remove_listener("pageerror", record)
        page.set_viewport_size(WINDOW)
    saved = nbformat.read(lab.root / notebook, as_version=4)
    assert len(cells) == len(saved.cells), (
        f"the page showed {len(cells)} cells, the saved {notebook} has {len(saved.cells)}"
    )
    return LabRun(notebook, kernel, finished, taken, seconds, saved, cells, screenshot, words, page_errors)


class LabRuns:
    """Each notebook runs once per session, in the one Lab page; a failed run is kept as its error, not retried."""

    def __init__(self, page, lab, artifacts: Path):
        self.page, self.lab, self.artifacts = page, lab, artifacts
        self._runs: dict[str, LabRun | Exception] = {}

    def of(self, notebook: Path, seconds: float) -> LabRun:
        relative = notebook.relative_to(REPO_ROOT).as_posix()
        if relative not in self._runs:
            try:
                screenshot = self.artifacts / f"{notebook.stem}.png"
                self._runs[relative] = run_in_lab(self.page, self.lab, relative, seconds, screenshot)
            except Exception as error:  # kept, and raised again for every test that reads this run
                self._runs[relative] = error
            finally:
                self.lab.shut_down_kernels()
        run = self._runs[relative]
        if isinstance(run, Exception):
            raise run
        return run
