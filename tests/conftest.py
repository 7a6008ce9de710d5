import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# An address where nothing listens: the hub "cannot be reached" at once, online or offline.
UNREACHABLE_HUB = "http://127.0.0.1:9"


@pytest.fixture(scope="session")
def tiny():
    """The offline tiny CLIP (random weights), loaded once per test run."""
    import mmembed

    return mmembed.load_clip("tiny", device="cpu")


@pytest.fixture
def offline_env(tmp_path):
    """Environment for a child process that has no hub and an empty Hugging Face cache."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "MMEMBED_"))}
    env.update(HF_ENDPOINT=UNREACHABLE_HUB, HF_HOME=str(tmp_path / "hf-home"), PYTHONIOENCODING="utf-8")
    return env


def run_python(args, env=None, timeout=120, cwd=REPO_ROOT):
    """Run `python ARGS` in a fresh process, the way a student would, and return the CompletedProcess."""
    import subprocess

    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=cwd
    )
