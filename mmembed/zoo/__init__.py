"""The model zoo: which model a name loads (`resolve`, `course_model`), and loading it (`load_clip`).

The zoo never imports lecture 07's training engine (`mmembed.training`): loading a model needs none of it.
Its names are imported on first use, as mmembed's are, so `mmembed.zoo.hub` stays quick to import.
"""

import importlib

_PUBLIC = {
    "load_clip": "mmembed.zoo.load",
    "pick_device": "mmembed.zoo.load",
    "resolve": "mmembed.zoo.sources",
    "course_model": "mmembed.zoo.sources",
}
__all__ = list(_PUBLIC)


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'mmembed.zoo' has no attribute {name!r}")
    return getattr(importlib.import_module(_PUBLIC[name]), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
