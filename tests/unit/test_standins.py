"""The offline stand-ins of lectures 05-06 and `course_model`: loaded the way the lectures load the real models.

Real dimensions, from the hub repositories' config.json / preprocessor_config.json:
- BAAI/AltCLIP: projection_dim 768 (text project_dim 768, XLM-R large 1024 inside), CLIP ViT-L/14 at 224 px.
- kakaobrain/align-base: projection_dim 640 (BERT-base 768 inside), EfficientNet image embedding 640,
  images resized to 346 and center-cropped to 289, pixels rescaled to [-1, 1] (rescale_offset).
- kakaobrain/vit-large-patch16-384: ViTForImageClassification, 384 px, patch 16 (1000 ImageNet labels; the
  stand-in has the course categories instead).
"""

import subprocess
import sys
import time

import pytest
import torch
from PIL import Image
from transformers import (
    AlignModel,
    AlignProcessor,
    AlignTextModel,
    AlignVisionModel,
    AltCLIPModel,
    AltCLIPProcessor,
    AutoImageProcessor,
    AutoModel,
    AutoProcessor,
    AutoTokenizer,
    BertTokenizer,
    ViTForImageClassification,
    XLMRobertaTokenizer,
    pipeline,
)

import mmembed
from mmembed import notes
from mmembed.embedding import features_tensor
from mmembed.paths import CAT_IMAGE, MINI_DIR
from mmembed.zoo import hub, registry
from mmembed.zoo.corpus import course_categories
from mmembed.zoo.hub import COURSE_MODELS, HubUnreachableError
from mmembed.zoo.random_weights import weights_fingerprint
from mmembed.zoo.sources import course_model, ensure_standin
from tests.helpers import REPO_ROOT

# The stand-ins built here, with their classes (mini is committed and trained: tests/unit/test_mini.py).
BUILT = {"altclip-tiny": AltCLIPModel, "align-tiny": AlignModel, "vit-tiny": ViTForImageClassification}

TEXTS = ["a photo of a cat", "고양이 사진", "풀밭에 서 있는 회색과 흰색 허스키"]
KOREAN_LABELS = ["고양이", "강아지", "자동차"]


@pytest.fixture(scope="module")
def cat():
    return Image.open(CAT_IMAGE).convert("RGB")


@pytest.fixture
def offline(monkeypatch):
    """MMEMBED_OFFLINE=1, and a hub that must not be asked."""
    monkeypatch.setattr(notes, "_said", set())  # each test sees its own notes
    monkeypatch.setenv("MMEMBED_OFFLINE", "1")
    monkeypatch.setattr(hub, "hub_reachable", _must_not_ask_the_hub)


@pytest.fixture
def empty_cache(monkeypatch, tmp_path):
    """An empty Hugging Face cache, whatever the machine has downloaded."""
    monkeypatch.delenv("MMEMBED_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))
    monkeypatch.setattr(notes, "_said", set())


def _must_not_ask_the_hub():
    raise AssertionError("the hub was asked although MMEMBED_OFFLINE=1")


def _notes(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("[mmembed]")]


# ---------------------------------------------------------------- the lectures' loading code


def test_every_course_model_has_a_stand_in():
    stand_ins = {registry.lookup(hub_id).stand_in for hub_id in COURSE_MODELS}
    assert stand_ins == {"mini", *BUILT}


def test_altclip_like_the_lecture(offline, cat):
    model = AltCLIPModel.from_pretrained(course_model("BAAI/AltCLIP"))
    processor = AltCLIPProcessor.from_pretrained(course_model("BAAI/AltCLIP"))
    assert isinstance(processor.tokenizer, XLMRobertaTokenizer)
    assert type(processor.image_processor).__name__ == "CLIPImageProcessorPil"  # no torchvision needed
    assert model.config.projection_dim == 768 and model.config.text_config.project_dim == 768
    with torch.inference_mode():
        pixels = processor(images=cat, return_tensors="pt")["pixel_values"]
        image_output = model.get_image_features(pixel_values=pixels)
        text_output = model.get_text_features(**processor(text=TEXTS, padding=True, return_tensors="pt"))
    assert pixels.shape == (1, 3, 224, 224)
    # transformers 5: a model output whose pooler_output is the projected embedding, not a tensor
    assert type(image_output).__name__ == "BaseModelOutputWithPooling"
    assert type(text_output).__name__ == "BaseModelOutputWithPoolingAndProjection"
    assert features_tensor(image_output).shape == (1, 768)
    assert features_tensor(text_output).shape == (3, 768)
    assert image_output.last_hidden_state.shape[1] == 1 + (224 // 14) ** 2  # ViT-L/14: 257 tokens


def test_align_like_the_lecture(offline, cat):
    model = AlignModel.from_pretrained(course_model("kakaobrain/align-base"))
    processor = AlignProcessor.from_pretrained(course_model("kakaobrain/align-base"))
    assert isinstance(processor.tokenizer, BertTokenizer)
    assert type(processor.image_processor).__name__ == "EfficientNetImageProcessorPil"
    with torch.inference_mode():
        pixels = processor(images=cat, return_tensors="pt")["pixel_values"]
        image_output = model.get_image_features(pixel_values=pixels)
        tokens = processor(text=TEXTS, return_tensors="pt")  # AlignProcessor pads to 64 tokens by default
        text_output = model.get_text_features(**tokens)
    assert pixels.shape == (1, 3, 289, 289) and pixels.min() >= -1 and pixels.max() <= 1
    assert tokens["input_ids"].shape == (3, 64)
    assert type(image_output).__name__ == "BaseModelOutputWithPoolingAndNoAttention"
    assert type(text_output).__name__ == "BaseModelOutputWithPooling"
    assert features_tensor(image_output).shape == (1, 640)
    assert features_tensor(text_output).shape == (3, 640)
    assert image_output.last_hidden_state.shape == (1, 640, 9, 9)  # EfficientNet's last feature map


def test_align_batchnorm_statistics_are_the_identity():
    model = AlignModel.from_pretrained(ensure_standin("align-tiny"))
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and all(torch.all(m.running_mean == 0) and torch.all(m.running_var == 1) for m in norms)


def test_align_towers_come_from_the_full_model(cat):
    """Trap (transformers 5.23): the checkpoint's keys start with "text_model." / "vision_model.", which
    AlignTextModel / AlignVisionModel do not have: from_pretrained loads none of them and keeps random weights
    (it only prints a LOAD REPORT). The real kakaobrain/align-base, saved by AlignModel too, has the same keys.
    Use AlignModel(...).text_model, or pass key_mapping."""
    folder = ensure_standin("align-tiny")
    full = AlignModel.from_pretrained(folder)
    _, info = AlignTextModel.from_pretrained(folder, output_loading_info=True)
    assert len(info["missing_keys"]) > 0  # if this fails, transformers learned to load the towers: simplify the lecture
    text = AlignTextModel.from_pretrained(folder, key_mapping={r"^text_model\.": ""})
    vision = AlignVisionModel.from_pretrained(folder, key_mapping={r"^vision_model\.": ""})
    tokens = AutoTokenizer.from_pretrained(folder)(TEXTS, padding=True, return_tensors="pt")
    pixels = AutoImageProcessor.from_pretrained(folder)(cat, return_tensors="pt")["pixel_values"]
    with torch.inference_mode():
        assert torch.equal(text(**tokens).last_hidden_state, full.text_model(**tokens).last_hidden_state)
        assert torch.equal(
            vision(pixel_values=pixels).pooler_output, full.vision_model(pixel_values=pixels).pooler_output
        )
    assert isinstance(full.text_model, AlignTextModel) and isinstance(full.vision_model, AlignVisionModel)


def test_vit_like_the_lecture(offline, cat):
    folder = course_model("kakaobrain/vit-large-patch16-384")
    model = ViTForImageClassification.from_pretrained(folder)
    image_processor = AutoImageProcessor.from_pretrained(folder)
    assert type(image_processor).__name__ == "ViTImageProcessorPil"
    assert model.config.image_size == 384 and model.config.patch_size == 16
    with torch.inference_mode():
        pixels = image_processor(cat, return_tensors="pt")["pixel_values"]
        logits = model(pixel_values=pixels).logits
    assert pixels.shape == (1, 3, 384, 384)
    assert logits.shape == (1, len(course_categories()))
    assert list(model.config.id2label.values()) == course_categories()


def test_image_classification_pipeline_gives_course_labels(cat):
    classify = pipeline("image-classification", model=course_model("vit-tiny"))
    top5 = classify(cat)
    assert len(top5) == 5 and {row["label"] for row in top5} <= set(course_categories())
    assert all(top5[i]["score"] >= top5[i + 1]["score"] for i in range(4))


@pytest.mark.parametrize("name", ["mini", "altclip-tiny", "align-tiny"])
def test_zero_shot_pipeline_with_korean_labels(name, cat):
    classify = pipeline("zero-shot-image-classification", model=course_model(name))
    answer = classify(cat, candidate_labels=KOREAN_LABELS, hypothesis_template="{}")
    assert sorted(row["label"] for row in answer) == sorted(KOREAN_LABELS)
    assert sum(row["score"] for row in answer) == pytest.approx(1.0, abs=1e-5)
    if name == "mini":  # trained on the course pictures: it knows this cat
        assert answer[0]["label"] == "고양이"


def test_auto_classes_and_mmembed_helpers_work_on_the_clip_style_stand_ins(cat):
    for name, model_class in [("mini", "CLIPModel"), ("altclip-tiny", "AltCLIPModel"), ("align-tiny", "AlignModel")]:
        folder = course_model(name)
        model, processor = AutoModel.from_pretrained(folder), AutoProcessor.from_pretrained(folder)
        assert type(model).__name__ == model_class
        texts = mmembed.embed_texts(TEXTS, model, processor)
        images = mmembed.embed_images([cat], model, processor)
        assert texts.shape[1] == images.shape[1] == model.config.projection_dim
        # Large enough that F.normalize (eps 1e-12) gives unit vectors: the signal survives the towers.
        assert images.norm(dim=-1).min() > 1e-3 and texts.norm(dim=-1).min() > 1e-3, name
        # A text longer than the context is cut at what the text tower takes (512 for XLM-R's 514 positions).
        long_text = mmembed.embed_texts(["고양이 한 마리 " * 400], model, processor)
        assert long_text.shape == (1, model.config.projection_dim) and torch.isfinite(long_text).all()


# ---------------------------------------------------------------- tokenizers


def _is_hangul(char: str) -> bool:
    return "\uac00" <= char <= "\ud7a3" or "\u1100" <= char <= "\u11ff"  # syllables, or jamo (uncased BERT)


@pytest.mark.parametrize("name", ["altclip-tiny", "align-tiny"])
def test_korean_becomes_real_pieces(name):
    tokenizer = AutoTokenizer.from_pretrained(ensure_standin(name))
    for text in ["옆을 바라보는 줄무늬 고양이", "풀밭에 서 있는 회색과 흰색 허스키", "뷁 쀍 똠방각하"]:
        pieces = tokenizer.tokenize(text)
        assert tokenizer.unk_token_id not in tokenizer(text).input_ids, pieces
        assert all(any(_is_hangul(char) for char in piece) for piece in pieces if piece.strip("▁#")), pieces
    assert len(tokenizer.tokenize("고양이")) == 1  # a frequent course word is one piece
    assert any(sum(map(_is_hangul, piece)) >= 2 for piece in tokenizer.tokenize("줄무늬 허스키"))
    mixed = tokenizer("Tabby CAT 😀 고양이!").input_ids
    assert mixed.count(tokenizer.unk_token_id) == 1  # only the emoji


def test_special_tokens_have_the_real_ids():
    xlmr = AutoTokenizer.from_pretrained(ensure_standin("altclip-tiny"))
    assert isinstance(xlmr, XLMRobertaTokenizer)
    assert [xlmr.bos_token_id, xlmr.pad_token_id, xlmr.eos_token_id, xlmr.unk_token_id] == [0, 1, 2, 3]
    assert xlmr.mask_token_id == len(xlmr) - 1  # as in xlm-roberta: <mask> is the last id
    ids = xlmr("고양이").input_ids
    assert ids[0] == 0 and ids[-1] == 2
    bert = AutoTokenizer.from_pretrained(ensure_standin("align-tiny"))
    assert isinstance(bert, BertTokenizer)
    assert [bert.pad_token_id, bert.unk_token_id, bert.cls_token_id, bert.sep_token_id, bert.mask_token_id] == [
        0,
        100,
        101,
        102,
        103,
    ]
    assert bert("A Photo").input_ids == bert("a photo").input_ids  # uncased, like bert-base-uncased


# ---------------------------------------------------------------- which folder course_model gives


def test_offline_switch_gives_the_stand_in_and_says_so_once(offline, capsys):
    assert course_model("BAAI/AltCLIP") == str(REPO_ROOT / "models" / "standins" / "altclip-tiny")
    assert _notes(capsys) == [
        "[mmembed] MMEMBED_OFFLINE=1: BAAI/AltCLIP 대신 오프라인 대체 모델 'altclip-tiny'를 씁니다 "
        "(무작위 가중치라서 출력 숫자에는 뜻이 없습니다)."
    ]
    assert course_model("BAAI/AltCLIP") == str(REPO_ROOT / "models" / "standins" / "altclip-tiny")
    assert _notes(capsys) == [], "the processor's load, right after the model's, says nothing new"
    assert course_model("Bingsu/clip-vit-base-patch32-ko") == str(MINI_DIR)
    (note,) = _notes(capsys)
    assert "'mini'" in note and "강의 사진으로 학습한 작은 CLIP" in note and "무작위" not in note


def test_a_cached_model_is_used_without_the_hub(monkeypatch, empty_cache, tmp_path, capsys):
    cache = tmp_path / "hub-cache"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hub, "hub_reachable", _must_not_ask_the_hub)
    repo = cache / "models--BAAI--AltCLIP"
    snapshot = repo / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    for file in ensure_standin("altclip-tiny").iterdir():  # what "python -m mmembed download" leaves behind
        (snapshot / file.name).write_bytes(file.read_bytes())
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    folder = course_model("BAAI/AltCLIP")
    assert folder == str(snapshot)
    assert isinstance(AltCLIPModel.from_pretrained(folder), AltCLIPModel)
    assert _notes(capsys) == []


def test_a_cached_config_without_weights_is_not_a_download(monkeypatch, empty_cache, tmp_path):
    cache = tmp_path / "hub-cache"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hub, "hub_reachable", lambda: True)
    snapshot = cache / "models--BAAI--AltCLIP" / "snapshots" / ("b" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (snapshot.parent.parent / "refs").mkdir()
    (snapshot.parent.parent / "refs" / "main").write_text("b" * 40)
    assert course_model("BAAI/AltCLIP") == "BAAI/AltCLIP"


def test_reachable_hub_gives_the_hub_id(monkeypatch, empty_cache, capsys):
    monkeypatch.setattr(hub, "hub_reachable", lambda: True)
    for hub_id in COURSE_MODELS:
        assert course_model(hub_id) == hub_id
    assert _notes(capsys) == []


def test_unreachable_hub_gives_the_stand_in_and_says_how_to_get_the_real_one(monkeypatch, empty_cache, capsys):
    monkeypatch.setattr(hub, "hub_reachable", lambda: False)
    assert course_model("kakaobrain/align-base") == str(ensure_standin("align-tiny"))
    (note,) = _notes(capsys)
    assert note.startswith("[mmembed] Hugging Face Hub에 연결할 수 없습니다: kakaobrain/align-base 대신 ")
    assert "'align-tiny'" in note and "무작위 가중치" in note and "python -m mmembed download" in note


def test_unknown_model_without_cache_or_hub_fails_in_one_sentence(monkeypatch, empty_cache):
    monkeypatch.setattr(hub, "hub_reachable", lambda: False)
    with pytest.raises(HubUnreachableError) as error:
        course_model("no-such-org/no-such-model")
    message = str(error.value)
    assert "no-such-org/no-such-model" in message and message.count(". ") == 0 and "\n" not in message


def test_stand_in_names_give_their_folders(empty_cache):
    for name in BUILT:
        assert course_model(name) == str(REPO_ROOT / "models" / "standins" / name)
    assert course_model("mini") == str(MINI_DIR)


# ---------------------------------------------------------------- building


def test_second_use_is_instant_and_a_new_recipe_rebuilds(tmp_path):
    started = time.monotonic()
    folder = ensure_standin("vit-tiny", tmp_path / "vit-tiny")
    built = time.monotonic() - started
    weights = folder / "model.safetensors"
    first_mtime = weights.stat().st_mtime_ns
    started = time.monotonic()
    assert ensure_standin("vit-tiny", folder) == folder
    assert time.monotonic() - started < 0.5 and weights.stat().st_mtime_ns == first_mtime
    (folder / "RECIPE").write_text("an older recipe\n")
    ensure_standin("vit-tiny", folder)
    assert (folder / "RECIPE").read_text().strip() != "an older recipe"
    assert built < 30
    assert [p.name for p in tmp_path.iterdir()] == ["vit-tiny"]  # no staging folder left behind


FINGERPRINTS = """
import hashlib, sys
from pathlib import Path
from transformers import AlignModel, AltCLIPModel, ViTForImageClassification
from mmembed.zoo.random_weights import weights_fingerprint
from mmembed.zoo.sources import ensure_standin
STAND_INS = [("altclip-tiny", AltCLIPModel), ("align-tiny", AlignModel), ("vit-tiny", ViTForImageClassification)]
for name, model_class in STAND_INS:
    folder = ensure_standin(name, Path(sys.argv[1]) / name)
    tokenizer = folder / "tokenizer.json"
    vocabulary = hashlib.sha256(tokenizer.read_bytes()).hexdigest() if tokenizer.exists() else "-"
    print(name, weights_fingerprint(model_class.from_pretrained(folder)), vocabulary)
"""


@pytest.mark.slow  # two fresh processes
def test_two_fresh_processes_build_bit_identical_stand_ins(tmp_path):
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", FINGERPRINTS, str(tmp_path / f"build-{i}")],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outputs = []
    for run in runs:
        stdout, stderr = run.communicate(timeout=120)
        assert run.returncode == 0, stderr
        outputs.append(sorted(line for line in stdout.splitlines() if line.split(" ")[0] in BUILT))
    assert len(outputs[0]) == 3 and outputs[0] == outputs[1]
    # and the stand-ins the other tests used are those same models
    for line in outputs[0]:
        name, fingerprint, _ = line.split(" ")
        assert weights_fingerprint(BUILT[name].from_pretrained(ensure_standin(name))) == fingerprint
