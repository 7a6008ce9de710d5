"""Moved to `mmembed.zoo.hub` (CHANGELOG.md); this name works until the end of the 2027 spring term."""

import sys

from mmembed.moved import alias

sys.modules[__name__] = alias(__name__, "mmembed.zoo.hub")
