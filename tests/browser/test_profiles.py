"""The two Jupyter profiles the repository ships (jupyter/student, jupyter/instructor), in JupyterLab.

Each profile is the Jupyter configuration folder (JUPYTER_CONFIG_DIR) of its own server. The student's JupyterLab
has nbgrader's Assignment List and none of the instructor's tools: no Formgrader or Course List in the menu (and
their server pages, /formgrader and /formgraders, answer 404), no Create Assignment panel. The instructor's has
them all. Screenshots of each profile's Nbgrader menu go to test-artifacts/browser/.
"""

import urllib.error
import urllib.request

import pytest

from tests.browser.jupyterlab_server import start_jupyterlab, stop_jupyterlab
from tests.browser.lab_runs import new_page
from tests.browser.lab_ui import open_lab
from tests.helpers import REPO_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("jupyterlab")]

INSTRUCTOR_TOOLS = ("Course List", "Formgrader", "Create assignment")
SIDE_PANELS = "[...document.querySelectorAll('.jp-SideBar .lm-TabBar-tab')].map(tab => tab.title || tab.innerText)"


def what_lab_shows(browser, lab, screenshot):
    """The Nbgrader menu's items, the side panels' titles, and which nbgrader server pages answer."""
    page = new_page(browser)
    try:
        open_lab(page, lab, workspace="profiles")
        page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
        items = page.locator(".lm-Menu-content .lm-Menu-itemLabel")
        items.first.wait_for()
        page.screenshot(path=screenshot)
        menu = [text for text in items.all_inner_texts() if text.strip()]
        panels = page.evaluate(SIDE_PANELS)
    finally:
        page.close()
    return menu, panels, {path: status(lab, path) for path in ("formgrader", "formgraders", "assignments")}


def status(lab, path: str) -> int:
    """The HTTP status of one of nbgrader's server pages (its handlers sit beside /api, not under it)."""
    request = urllib.request.Request(f"{lab.url}/{path}", headers={"Authorization": f"token {lab.token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture(params=["student", "instructor"])
def profile_lab(request, tmp_path):
    lab = start_jupyterlab(tmp_path, profile=REPO_ROOT / "jupyter" / request.param)
    yield request.param, lab
    stop_jupyterlab(lab)


def test_each_profile_shows_its_tools(profile_lab, browser, artifacts):
    profile, lab = profile_lab
    menu, panels, pages = what_lab_shows(browser, lab, artifacts / f"profile-{profile}.png")
    assert "Assignment List" in menu and pages["assignments"] != 404, pages  # 400 without a course_id: it is there
    create_panel = any("Create Assignment" in title for title in panels)
    if profile == "student":
        assert not set(INSTRUCTOR_TOOLS) & set(menu), menu
        assert not create_panel, panels
        assert pages["formgrader"] == 404 and pages["formgraders"] == 404, pages
    else:
        assert set(INSTRUCTOR_TOOLS) <= set(menu), menu
        assert create_panel, panels
        assert pages["formgrader"] == 200 and pages["formgraders"] == 200, pages
