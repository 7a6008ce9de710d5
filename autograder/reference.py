"""The right answers, computed in the grader's own process by running the reference solution with the grading model.

Computed once per batch. Nothing here is handed to a child except the search inputs (embeddings and neutral
labels), never a filename that is an answer.
"""

import importlib.util
from dataclasses import dataclass

import numpy as np
import torch

import mmembed

from . import config


@dataclass
class Reference:
    model_name: str
    query: str  # the QUERY given to students (taken from the reference solution)
    queries: list[str]  # [QUERY, *HIDDEN_QUERIES]: the texts a child embeds and searches for
    names: list[str]  # val_0.JPEG .. val_199.JPEG
    means: np.ndarray  # (200, 3) mean RGB of each picture, in order
    image_embeddings: np.ndarray  # (200, 512) float32
    text_embeddings: np.ndarray  # (len(queries), 512) float32
    top1: list[str]  # the right filename for each query

    @property
    def secrets(self) -> list[str]:
        """Strings that must never appear in what a student sees: hidden texts and their answers."""
        return [*config.HIDDEN_QUERIES, *self.top1[1:]]

    def main_lines(self, query: int = 0) -> list[str]:
        """What main() prints when QUERY is queries[query]."""
        return [
            f"Total {config.N_IMAGES} images are loaded!",
            f"Image Embedding's shape: ({config.N_IMAGES}, {config.EMBED_DIM})",
            f"Text Embedding's shape: (1, {config.EMBED_DIM})",
            f"Top-1: {self.top1[query]}",
        ]


def load_solution():
    spec = importlib.util.spec_from_file_location("quiz_search_reference", config.SOLUTION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def compute_reference(model_name: str = config.DEFAULT_MODEL) -> Reference:
    solution = load_solution()
    model, processor = mmembed.load_clip(model_name, device="cpu")
    images, names = solution.load_images(config.IMAGE_DIR)
    means = np.stack([np.asarray(image).reshape(-1, 3).mean(axis=0) for image in images])
    queries = [solution.QUERY, *config.HIDDEN_QUERIES]
    image_embeddings = solution.embed_images(images, model, processor)
    text_embeddings = torch.cat([solution.embed_text(query, model, processor) for query in queries])
    top1 = [solution.search_top1(text_embeddings[i : i + 1], image_embeddings, names) for i in range(len(queries))]
    return Reference(
        model_name,
        solution.QUERY,
        queries,
        names,
        means,
        image_embeddings.numpy().astype(np.float32),
        text_embeddings.numpy().astype(np.float32),
        top1,
    )
