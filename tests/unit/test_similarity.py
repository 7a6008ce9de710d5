"""Cosine similarity matrices and top-k, checked against torch's own function and hand-made cases."""

import pytest
import torch
import torch.nn.functional as F

from mmembed.embedding import embed_images
from mmembed.similarity import cosine_similarity_matrix, search, top_k


def test_matrix_matches_torch_cosine_similarity_with_unsqueeze():
    vec1 = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    vec2 = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 1.0], [-1.0, -2.0, -3.0]])
    expected = F.cosine_similarity(vec1.unsqueeze(1), vec2, dim=2)  # the lecture's (2,3) x (4,3) -> (2,4)
    matrix = cosine_similarity_matrix(vec1, vec2)
    assert matrix.shape == (2, 4)
    torch.testing.assert_close(matrix, expected)
    assert matrix[0, 3].item() == pytest.approx(-1.0)  # opposite directions


def test_one_dimensional_inputs_are_single_rows():
    assert cosine_similarity_matrix(torch.tensor([1.0, 0.0]), torch.tensor([[1.0, 0.0], [0.0, 1.0]])).tolist() == [
        [1.0, 0.0]
    ]


def test_mismatched_sizes_are_an_error():
    with pytest.raises(ValueError, match="임베딩의 길이가 다릅니다"):
        cosine_similarity_matrix(torch.ones(1, 3), torch.ones(2, 4))


def test_top_k_values_and_indices():
    values, indices = top_k(torch.tensor([-2.0, 1.0, 99.0, 8.0]), 2)
    assert values.tolist() == [99.0, 8.0] and indices.tolist() == [2, 3]


@pytest.mark.parametrize("k", [0, -1, 5])
def test_k_outside_the_item_count_is_an_error(k):
    with pytest.raises(ValueError, match="k는 1부터 항목 수"):
        top_k(torch.tensor([0.1, 0.2, 0.3, 0.4]), k)


def test_search_returns_names_best_first():
    items = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    results = search(torch.tensor([[1.0, 0.1]]), items, ["up.png", "right.png", "diagonal.png"], k=2)
    assert [name for name, _ in results] == ["right.png", "diagonal.png"]
    assert results[0][1] > results[1][1]


def test_search_needs_one_name_per_item():
    with pytest.raises(ValueError, match="이름은 2개인데 임베딩은 3개"):
        search(torch.ones(1, 2), torch.ones(3, 2), ["a", "b"])


def test_image_to_image_search_finds_the_picture_itself(tiny):
    from PIL import Image

    pictures = [Image.new("RGB", (32, 32), colour) for colour in ["red", "navy", "gold", "teal"]]
    names = ["red.png", "navy.png", "gold.png", "teal.png"]
    embeddings = embed_images(pictures, *tiny)
    for i, name in enumerate(names):
        assert search(embeddings[i], embeddings, names, k=1)[0][0] == name
