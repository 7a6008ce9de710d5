"""Turning pictures and texts into embedding vectors with a CLIP-style model.

Transformers 5 returns a `BaseModelOutputWithPooling` from `get_image_features` / `get_text_features`
(the projected embedding is its `.pooler_output`); transformers 4 returned the tensor itself.
These functions accept both and always return a float32 CPU tensor of shape (N, embedding size).

Two things make them fast (benchmarks/embedding.py measures both):
- while the model embeds one batch, a background thread prepares the next one (resizing and normalising
  pictures, tokenising texts), so preparing costs next to nothing on top of the forward pass;
- `precision` chooses the number format: "fp32", "bf16", or "auto" (bf16 where the hardware has it natively,
  see mmembed.precision). The default is the environment variable MMEMBED_PRECISION, else "auto".
"""

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from typing import Any

import torch
from PIL import Image
from tqdm.auto import tqdm

from .precision import Precision, autocast, resolve_precision
from .texts import check_texts


def features_tensor(output) -> torch.Tensor:
    """The embedding tensor from what `get_*_features` returned, in transformers 4.x or 5.x."""
    if isinstance(output, torch.Tensor):
        return output
    return output.pooler_output


def batched(items: Sequence, batch_size: int) -> list[Sequence]:
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    return [items[start : start + batch_size] for start in range(0, len(items), batch_size)]


def model_device(model) -> torch.device:
    return next(model.parameters()).device


def prepare_workers(device: torch.device) -> int:
    """Threads preparing batches: one on a CPU (the model needs the cores), a few to keep a GPU busy."""
    return 1 if device.type == "cpu" else min(4, os.cpu_count() or 1)


def prepared_ahead(batches: Iterable, prepare: Callable, workers: int = 1) -> Iterator:
    """`prepare(batch)` for each batch, in order, computed by `workers` threads up to `workers` batches ahead."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mmembed-prepare") as pool:
        pending = deque()
        for batch in batches:
            pending.append(pool.submit(prepare, batch))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def embed_batches(
    batches: Sequence,
    prepare: Callable,
    model,
    tower: str,
    precision: Precision,
    description: str = "임베딩",
    progress: bool | None = None,
    workers: int = 1,
) -> Iterator[tuple[Any, torch.Tensor | None]]:
    """Run the model's `tower` ("image" or "text") over `batches`, yielding `(label, embeddings)` batch by batch:
    the engine under embed_images, embed_texts and the embedding cache.

    `prepare(batch)` returns `(label, model inputs)` and runs in background threads, ahead of the model; inputs
    may be None when nothing in the batch could be prepared, and then so are the embeddings (float32, on the CPU).

    Every forward pass runs in one inference-mode and autocast context, so bf16 autocast casts the weights once,
    not once per batch. The context stays open while the generator waits, so the caller's loop body runs inside it:
    keep that body to storing what it receives.
    """
    device = model_device(model)
    forward = model.get_image_features if tower == "image" else model.get_text_features
    show = len(batches) > 1 if progress is None else progress
    ready = prepared_ahead(batches, prepare, workers)
    with closing(ready), torch.inference_mode(), autocast(precision, device):
        for label, inputs in tqdm(ready, total=len(batches), desc=description, unit="배치", disable=not show):
            if inputs is None:
                yield label, None
                continue
            inputs = {key: value.to(device) for key, value in inputs.items()}
            yield label, features_tensor(forward(**inputs)).float().cpu()


def embed_all(batches, prepare, model, tower: str, precision: Precision, progress, workers: int) -> torch.Tensor:
    """The embeddings of every batch in one (N, D) tensor."""
    description = {"image": "사진 임베딩", "text": "문장 임베딩"}[tower]
    found = embed_batches(batches, prepare, model, tower, precision, description, progress, workers)
    return torch.cat([embeddings for _, embeddings in found])


def embed_images(
    images: Sequence[Image.Image],
    model,
    processor,
    batch_size: int = 32,
    progress: bool | None = None,
    precision: str | None = None,
) -> torch.Tensor:
    """Embed PIL images in batches: returns (len(images), D). A progress bar shows when there are several batches."""
    if isinstance(images, Image.Image):
        images = [images]
    images = list(images)
    if len(images) == 0:
        raise ValueError("임베딩할 사진이 없습니다: 빈 리스트입니다.")

    def prepare(batch):
        return None, {"pixel_values": processor(images=batch, return_tensors="pt")["pixel_values"]}

    device = model_device(model)
    precision = resolve_precision(precision, device)
    return embed_all(batched(images, batch_size), prepare, model, "image", precision, progress, prepare_workers(device))


def text_context_length(model, processor) -> int:
    """The longest token sequence the text tower takes: its position table, or less if the tokenizer says so.

    XLM-R (AltCLIP's text tower) has 514 position slots but takes 512 tokens (RoBERTa's positions start
    after the padding id); its tokenizer's `model_max_length` says 512. CLIP: 77 both ways.
    """
    positions = model.config.text_config.max_position_embeddings
    tokenizer = getattr(processor, "tokenizer", processor)
    return min(positions, getattr(tokenizer, "model_max_length", positions))


# The same parameters as embed_images, on purpose: one way to call both towers.
def embed_texts(
    texts: str | Sequence[str],
    model,
    processor,
    batch_size: int = 256,
    progress: bool | None = None,
    precision: str | None = None,
) -> torch.Tensor:
    """Embed texts in batches: returns (len(texts), D). Texts longer than the model's context are truncated."""
    texts = check_texts(texts)
    precision = resolve_precision(precision, model_device(model))
    max_length = text_context_length(model, processor)

    def prepare(batch):
        tokens = processor(text=batch, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        return None, dict(tokens)

    # one preparing thread: a fast tokenizer must not be used by two threads at once
    return embed_all(batched(texts, batch_size), prepare, model, "text", precision, progress, workers=1)
