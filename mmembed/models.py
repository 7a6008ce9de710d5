"""Loading a CLIP-style model and its processor: from the hub, a local folder, or an offline model.

Which model: the `name` argument, else the environment variable MMEMBED_MODEL, else the lecture's
hub model (with MMEMBED_OFFLINE=1: its offline stand-in "mini", without asking the hub).
Offline names: "tiny" (random weights, built on first use) and "mini" (trained in this repo).
"""

import os
import sys
from pathlib import Path

import torch
from transformers import AutoModel, AutoProcessor

from .hub import DEFAULT_MODEL, OFFLINE_HINT, HubUnreachableError, hub_reachable, offline_requested
from .paths import MODELS_DIR
from .tiny import ensure_tiny

MINI_DIR = MODELS_DIR / "mini"
OFFLINE_MODELS = ("mini", "tiny")  # fallback order when the hub is unreachable and no model was named


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def offline_model_dir(name: str) -> Path | None:
    """The folder of an offline model, building `tiny` if needed; None if `name` is not available offline."""
    if name == "tiny":
        return ensure_tiny()
    if name == "mini":
        return MINI_DIR if (MINI_DIR / "config.json").exists() else None
    return None


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~", "\\")) or Path(name).expanduser().is_dir() or Path(name).drive != ""


def _load(source, device, **kwargs):
    model = AutoModel.from_pretrained(source, **kwargs)
    processor = AutoProcessor.from_pretrained(source, **kwargs)
    return model.to(device).eval(), processor


def load_clip(name: str | None = None, device: str | torch.device | None = None):
    """Return `(model, processor)` in eval mode on `device` (default: cuda if available, else cpu).

    The chosen model's name is kept as `model.mmembed_name`, so a program can say which model it used.
    """
    named = name or os.environ.get("MMEMBED_MODEL", "").strip() or None
    chosen = named or DEFAULT_MODEL
    device = torch.device(device) if device is not None else pick_device()

    if named is None and offline_requested():  # MMEMBED_OFFLINE=1: the default's stand-in, without asking the hub
        from .standins import STAND_INS, course_model

        return _named(_load(course_model(DEFAULT_MODEL), device), STAND_INS[DEFAULT_MODEL])

    if chosen in OFFLINE_MODELS:
        folder = offline_model_dir(chosen)
        if folder is None:
            raise FileNotFoundError(
                f"The offline model '{chosen}' is not in {MODELS_DIR}: build it with python models/train_mini.py"
            )
        return _named(_load(folder, device), chosen)
    if _looks_like_path(chosen):
        folder = Path(chosen).expanduser()
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(f"No model folder at {folder} (a model folder holds config.json and the weights).")
        return _named(_load(folder, device), str(folder))

    try:  # already downloaded: no network needed, no waiting
        return _named(_load(chosen, device, local_files_only=True), chosen)
    except OSError:
        pass
    if hub_reachable():
        return _named(_load(chosen, device), chosen)
    if named is not None:
        raise HubUnreachableError(
            f"The model '{chosen}' is not downloaded and the Hugging Face Hub cannot be reached: {OFFLINE_HINT}."
        ) from None
    return _fall_back_offline(device)


def _fall_back_offline(device):
    fallback = next(n for n in OFFLINE_MODELS if n == "tiny" or offline_model_dir(n) is not None)
    note = " (random weights: rankings are meaningless)" if fallback == "tiny" else ""
    print(
        f"[mmembed] The Hugging Face Hub cannot be reached; using the offline model '{fallback}'{note} "
        f"instead of {DEFAULT_MODEL}.",
        file=sys.stderr,
    )
    return _named(_load(offline_model_dir(fallback), device), fallback)


def _named(loaded, name: str):
    model, processor = loaded
    model.mmembed_name = name
    return model, processor
