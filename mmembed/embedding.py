"""Turning pictures and texts into embedding vectors with a CLIP-style model.

Transformers 5 returns a `BaseModelOutputWithPooling` from `get_image_features` / `get_text_features`
(the projected embedding is its `.pooler_output`); transformers 4 returned the tensor itself.
These functions accept both and always return a float32 CPU tensor of shape (N, embedding size).
"""

from collections.abc import Sequence

import torch
from PIL import Image
from tqdm.auto import tqdm


def features_tensor(output) -> torch.Tensor:
    """The embedding tensor from what `get_*_features` returned, in transformers 4.x or 5.x."""
    if isinstance(output, torch.Tensor):
        return output
    return output.pooler_output


def _batches(items: Sequence, batch_size: int, description: str, progress: bool | None):
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    starts = range(0, len(items), batch_size)
    show = len(starts) > 1 if progress is None else progress
    for start in tqdm(starts, desc=description, unit="batch", disable=not show):
        yield items[start : start + batch_size]


def _model_device(model) -> torch.device:
    return next(model.parameters()).device


def embed_images(
    images: Sequence[Image.Image], model, processor, batch_size: int = 32, progress: bool | None = None
) -> torch.Tensor:
    """Embed PIL images in batches: returns (len(images), D). A progress bar shows when there are several batches."""
    if isinstance(images, Image.Image):
        images = [images]
    if len(images) == 0:
        raise ValueError("embed_images needs at least one image; the list is empty.")
    device = _model_device(model)
    chunks = []
    with torch.inference_mode():
        for batch in _batches(list(images), batch_size, "Embedding images", progress):
            pixels = processor(images=batch, return_tensors="pt")["pixel_values"].to(device)
            chunks.append(features_tensor(model.get_image_features(pixel_values=pixels)).float().cpu())
    return torch.cat(chunks)


def check_texts(texts: str | Sequence[str]) -> list[str]:
    """A list of non-empty strings, or a ValueError that says which text is wrong."""
    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    if not texts:
        raise ValueError("embed_texts needs at least one text; the list is empty.")
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(f"Text {index} is a {type(text).__name__}, not a string.")
        if not text.strip():
            which = "The query" if len(texts) == 1 else f"Text {index}"
            raise ValueError(f"{which} is empty; give a text such as 'A dog'.")
    return texts


def text_context_length(model, processor) -> int:
    """The longest token sequence the text tower takes: its position table, or less if the tokenizer says so.

    XLM-R (AltCLIP's text tower) has 514 position slots but takes 512 tokens (RoBERTa's positions start
    after the padding id); its tokenizer's `model_max_length` says 512. CLIP: 77 both ways.
    """
    positions = model.config.text_config.max_position_embeddings
    tokenizer = getattr(processor, "tokenizer", processor)
    return min(positions, getattr(tokenizer, "model_max_length", positions))


def embed_texts(
    texts: str | Sequence[str], model, processor, batch_size: int = 256, progress: bool | None = None
) -> torch.Tensor:
    """Embed texts in batches: returns (len(texts), D). Texts longer than the model's context are truncated."""
    texts = check_texts(texts)
    device = _model_device(model)
    max_length = text_context_length(model, processor)
    chunks = []
    with torch.inference_mode():
        for batch in _batches(texts, batch_size, "Embedding texts", progress):
            tokens = processor(text=batch, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
            tokens = {key: value.to(device) for key, value in tokens.items()}
            chunks.append(features_tensor(model.get_text_features(**tokens)).float().cpu())
    return torch.cat(chunks)
