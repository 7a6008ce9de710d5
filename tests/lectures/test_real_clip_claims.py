"""What the lectures say about the real hub models, checked against those models (needs the hub).

Every sentence in a lecture that states what a real model returns has a test here. They are skipped
automatically where the Hugging Face Hub cannot be reached (see the project's conftest.py).
"""

from pathlib import Path

import pytest

import mmembed
from mmembed.zoo.clip_bpe import clip_tokenizer

pytestmark = pytest.mark.online


def test_real_clip_shares_our_offline_tokenizer(real_clip):
    _, processor = real_clip
    texts = ["a photo of a cat", "A dog is sleeping", "강아지가 공원에서 뛰어요", "¿Dónde está el gato?"]
    assert [processor.tokenizer(t).input_ids for t in texts] == [clip_tokenizer()(t).input_ids for t in texts]


def test_real_clip_embeds_into_512_dimensions(real_clip):
    model, processor = real_clip
    assert mmembed.embed_texts(["A dog", "A cat"], model, processor).shape == (2, 512)
    assert mmembed.embed_images([mmembed.load_image(mmembed.paths.CAT_IMAGE)], model, processor).shape == (1, 512)


def test_lecture_07_real_clip_recognises_pictures_it_never_saw(real_clip):
    """Lecture 07, section 7.3: on scikit-image's horse, motorcycle, camera and page, the real CLIP's
    similarity matrix with plain descriptions has its maximum on the diagonal."""
    import skimage

    model, processor = real_clip
    files = ["horse.png", "motorcycle_right.png", "camera.png", "page.png"]
    texts = [
        "a black-and-white silhouette of a horse",
        "a red motorcycle",
        "a person looking at a camera on a tripod",
        "a page of text about the segmentation",
    ]
    images = [mmembed.load_image(Path(skimage.data.data_dir) / name) for name in files]
    similarity = mmembed.cosine_similarity_matrix(
        mmembed.embed_texts(texts, model, processor), mmembed.embed_images(images, model, processor)
    )
    assert similarity.argmax(dim=1).tolist() == [0, 1, 2, 3]
