"""Deterministic random weights, and building an offline model's folder once: shared by `tiny` and the stand-ins.

Every value comes from NumPy's legacy `RandomState` (whose streams never change between NumPy versions),
seeded per parameter name, so every machine builds exactly the same model whatever torch or transformers
do at init time. A folder is built next to its target and renamed into place, with a RECIPE stamp: a
second use finds the stamp and loads at once, a changed recipe rebuilds.
"""

import hashlib
import math
import os
import shutil
import tempfile
import zlib
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

STD = 0.02  # the usual `initializer_range` of transformers models


def seeded_normal(name: str, shape: tuple[int, ...], seed: int, std: float = STD) -> np.ndarray:
    """Normal(0, std) float32 values that depend only on (seed, name, shape)."""
    rng = np.random.RandomState((seed + zlib.crc32(name.encode())) % 2**32)
    return (rng.standard_normal(shape) * std).astype(np.float32)


def fill_parameters(model: torch.nn.Module, value: Callable[[str, tuple[int, ...]], np.ndarray]) -> torch.nn.Module:
    """Overwrite every parameter with `value(name, shape)`; returns the model in eval mode."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.copy_(torch.from_numpy(value(name, tuple(param.shape))))
    return model.eval()


def fill_deterministically(model: torch.nn.Module, seed: int, constants: dict[str, float] | None = None):
    """Seeded N(0, 0.02) weights, zero biases, identity norms (BatchNorm statistics too), `constants` by name.

    Returns the model in eval mode. Norm layers and convolutions are found by their module type, not their name.
    """
    constants = constants or {}
    norm_types = (torch.nn.LayerNorm, torch.nn.GroupNorm, torch.nn.modules.batchnorm._BatchNorm)
    norms = {name for name, module in model.named_modules() if isinstance(module, norm_types)}
    # Convolutions get He's std, sqrt(2 / fan_in): with 0.02, EfficientNet's 20-odd convolutions shrink a
    # picture's signal to ~1e-18 and the image embedding to numerical noise.
    convolutions = {name for name, module in model.named_modules() if isinstance(module, torch.nn.Conv2d)}

    def value(name: str, shape: tuple[int, ...]) -> np.ndarray:
        owner, _, leaf = name.rpartition(".")
        if name in constants:
            return np.full(shape, constants[name], dtype=np.float32)
        if owner in norms:
            return np.full(shape, 1.0 if leaf == "weight" else 0.0, dtype=np.float32)
        if leaf == "bias":
            return np.zeros(shape, dtype=np.float32)
        if owner in convolutions:
            return seeded_normal(name, shape, seed, std=math.sqrt(2.0 / math.prod(shape[1:])))
        return seeded_normal(name, shape, seed)

    fill_parameters(model, value)
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()  # mean 0, variance 1: in eval mode BatchNorm only applies its weight and bias
    return model


def weights_fingerprint(model: torch.nn.Module) -> str:
    """SHA-256 over every parameter's name and bytes: equal fingerprints mean bit-identical weights."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Builder:
    """How an offline model's folder is made on first use.

    `build(folder)` writes the model and its processor into an empty folder; `recipe()` is the stamp kept
    beside them, and must change whenever `build` would write something else.
    """

    build: Callable[[Path], None]
    recipe: Callable[[], str]

    def ensure(self, directory: Path) -> Path:
        """`directory`, built unless a build of the current recipe is already there.

        The build goes to a temporary folder next to `directory` and is renamed into place, so a concurrent
        reader never sees a half-written model.
        """
        recipe = self.recipe()
        stamp = directory / "RECIPE"
        if stamp.exists() and stamp.read_text().strip() == recipe:
            return directory
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
        try:
            with _no_progress_bars():
                self.build(staging)
            (staging / "RECIPE").write_text(recipe + "\n")
            if directory.exists():
                shutil.rmtree(directory, ignore_errors=True)
            os.replace(staging, directory)
        except OSError:
            if not stamp.exists():  # lost a race to another process that finished first: that build is fine
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return directory


@contextmanager
def _no_progress_bars():
    """No "Writing model shards" bar while building: the build is quick and the bar means nothing to a student."""
    from transformers.utils import logging

    was_enabled = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            logging.enable_progress_bar()
