"""`python models/train_mini.py [--steps N] [--out DIR] [--check]`: the same as `python -m tools.train_mini`.

Lecture 07 and the README name this path; the script itself is tools/train_mini.py. This file only runs it,
from any folder (it needs only the installed `mmembed`, so no import path is changed).
"""

import runpy
from pathlib import Path

if __name__ == "__main__":
    runpy.run_path(str(Path(__file__).resolve().parents[1] / "tools" / "train_mini.py"), run_name="__main__")
