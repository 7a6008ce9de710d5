"""The grader's reference: the solution's answers, with the pictures' embeddings read from mmembed's cache."""

import numpy as np
import torch

import mmembed
from autograder import config
from autograder.checks import cosine_rows
from autograder.reference import compute_reference, load_solution


def test_cached_picture_embeddings_are_the_solutions_own(tmp_path, monkeypatch):
    monkeypatch.setenv("MMEMBED_CACHE", str(tmp_path / "cache"))
    first = compute_reference("mini")
    again = compute_reference("mini")  # read from the cache this time
    solution = load_solution()
    model, processor = mmembed.load_clip(str(first.model_dir), device="cpu")
    images, names = solution.load_images(config.IMAGE_DIR)
    own = solution.embed_images(images, model, processor).float().numpy()
    assert names == first.names == again.names
    assert cosine_rows(own, first.image_embeddings).min() > 0.9999
    assert np.array_equal(first.image_embeddings, again.image_embeddings)
    assert first.top1 == again.top1 and first.top1[0] == solution.search_top1(
        solution.embed_text(first.query, model, processor), torch.from_numpy(own), names
    )
