"""The student edition, built once per test session into a temporary folder (a copy: no pip, a few seconds)."""

import os
from pathlib import Path

import pytest

from tools.make_student_edition import build


@pytest.fixture(scope="session")
def edition(tmp_path_factory) -> Path:
    """Every lecture and quiz, as `make student-edition` builds them."""
    return build(tmp_path_factory.mktemp("edition") / "course")


@pytest.fixture(scope="session")
def edition_env(edition) -> dict:
    """A child process's environment in which `import mmembed` is the edition's own copy, offline."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MMEMBED_", "PYTHONPATH"))}
    env.update(PYTHONPATH=str(edition), MMEMBED_OFFLINE="1", PYTHONIOENCODING="utf-8")
    return env
