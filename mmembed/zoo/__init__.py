"""The model zoo: which model a name loads (`resolve`, `course_model`), and loading it (`load_clip`).

The zoo never imports lecture 07's training engine (`mmembed.training`): loading a model needs none of it.
Its names are imported on first use, as mmembed's are, so `mmembed.zoo.hub` stays quick to import.
"""

from ..modules import imported_on_first_use

_PUBLIC = {
    "load_clip": "mmembed.zoo.load",
    "pick_device": "mmembed.zoo.load",
    "resolve": "mmembed.zoo.sources",
    "course_model": "mmembed.zoo.sources",
}
__all__ = list(_PUBLIC)
__getattr__, __dir__ = imported_on_first_use(__name__, _PUBLIC)
