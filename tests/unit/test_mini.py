"""The bilingual tokenizer, the contrastive loss, training, and the committed offline `mini` model."""

import json

import pytest
import torch
import torch.nn.functional as F
from transformers import CLIPModel, CLIPProcessor

import mmembed
from mmembed.bilingual_tokenizer import train_bilingual_tokenizer
from mmembed.clip_bpe import clip_tokenizer
from mmembed.evaluate import evaluate
from mmembed.manifest import read_manifest, read_short_texts
from mmembed.models import MINI_DIR
from mmembed.training import contrastive_loss, course_examples, new_mini_model, train


@pytest.fixture(scope="module")
def bilingual():
    pictures = read_manifest()
    return train_bilingual_tokenizer([p.caption_en for p in pictures] + [p.caption_ko for p in pictures])


def test_short_texts_cover_every_category_and_group():
    short = read_short_texts()
    for picture in read_manifest():
        assert ("category", picture.category) in short, picture.category
        assert not picture.group or ("group", picture.group) in short, picture.group
    assert all(english and korean and all(english + korean) for english, korean in short.values())


def test_end_of_text_keeps_the_highest_id(bilingual):
    vocab = bilingual.get_vocab()
    assert bilingual.eos_token_id == max(vocab.values()) == len(vocab) - 1
    assert bilingual.pad_token_id == bilingual.eos_token_id


@pytest.mark.parametrize("texts", [["a dog", "강아지가 공원에서 뛰어요"], ["qzxj 뷁 😀", "a photo of a cat"]])
def test_pooling_lands_on_the_end_token(bilingual, texts):
    """CLIP pools at input_ids.argmax(-1); unseen characters must not turn into (end-of-text) unknowns."""
    ids = bilingual(texts, padding=True, return_tensors="pt").input_ids
    for row, position in zip(ids, ids.argmax(-1)):
        assert row[position] == bilingual.eos_token_id
        assert (row[:position] != bilingual.eos_token_id).all()
        assert position == (row != bilingual.eos_token_id).sum()  # right after the last real token


def test_korean_needs_fewer_tokens_than_with_clips_bpe(bilingual):
    text = "풀밭에 서 있는 회색과 흰색 허스키 사진"
    assert len(bilingual(text).input_ids) < len(clip_tokenizer()(text).input_ids) / 2


def test_loss_with_one_match_per_row_is_clips_loss():
    logits = torch.randn(6, 6)
    expected = (F.cross_entropy(logits, torch.arange(6)) + F.cross_entropy(logits.T, torch.arange(6))) / 2
    torch.testing.assert_close(contrastive_loss(logits, torch.eye(6)), expected)


def test_loss_is_small_when_every_text_finds_its_picture():
    assert contrastive_loss(torch.eye(4) * 100, torch.eye(4)).item() < 1e-6
    assert contrastive_loss(torch.ones(4, 4) * 5, torch.eye(4)).item() == pytest.approx(
        torch.log(torch.tensor(4.0)).item()
    )


def test_committed_tokenizer_is_rebuilt_exactly_from_the_course_texts():
    """The tokenizer is learned without random tie-breaks: another process, the same vocabulary and merges."""
    rebuilt = train_bilingual_tokenizer([text for example in course_examples() for text in example.texts])
    committed = CLIPProcessor.from_pretrained(MINI_DIR).tokenizer
    assert rebuilt.get_vocab() == committed.get_vocab()

    def merges(tokenizer):
        return json.loads(tokenizer.backend_tokenizer.to_str())["model"]["merges"]

    assert merges(rebuilt) == merges(committed)


def test_a_short_training_run_is_deterministic_and_lowers_the_loss():
    examples = course_examples()[:8]
    runs = []
    for _ in range(2):
        model, processor = new_mini_model(examples, seed=1)
        losses = train(model, processor, examples, steps=30, batch_size=8, seed=1, progress=False)
        runs.append((losses, model.state_dict()))
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(runs[0][1][k], runs[1][1][k]) for k in runs[0][1])
    assert sum(runs[0][0][-5:]) / 5 < sum(runs[0][0][:5]) / 5


@pytest.fixture(scope="module")
def mini():
    assert (MINI_DIR / "config.json").exists(), "models/mini is committed; run models/train_mini.py to rebuild it"
    return mmembed.load_clip("mini", device="cpu")


def test_mini_is_a_plain_transformers_clip_under_20_mb(mini):
    model = CLIPModel.from_pretrained(MINI_DIR)
    processor = CLIPProcessor.from_pretrained(MINI_DIR)
    assert model.config.projection_dim == 512
    assert model.config.text_config.eos_token_id == processor.tokenizer.eos_token_id == len(processor.tokenizer) - 1
    assert sum(f.stat().st_size for f in MINI_DIR.iterdir()) < 20 * 2**20
    assert mini[0].mmembed_name == "mini"


@pytest.fixture(scope="module")
def mini_figures(mini):
    return evaluate(*mini)


def test_mini_finds_the_course_pictures_by_caption(mini_figures):
    assert mini_figures["recall@1_en"] >= 0.9
    assert mini_figures["recall@1_ko"] >= 0.8


def test_mini_answers_short_category_queries(mini_figures):
    assert mini_figures["category_top1_en"] >= 0.8
    assert mini_figures["category_top1_ko"] >= 0.8


def test_mini_finds_the_dog_group(mini_figures):
    assert mini_figures["dog_group_top3"] == 1.0


def test_committed_metrics_are_the_models_own(mini_figures):
    recorded = json.loads((MINI_DIR / "metrics.json").read_text())
    for name, value in mini_figures.items():
        assert recorded[name] == pytest.approx(value, abs=1e-6), name
