"""Small helpers the tests share."""

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# An address where nothing listens: the hub "cannot be reached" at once, online or offline.
UNREACHABLE_HUB = "http://127.0.0.1:9"


def run_python(args, env=None, timeout=120, cwd=REPO_ROOT):
    """Run `python ARGS` in a fresh process, the way a student would, and return the CompletedProcess."""
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=cwd
    )
