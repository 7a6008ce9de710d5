"""Moved to `mmembed.training.evaluate`, and its command to `python -m mmembed evaluate` (CHANGELOG.md).

This name, and `python -m mmembed.evaluate`, work until the end of the 2027 spring term.
"""

import sys

from mmembed.moved import alias, command

if __name__ == "__main__":
    command("python -m mmembed.evaluate", "evaluate")
else:
    sys.modules[__name__] = alias(__name__, "mmembed.training.evaluate")
