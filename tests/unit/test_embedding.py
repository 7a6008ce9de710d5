"""Embedding pictures and texts with the offline tiny CLIP."""

import pytest
import torch
from PIL import Image
from transformers.modeling_outputs import BaseModelOutputWithPooling

from mmembed.embedding import embed_images, embed_texts, features_tensor


def colour_pictures(n):
    return [Image.new("RGB", (40 + i, 30), (i * 37 % 256, i * 91 % 256, i * 53 % 256)) for i in range(n)]


def test_image_embeddings_shape_and_type(tiny):
    model, processor = tiny
    embeddings = embed_images(colour_pictures(3), model, processor)
    assert embeddings.shape == (3, 512) and embeddings.dtype == torch.float32
    assert not torch.allclose(embeddings[0], embeddings[1])  # different pictures, different vectors


def test_batching_does_not_change_the_result(tiny):
    model, processor = tiny
    pictures = colour_pictures(5)
    one_batch = embed_images(pictures, model, processor, batch_size=32)
    small_batches = embed_images(pictures, model, processor, batch_size=2)
    torch.testing.assert_close(one_batch, small_batches, atol=1e-5, rtol=1e-5)


def test_progress_bar_only_for_several_batches(tiny, capsys):
    model, processor = tiny
    embed_images(colour_pictures(2), model, processor, batch_size=8)
    assert "Embedding images" not in capsys.readouterr().err
    embed_images(colour_pictures(3), model, processor, batch_size=1)
    assert "Embedding images" in capsys.readouterr().err


def test_single_picture_is_accepted(tiny):
    model, processor = tiny
    assert embed_images(colour_pictures(1)[0], model, processor).shape == (1, 512)


def test_empty_picture_list_is_an_error(tiny):
    with pytest.raises(ValueError, match="at least one image"):
        embed_images([], *tiny)


def test_text_embeddings_shape(tiny):
    model, processor = tiny
    embeddings = embed_texts(["A dog", "A cat is sleeping on a sofa", "강아지가 잔다"], model, processor)
    assert embeddings.shape == (3, 512) and embeddings.dtype == torch.float32


def test_a_string_counts_as_one_text(tiny):
    assert embed_texts("A dog", *tiny).shape == (1, 512)


def test_padding_in_a_batch_does_not_change_a_text(tiny):
    """CLIP reads a text up to its end token; the padding after it in a batch must not leak in."""
    model, processor = tiny
    alone = embed_texts(["A dog"], model, processor)
    batched = embed_texts(["A dog", "a much longer sentence about a dog running on the beach"], model, processor)
    torch.testing.assert_close(alone[0], batched[0], atol=1e-5, rtol=1e-5)


def test_texts_longer_than_the_context_are_truncated(tiny):
    model, processor = tiny
    long_text = "a very long description of a dog " * 60  # ~420 tokens, the model reads 77
    assert embed_texts([long_text], model, processor).shape == (1, 512)


@pytest.mark.parametrize(
    "texts, message",
    [
        ([], "at least one text"),
        ([""], "empty"),
        (["   "], "empty"),
        (["A dog", ""], "Text 1 is empty"),
        ([None], "not a string"),
    ],
)
def test_bad_texts_get_a_clear_error(tiny, texts, message):
    with pytest.raises(ValueError, match=message):
        embed_texts(texts, *tiny)


def test_features_tensor_reads_both_transformers_generations():
    tensor = torch.ones(2, 512)
    assert features_tensor(tensor) is tensor  # transformers 4.x returned the tensor
    assert features_tensor(BaseModelOutputWithPooling(pooler_output=tensor)) is tensor  # 5.x an output object
