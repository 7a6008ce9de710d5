"""The course website as `make site` built it (build/site), from the lectures this test run executed.

These tests are marked `site`: the first pytest run of `make test` leaves them out (pyproject's addopts), runs the
lectures and writes their executed copies; `make site` builds the pages; a second run (`pytest -m site`) reads them.
The `site` fixture is in tests/conftest.py, shared with tests/browser/test_site.py.
"""

import pytest

from tools.build_site import lecture_names


@pytest.fixture(scope="session")
def lecture_pages(site):
    """{lecture stem: its page}, in the lectures' order."""
    return {name.removesuffix(".ipynb"): site / f"{name.removesuffix('.ipynb')}.html" for name in lecture_names()}
