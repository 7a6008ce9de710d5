"""The right answers, computed in the grader's own process by running the reference solution with the grading model.

Computed once per class, in fp32, as students' answers are unless they choose otherwise; the pictures' embeddings
go through mmembed's embedding cache, so a second class graded with the same model embeds nothing. Nothing here is
handed to a child except the search inputs (embeddings and neutral labels), never a filename that is an answer.
"""

import contextlib
import io
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import mmembed
from mmembed.modules import load_module

from . import config


@dataclass
class Reference:
    model_name: str
    model_dir: Path  # the folder the model loads from (what a sandboxed child is shown)
    query: str  # the QUERY given to students (taken from the reference solution)
    queries: list[str]  # [QUERY, *HIDDEN_QUERIES]: the texts a child embeds and searches for
    names: list[str]  # val_0.JPEG .. val_199.JPEG
    means: np.ndarray  # (200, 3) mean RGB of each picture, in order
    image_embeddings: np.ndarray  # (200, 512) float32
    text_embeddings: np.ndarray  # (len(queries), 512) float32
    top1: list[str]  # the right filename for each query
    seconds: float  # how long the reference pipeline took here (model load, 200 pictures, the queries)

    @property
    def secrets(self) -> list[str]:
        """Strings that must never appear in what a student sees: hidden texts and their answers."""
        return [*config.HIDDEN_QUERIES, *self.top1[1:]]

    def main_lines(self, query: int = 0) -> list[str]:
        """What main() prints when QUERY is queries[query]."""
        n, dim = config.N_IMAGES, config.EMBED_DIM
        return [
            f"Total {n} images are loaded!",
            f"Image Embedding's shape: ({n}, {dim})",
            f"Text Embedding's shape: (1, {dim})",
            f"Top-1: {self.top1[query]}",
        ]


def load_solution():
    return load_module(config.SOLUTION, "quiz_search_reference")


def model_folder(name: str) -> Path:
    """The local folder of the grading model: a folder, an offline model of the course ("mini", "tiny"), or a hub
    model's cached snapshot (downloaded first if the hub can be reached). A child has no network, so it loads
    the model from this folder."""
    if Path(name).expanduser().is_dir():
        return Path(name).expanduser().resolve()
    if "/" not in name:  # an offline model's name
        return Path(mmembed.course_model(name)).resolve()
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(name, local_files_only=True))
    except Exception:
        from mmembed.zoo.hub import HubUnreachableError, hub_reachable

        if not hub_reachable():
            message = f"the grading model {name!r} is not downloaded and the hub cannot be reached"
            raise HubUnreachableError(message) from None
        return Path(snapshot_download(name))


def compute_reference(model_name: str = config.GRADING_MODEL) -> Reference:
    with contextlib.redirect_stderr(io.StringIO()):  # the libraries' progress bars and load reports
        return _compute_reference(model_name)


def _compute_reference(model_name: str) -> Reference:
    import torch  # here, not at the top: `python -m autograder --help` and its path errors need no torch

    started = time.monotonic()
    solution = load_solution()
    model_dir = model_folder(model_name)
    model, processor = mmembed.load_clip(str(model_dir), device="cpu")
    images, names = solution.load_images(config.IMAGE_DIR)
    means = np.stack([np.asarray(image).reshape(-1, 3).mean(axis=0) for image in images])
    queries = [solution.QUERY, *config.HIDDEN_QUERIES]
    # The pictures' embeddings come from mmembed's cache when this model has embedded them before (in fp32, as
    # the solution's embed_images computes them: tests/grading/test_reference.py checks they agree).
    image_embeddings, cached_names = mmembed.embed_folder(config.IMAGE_DIR, model, processor, precision="fp32")
    if cached_names != names:
        raise RuntimeError("the embedding cache and the solution disagree on the pictures' order")
    text_embeddings = torch.cat([solution.embed_text(query, model, processor) for query in queries]).float()
    top1 = [solution.search_top1(text_embeddings[i : i + 1], image_embeddings, names) for i in range(len(queries))]
    return Reference(
        model_name,
        model_dir,
        solution.QUERY,
        queries,
        names,
        means,
        image_embeddings.numpy().astype(np.float32),
        text_embeddings.numpy().astype(np.float32),
        top1,
        time.monotonic() - started,
    )
