"""What the lectures' prose says about torch and transformers themselves, where no cell of a lecture prints it.

Everything else a lecture computes is checked in what its own run printed (tests/lectures/test_lecture_*_claims.py):
these few sentences describe the libraries, so they are checked against the installed libraries, and a new
release that behaves otherwise fails here, naming the lecture to correct.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from transformers import CLIPConfig


def test_cosine_similarity_refuses_integer_tensors_until_they_are_made_float():
    """Lecture 02, section 2: F.cosine_similarity does not take integer tensors; .float() makes them usable."""
    integers = torch.tensor([[1, 2, 3, 4], [5, 6, 7, 8]])
    with pytest.raises(RuntimeError):
        F.cosine_similarity(integers, integers, dim=1)
    assert tuple(F.cosine_similarity(integers.float(), integers.float(), dim=1).shape) == (2,)


def test_topk_of_a_2d_tensor_goes_along_its_last_dim_unless_told():
    """Lecture 03, section 3.1: without `dim` topk works along the last one, dim=1 for a (queries, pictures)
    matrix; dim=0 goes per column (per picture); largest=False gives the smallest."""
    similarity = torch.tensor([[0.10, 0.70, 0.30, 0.50], [0.90, 0.20, 0.80, 0.40]])
    assert torch.equal(similarity.topk(2).indices, similarity.topk(2, dim=1).indices)
    assert similarity.argmax(dim=0).tolist() == [1, 0, 1, 0]
    assert similarity.topk(1, dim=1, largest=False).indices.tolist() == [[0], [1]]


def test_clip_starts_from_the_temperature_0_07():
    """Lecture 01, section 5.3: CLIP's logit scale starts at 1 / 0.07 (about 14.3), the inverse of the temperature;
    transformers' CLIPConfig keeps its logarithm."""
    scale = math.exp(CLIPConfig().logit_scale_init_value)
    assert scale == pytest.approx(1 / 0.07, rel=1e-3)
    assert round(scale, 1) == 14.3
