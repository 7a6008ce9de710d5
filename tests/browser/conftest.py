"""Fixtures of the browser tests: one JupyterLab server (serving the student edition from its own venv) and one
system Chromium for the whole session, and each notebook's run in Lab, shared by the tests that read it.

Every test here is in the xdist group "jupyterlab", so under `pytest -n 2 --dist loadgroup` one worker runs them
all against the one server, while the other worker runs the rest of the suite.
Screenshots go to test-artifacts/browser/ (kept by CI, ignored by git).
"""

import shutil

import pytest

from tests.browser.jupyterlab_server import start_jupyterlab, stop_jupyterlab
from tests.browser.lab_runs import LabRuns, new_page
from tests.browser.lab_ui import open_lab
from tests.helpers import REPO_ROOT
from tests.student_copy import student_copy

ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"
# Playwright's own browser download is not used: Playwright drives the Chromium the system has (Debian
# `chromium`). These flags work as root in a container; without the background-networking ones Chromium keeps
# trying to reach Google. Each launch gets a fresh temporary profile (user-data dir) from Playwright.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("no system Chromium on PATH (Debian: apt-get install chromium; .ci/run installs it)")
    return path


@pytest.fixture(scope="session")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def jupyter_lab(tmp_path_factory):
    copy = student_copy()  # the lectures and quiz 1 as students open them
    lab = start_jupyterlab(tmp_path_factory.mktemp("jupyterlab"), source=copy.edition, python=copy.python)
    yield lab
    stop_jupyterlab(lab)


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def lab_page(browser, jupyter_lab):
    """One browser tab with JupyterLab loaded, in which every notebook is opened in turn."""
    page = new_page(browser)
    open_lab(page, jupyter_lab, workspace="browser-tests")
    yield page
    page.close()


@pytest.fixture(scope="session")
def lab_runs(lab_page, jupyter_lab, artifacts):
    return LabRuns(lab_page, jupyter_lab, artifacts)
