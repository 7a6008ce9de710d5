"""Import paths and commands that moved when the package was grouped by job (CHANGELOG.md, 2026-12), kept a term.

Each old module is a two-line file that hands its name to the new module, so `from mmembed.models import
load_clip` still works, gives the very same function, and warns once. The warning is a FutureWarning because
students, not only developers, meet it, in old copies of a lecture.

An old command (`python -m mmembed.viz`) says what it is now called and runs it: `python -m mmembed viz`.
"""

import importlib
import runpy
import sys
import warnings
from types import ModuleType

from .notes import say

UNTIL = "2027년 1학기"


def alias(old: str, new: str) -> ModuleType:
    """Return the module `new`, after one warning that `old` is its former name."""
    warnings.warn(
        f"{old}는 {new}(으)로 옮겨졌습니다. 옛 이름은 {UNTIL}까지 씁니다.",
        FutureWarning,
        stacklevel=3,
    )
    return importlib.import_module(new)


def command(old: str, new: str) -> None:
    """Run the subcommand `new` of `python -m mmembed` with this process's arguments, after a note that `old` was
    its name. The package's own __main__ runs it, as `python -m mmembed` would (an old command's module is also
    one the command line imports: the command line is not imported back here)."""
    say(
        f"`{old}`는 `python -m mmembed {new}`(으)로 바뀌었습니다. 옛 명령은 {UNTIL}까지 씁니다.",
        once=False,
    )
    sys.argv[1:] = [new, *sys.argv[1:]]
    runpy.run_module("mmembed", run_name="__main__", alter_sys=True)
