"""Loading a CLIP-style model and its processor by name: `load_clip`.

Which model: the `name` argument, else the environment variable MMEMBED_MODEL, else the lecture's hub model
(`mmembed.zoo.registry.DEFAULT_MODEL`). A name is a hub id, a local folder, or an offline model of this repo
("mini", "tiny", ...: `mmembed.zoo.registry`), resolved by `mmembed.zoo.sources.resolve`. A named model is
loaded as named or not at all; the lecture's default is replaced by its offline stand-in "mini" with MMEMBED_OFFLINE=1
or when the hub cannot be reached, and one line on stderr says so.
"""

import os

import torch
from transformers import AutoModel, AutoProcessor

from .registry import DEFAULT_MODEL
from .sources import resolve


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_clip(name: str | None = None, device: str | torch.device | None = None):
    """Return `(model, processor)` in eval mode on `device` (default: cuda if available, else cpu).

    The chosen model's name is kept as `model.mmembed_name`, so a program can say which model it used.
    """
    named = name or os.environ.get("MMEMBED_MODEL", "").strip() or None
    source = resolve(named, may_stand_in=False) if named else resolve(DEFAULT_MODEL)
    device = torch.device(device) if device is not None else pick_device()
    model = AutoModel.from_pretrained(source.location)
    processor = AutoProcessor.from_pretrained(source.location)
    model.mmembed_name = source.name
    return model.to(device).eval(), processor
