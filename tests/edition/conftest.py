"""The student edition, built once per test session into a temporary folder (a copy: no pip, a few seconds); and
once more as a git repository published for Colab (tests/edition/test_colab.py)."""

from pathlib import Path

import pytest

from tools.make_student_edition import build, main


@pytest.fixture(scope="session")
def edition(tmp_path_factory) -> Path:
    """Every lecture and quiz, as `make student-edition` builds them."""
    return build(tmp_path_factory.mktemp("edition") / "course")


@pytest.fixture(scope="session")
def colab_edition(tmp_path_factory) -> Path:
    """The edition as an instructor publishes it for Colab: a fresh one-commit git repository, built with
    `--git --colab-url URL` where URL is its own folder's file:// address (standing in for the hosted repository)."""
    folder = tmp_path_factory.mktemp("colab-edition") / "course"
    assert main([str(folder), "--git", "--colab-url", folder.as_uri()]) == 0
    return folder
