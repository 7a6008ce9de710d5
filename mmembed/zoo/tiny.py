"""The offline `tiny` model: a real CLIPModel with random weights, for shape and plumbing tests.

It is built on this machine, without any download, into `models/tiny/` on first use, the same way as the
stand-ins: deterministic weights from `mmembed.zoo.random_weights.fill_deterministically`, so every machine builds
exactly the same model whatever torch or transformers do at init time. Its tokenizer is the real CLIP one.
Its embeddings mean nothing: use it to check shapes and code paths, never to judge search quality.
"""

from pathlib import Path

from transformers import CLIPConfig, CLIPImageProcessorPil, CLIPModel, CLIPProcessor

from .clip_bpe import clip_tokenizer
from .random_weights import Builder, fill_deterministically
from .sizes import clip_config, transformer_sizes

SEED = 20261123
# Bump when the recipe changes, so folders built by an older recipe are rebuilt.
RECIPE_VERSION = "2"


def tiny_config() -> CLIPConfig:
    """openai/clip-vit-base-patch32's tokenizer, context, input size, patch and 512-d embeddings; 64-d, 2 layers."""
    return clip_config(49408, image_size=224, patch_size=32, tower=transformer_sizes(64, 128, layers=2, heads=2))


def _build(folder: Path) -> None:
    config = tiny_config()
    model = fill_deterministically(CLIPModel(config), SEED, {"logit_scale": config.logit_scale_init_value})
    model.save_pretrained(folder)
    CLIPProcessor(image_processor=CLIPImageProcessorPil(), tokenizer=clip_tokenizer()).save_pretrained(folder)


TINY = Builder(build=_build, recipe=lambda: RECIPE_VERSION)
