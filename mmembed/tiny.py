"""The offline `tiny` model: a real CLIPModel with random weights, for shape and plumbing tests.

It is built on this machine, without any download, and cached in `models/tiny/`. The weights come from
`mmembed.random_weights` (NumPy's legacy `RandomState`, seeded per parameter name), so every machine builds
exactly the same model whatever torch or transformers do at init time.
Its embeddings mean nothing: use it to check shapes and code paths, never to judge search quality.
"""

from pathlib import Path

import numpy as np
from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, CLIPProcessor

from .clip_bpe import CONTEXT_LENGTH, clip_tokenizer
from .random_weights import Builder, fill_parameters, seeded_normal

SEED = 20261123
# Bump when the recipe changes, so caches built by an older recipe are rebuilt.
RECIPE_VERSION = "1"


def tiny_config() -> CLIPConfig:
    text = dict(
        vocab_size=49408,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=CONTEXT_LENGTH,
        bos_token_id=49406,
        eos_token_id=49407,
        pad_token_id=49407,
    )
    vision = dict(
        image_size=224,
        patch_size=32,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
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
    return seeded_normal(name, shape, SEED)


def build_tiny_model() -> CLIPModel:
    return fill_parameters(CLIPModel(tiny_config()), _initial_value)


def build_tiny_processor() -> CLIPProcessor:
    return CLIPProcessor(image_processor=CLIPImageProcessorPil(), tokenizer=clip_tokenizer())


def _build(folder: Path) -> None:
    build_tiny_model().save_pretrained(folder)
    build_tiny_processor().save_pretrained(folder)


TINY = Builder(build=_build, recipe=lambda: RECIPE_VERSION)
