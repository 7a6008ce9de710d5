"""The offline `tiny` model: a real CLIPModel with random weights, for shape and plumbing tests.

It is built on this machine, without any download, and cached in `models/tiny/`. The weights come from
NumPy's legacy `RandomState` (whose streams never change between NumPy versions), seeded per parameter
name, so every machine builds exactly the same model whatever torch or transformers do at init time.
Its embeddings mean nothing: use it to check shapes and code paths, never to judge search quality.
"""

import hashlib
import os
import shutil
import tempfile
import zlib
from pathlib import Path

import numpy as np
import torch
from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, CLIPProcessor

from .clip_bpe import CONTEXT_LENGTH, clip_tokenizer
from .paths import MODELS_DIR

TINY_DIR = MODELS_DIR / "tiny"
SEED = 20261123
# Bump when the recipe changes, so caches built by an older recipe are rebuilt.
RECIPE_VERSION = "1"


def tiny_config() -> CLIPConfig:
    text = dict(
        vocab_size=49408, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=2, max_position_embeddings=CONTEXT_LENGTH,
        bos_token_id=49406, eos_token_id=49407, pad_token_id=49407,
    )
    vision = dict(
        image_size=224, patch_size=32, hidden_size=64, intermediate_size=128,
        num_hidden_layers=2, num_attention_heads=2,
    )
    return CLIPConfig(text_config=text, vision_config=vision, projection_dim=512)


def _initial_value(name: str, shape: tuple[int, ...]) -> np.ndarray:
    if name == "logit_scale":
        return np.full(shape, np.log(1 / 0.07), dtype=np.float32)
    if "layer_norm" in name or "layrnorm" in name:
        fill = 1.0 if name.endswith("weight") else 0.0
        return np.full(shape, fill, dtype=np.float32)
    if name.endswith("bias"):
        return np.zeros(shape, dtype=np.float32)
    rng = np.random.RandomState((SEED + zlib.crc32(name.encode())) % 2**32)
    return (rng.standard_normal(shape) * 0.02).astype(np.float32)


def build_tiny_model() -> CLIPModel:
    model = CLIPModel(tiny_config())
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.copy_(torch.from_numpy(_initial_value(name, tuple(param.shape))))
    return model.eval()


def build_tiny_processor() -> CLIPProcessor:
    return CLIPProcessor(image_processor=CLIPImageProcessorPil(), tokenizer=clip_tokenizer())


def weights_fingerprint(model: torch.nn.Module) -> str:
    """SHA-256 over every parameter's name and bytes: equal fingerprints mean bit-identical weights."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def ensure_tiny(directory: Path = TINY_DIR) -> Path:
    """Build the tiny model into `directory` unless a build of the current recipe is already there."""
    stamp = directory / "RECIPE"
    if stamp.exists() and stamp.read_text().strip() == RECIPE_VERSION:
        return directory
    directory.parent.mkdir(parents=True, exist_ok=True)
    # Build next to the target and rename, so a concurrent reader never sees a half-written model.
    staging = Path(tempfile.mkdtemp(prefix=".tiny-", dir=directory.parent))
    try:
        build_tiny_model().save_pretrained(staging)
        build_tiny_processor().save_pretrained(staging)
        (staging / "RECIPE").write_text(RECIPE_VERSION + "\n")
        if directory.exists():
            shutil.rmtree(directory, ignore_errors=True)
        os.replace(staging, directory)
    except OSError:
        if not stamp.exists():  # lost a race to another process that finished first: that build is fine
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return directory
