"""Import paths that moved when the package was grouped by job (CHANGELOG.md, 2026-12), kept for a term.

Each old module is a two-line file that hands its name to the new module, so `from mmembed.models import
load_clip` still works, gives the very same function, and warns once. The warning is a FutureWarning because
students, not only developers, meet it, in old copies of a lecture.
"""

import importlib
import warnings
from types import ModuleType

UNTIL = "2027년 1학기"


def alias(old: str, new: str) -> ModuleType:
    """Return the module `new`, after one warning that `old` is its former name."""
    warnings.warn(
        f"{old}는 {new}(으)로 옮겨졌습니다. 옛 이름은 {UNTIL}까지 씁니다 ({old} moved to {new}).",
        FutureWarning,
        stacklevel=3,
    )
    return importlib.import_module(new)
