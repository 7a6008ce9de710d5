"""What lecture 06a (ALIGN and ViT) says, checked.

- Offline: the lecture executed with MMEMBED_OFFLINE=1 (the stand-ins "align-tiny" and "vit-tiny") prints what its
  prose quotes: 640-d embeddings, 289 px pictures, 577 ViT tokens, the missing weights of the separately loaded
  text encoder. Other tests check directly the transformers behaviour the lecture teaches (the AlignTextModel /
  AlignVisionModel trap, AlignProcessor's padding warnings, ViTImageProcessor without torchvision).
- Tests marked `online` check what the prose says about the real kakaobrain/align-base and
  kakaobrain/vit-large-patch16-384; they are skipped where the Hugging Face Hub cannot be reached. The last one
  runs the whole lecture online.
"""

import importlib.util
import json
import re
import warnings

import nbformat
import pytest
import torch
import transformers
from transformers import (
    AlignModel,
    AlignProcessor,
    AlignTextModel,
    AlignVisionModel,
    AutoImageProcessor,
    ViTForImageClassification,
    pipeline,
)

import mmembed
from mmembed.paths import CAT_IMAGE
from mmembed.zoo.corpus import course_categories
from mmembed.zoo.sources import ensure_standin
from tests.helpers import assert_contains, cell_text, code_cell, lecture_code, markdown_text, run_python, shows_a_figure
from tests.lectures.conftest import lecture_path, lecture_run_marks

NOTEBOOK = lecture_path("06a")
pytestmark = lecture_run_marks(NOTEBOOK)
ALIGN_ID = "kakaobrain/align-base"
VIT_ID = "kakaobrain/vit-large-patch16-384"

# Sections 2.2-2.4: the texts and labels of the zero-shot example.
ALIGN_TEXTS = ["a photo of a cat", "a photo of a dog", "a photo of a car", "a photo of a bird"]
ALIGN_LABELS = ["cat", "dog", "car", "bird"]
# Section 3.3: the ImageNet-1k cat classes the prose names, by index in the usual ImageNet label list.
IMAGENET_CATS = {281: "tabby, tabby cat", 282: "tiger cat", 285: "Egyptian cat"}


@pytest.fixture(scope="module")
def cat():
    return mmembed.load_image(CAT_IMAGE)


# --- the saved notebook ----------------------------------------------------------------------------------------------


def test_code_is_the_same_online_and_offline():
    """Section 1: the lecture loads by hub id through course_model, never a stand-in by name."""
    code = lecture_code(NOTEBOOK, ("align-tiny", "vit-tiny", "models/standins"))
    assert code.count('mmembed.course_model("kakaobrain/align-base")') >= 2
    assert code.count('mmembed.course_model("kakaobrain/vit-large-patch16-384")') == 2
    assert 'AlignModel.from_pretrained(mmembed.course_model("kakaobrain/align-base"))' in code
    assert 'Image.open(CAT_IMAGE).convert("RGB")' in code and "load_image" not in code


def test_prose_says_where_the_numbers_come_from():
    """Sections 1-3: the prose names the stand-ins, says their numbers mean nothing, names its sources, and says
    CLIP's logit scale multiplies where ALIGN's temperature divides."""
    text = markdown_text(nbformat.read(NOTEBOOK, as_version=4))
    assert_contains(
        text,
        "align-tiny",
        "vit-tiny",
        "무작위 가중치",
        "이 숫자에는 뜻이 없습니다",
        "transformers 5.x에서 바뀐 점",
        "1.8B",
        "Jia et al. (2021)",
        "Dosovitskiy et al. (2020)",
        "68.6%",
        "69.3%",
        "로짓 배율 100 = 온도 0.01",
        "`[mmembed]`로 시작하는 안내 한 줄",
    )


# --- ALIGN (offline: align-tiny) -------------------------------------------------------------------------------------


def test_align_cells_print_the_real_sizes(nb):
    """Sections 2.1-2.2: 640-d embeddings, temperature instead of logit_scale, 64 tokens by default,
    289x289 pixels in [-1, 1], transformers 5 output objects, embeddings that are not unit length."""
    loaded = cell_text(nb, "align_model = AlignModel.from_pretrained")
    assert loaded.startswith("[mmembed]")  # section 1: the stand-in's note, a line of ordinary output
    assert_contains(
        loaded,
        "model          : AlignModel",
        "tokenizer      : BertTokenizer",
        "임베딩 차원 (projection_dim): 640",
        "텍스트 인코더(BERT)의 hidden size: 64",  # the stand-in's; the prose gives the real 768 (online test)
        "temperature: 1.0   logit_scale이 있나? False",
    )
    embedded = cell_text(nb, "text_inputs = align_processor(text=texts")
    assert_contains(
        embedded,
        "input_ids   : (4, 64)",
        "['[CLS]', 'a', 'photo', 'of', 'a', 'cat', '[SEP]', '[PAD]']",
        "pixel_values: (1, 3, 289, 289)  값의 범위: -1.00 ~",
        "BaseModelOutputWithPooling -> text embeddings (4, 640)",
        "-> image embedding (1, 640)",
    )
    norms = [float(n) for n in re.findall(r"'([-+0-9.e]+)'", embedded.split("norm")[-1])]
    assert len(norms) == 5 and all(abs(n - 1) > 0.01 for n in norms)
    assert "길이가 1이라고 예측했다면 틀렸습니다" in markdown_text(nb)


def test_the_two_encoders_are_drawn_with_a_korean_description(nb):
    """Section 2: a figure of ALIGN's two encoders, with Korean alt text for the course website."""
    assert shows_a_figure(nb, "FancyBboxPatch")
    alt = code_cell(nb, "FancyBboxPatch").metadata["mystnb"]["image"]["alt"]
    assert_contains(alt, "이미지 인코더(EfficientNet)", "텍스트 인코더(BERT)", "640차원", "temperature")


def test_zero_shot_by_hand_equals_the_model_and_the_pipeline(nb):
    """Sections 2.3-2.4: cosine / temperature equals logits_per_image; with the stand-in every probability
    is about 0.25; the pipeline gives the same probabilities."""
    by_hand = cell_text(nb, "logits = cosine / align_model.temperature")
    assert "logits_per_image ? True" in by_hand
    rows = re.findall(r"^(a photo of a \w+)\s+cosine = ([-+0-9.]+)\s+확률 = ([0-9.]+)$", by_hand, re.M)
    assert [text for text, _, _ in rows] == ALIGN_TEXTS
    probabilities = [float(p) for _, _, p in rows]
    assert sum(probabilities) == pytest.approx(1, abs=1e-3)
    assert all(abs(p - 0.25) < 0.01 for p in probabilities)
    assert shows_a_figure(nb, "logits = cosine / align_model.temperature")

    piped = dict(re.findall(r"^(\w+)\s+([0-9.]+)$", cell_text(nb, "zero_shot = pipeline("), re.M))
    assert sorted(piped) == sorted(ALIGN_LABELS)
    by_label = dict(zip(ALIGN_LABELS, probabilities))
    assert all(abs(float(score) - by_label[label]) < 1e-3 for label, score in piped.items())


def test_tower_trap_cells_print_what_the_prose_says(nb):
    """Section 2.5: every tensor of the separately loaded AlignTextModel is missing (random), its output differs
    from the full model's, the towers taken from AlignModel give exactly the full model's outputs, the image
    embedding is the mean of the (640, 9, 9) feature map; and the LOAD REPORT stays hidden."""
    trap_cell = code_cell(nb, "wrong_text_tower, loading_info")
    trap = cell_text(nb, "wrong_text_tower, loading_info")
    total, missing = map(int, re.search(r"텐서 (\d+)개 중 .*?: (\d+)개", trap).groups())
    assert total == missing > 0
    assert "['text_model.embeddings." in trap and "['embeddings." in trap
    assert not any("LOAD REPORT" in output.get("text", "") for output in trap_cell.outputs)

    towers = cell_text(nb, "text_tower = align_model.text_model")
    assert "AlignTextModel / AlignVisionModel" in towers
    assert "이미지 인코더의 특징 맵: (1, 640, 9, 9)" in towers
    assert "따로 불러온 AlignTextModel == 전체 모델의 텍스트 인코더? False" in towers
    for check in (
        "align_model.text_model     == 전체 모델의 텍스트 인코더? True",
        "text_projection([CLS])     == get_text_features? True",
        "vision_model pooler_output == get_image_features? True",
        "pooler_output == 특징 맵의 평균? True",
    ):
        assert check in towers


def test_tower_classes_load_none_of_an_align_checkpoint_and_key_mapping_fixes_it(caplog):
    """Section 2.5, directly: AlignTextModel / AlignVisionModel.from_pretrained on an AlignModel checkpoint
    miss every tensor; key_mapping loads the same weights as AlignModel(...).text_model / .vision_model, and
    still prints a LOAD REPORT (for the other tower's weights). The real checkpoint: see the online test."""
    folder = ensure_standin("align-tiny")
    full = AlignModel.from_pretrained(folder)
    for tower_class, prefix, inside in (
        (AlignTextModel, "text_model", full.text_model),
        (AlignVisionModel, "vision_model", full.vision_model),
    ):
        caplog.clear()
        tower, info = tower_class.from_pretrained(folder, output_loading_info=True)
        assert "LOAD REPORT" in caplog.text
        assert set(info["missing_keys"]) == set(tower.state_dict()), tower_class.__name__
        caplog.clear()
        mapped = tower_class.from_pretrained(folder, key_mapping={rf"^{prefix}\.": ""})
        assert "LOAD REPORT" in caplog.text
        expected = inside.state_dict()
        assert set(mapped.state_dict()) == set(expected)
        assert all(torch.equal(value, expected[name]) for name, value in mapped.state_dict().items())
    caplog.clear()
    transformers.utils.logging.set_verbosity_error()
    try:
        AlignTextModel.from_pretrained(folder)
        assert "LOAD REPORT" not in caplog.text  # what the lecture's cell does to hide it
    finally:
        transformers.utils.logging.set_verbosity_warning()


def test_align_processor_pads_to_64_quietly_and_warns_on_padding_true_alone():
    """Section 2.2: the default pads to 64 tokens; padding=True pads to the longest text and warns unless
    truncation=True is given too. The images: resized to 346, center-cropped to 289, rescaled to [-1, 1]."""
    processor = AlignProcessor.from_pretrained(ensure_standin("align-tiny"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        default = processor(text=ALIGN_TEXTS, return_tensors="pt")
        longest = processor(text=ALIGN_TEXTS, padding=True, truncation=True, return_tensors="pt")
    assert default["input_ids"].shape == (4, 64)
    assert longest["input_ids"].shape == (4, 7)  # [CLS] a photo of a bird [SEP]
    assert not [w for w in caught if "max_length" in str(w.message)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        processor(text=ALIGN_TEXTS, padding=True, return_tensors="pt")
    assert any("`max_length` is ignored" in str(w.message) for w in caught)

    image_processor = processor.image_processor
    assert (image_processor.size["height"], image_processor.crop_size["height"]) == (346, 289)
    assert image_processor.rescale_offset and image_processor.rescale_factor == pytest.approx(1 / 127.5)


def test_align_embeddings_are_not_normalised_and_the_model_divides_by_temperature(cat):
    """Sections 2.2-2.3, directly: get_*_features return unnormalised vectors; logits_per_image is the
    cosine of the normalised vectors divided by temperature."""
    folder = ensure_standin("align-tiny")
    model, processor = AlignModel.from_pretrained(folder), AlignProcessor.from_pretrained(folder)
    inputs = processor(text=ALIGN_TEXTS, images=cat, return_tensors="pt")
    with torch.no_grad():
        text = model.get_text_features(
            input_ids=inputs["input_ids"],
            attention_mask=inputs["attention_mask"],
            token_type_ids=inputs["token_type_ids"],
        ).pooler_output
        image = model.get_image_features(pixel_values=inputs["pixel_values"]).pooler_output
        logits = model(**inputs).logits_per_image
    assert not torch.allclose(text.norm(dim=-1), torch.ones(4), atol=0.01)
    assert not torch.allclose(image.norm(dim=-1), torch.ones(1), atol=0.01)
    cosine = (image / image.norm(dim=-1, keepdim=True)) @ (text / text.norm(dim=-1, keepdim=True)).T
    assert torch.allclose(cosine / model.temperature, logits, atol=1e-5)
    assert not hasattr(model, "logit_scale")


# --- ViT (offline: vit-tiny) -----------------------------------------------------------------------------------------


def test_vit_cells_print_577_tokens(nb):
    """Sections 3.1-3.2: 384 px, patch 16, 24 x 24 = 576 patches + [CLS] = 577 tokens; the stand-in has
    hidden size 64, 2 layers and the 20 course categories as classes."""
    assert len(course_categories()) == 20 and course_categories()[:3] == ["bird", "building", "cat"]
    loaded = cell_text(nb, "vit_model = ViTForImageClassification.from_pretrained")
    assert "model          : ViTForImageClassification" in loaded
    assert re.search(r"image processor: ViTImageProcessor\w*", loaded)
    assert_contains(
        loaded,
        "크기 조정: 384 x 384  mean: (0.5, 0.5, 0.5)  std: (0.5, 0.5, 0.5)",
        "image_size: 384  patch_size: 16",
        "hidden_size: 64  layers: 2",
        "classes: 20  예: ['bird', 'building', 'cat']",
    )
    assert_contains(
        cell_text(nb, "patch_projection = "),
        "pixel_values: (1, 3, 384, 384)",
        "384 / 16 = 24 -> 24 x 24 = 576 patches, + [CLS] = 577 tokens",
        "kernel_size=(16, 16), stride=(16, 16)",
        "패치 임베딩         : (1, 64, 24, 24)",
        "Transformer의 출력 : (1, 577, 64)",
        "[CLS] 위치 임베딩 포함: (1, 577, 64)",
        "logits             : (1, 20)",
    )
    assert shows_a_figure(nb, "model_view = (pixel_values[0] * std + mean)")


def test_vit_top5_and_pipeline(nb):
    """Sections 3.3-3.4: with the stand-in, five course categories at about 0.05-0.07 each; the pipeline's
    top-5 is the same, in the same order."""
    top = cell_text(nb, "top5 = class_probabilities.topk(5)")
    rows = re.findall(r"^(\d)위  (.+?)\s+([0-9.]+)$", top, re.M)
    assert [rank for rank, _, _ in rows] == ["1", "2", "3", "4", "5"]
    labels = [label for _, label, _ in rows]
    probabilities = [float(p) for _, _, p in rows]
    assert set(labels) <= set(course_categories())
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(0.05 <= p <= 0.075 for p in probabilities)
    assert "1/20 = 0.05 근처라고 예측했다면 맞습니다" in markdown_text(nb)
    assert "확률의 합: 1.0  클래스 수: 20" in top
    piped = re.findall(r"^(.+?)\s+([0-9.]+)$", cell_text(nb, "classifier = pipeline("), re.M)
    assert [label for label, _ in piped] == labels


def test_vit_image_processor_without_torchvision_warns_and_auto_is_quiet():
    """Section 3.1: without torchvision, importing ViTImageProcessor warns and gives ViTImageProcessorPil;
    AutoImageProcessor reads "image_processor_type": "ViTImageProcessor" and gives it quietly."""
    if importlib.util.find_spec("torchvision") is not None:
        pytest.skip("torchvision is installed here: ViTImageProcessor is its torchvision version")
    folder = ensure_standin("vit-tiny")
    config = json.loads((folder / "preprocessor_config.json").read_text(encoding="utf-8"))
    assert config["image_processor_type"] == "ViTImageProcessor"
    by_name = run_python(["-c", "from transformers import ViTImageProcessor; print(ViTImageProcessor.__name__)"])
    assert by_name.returncode == 0, by_name.stderr
    assert by_name.stdout.strip() == "ViTImageProcessorPil"
    assert "requires torchvision" in by_name.stderr
    auto = run_python(
        [
            "-c",
            "import sys; from transformers import AutoImageProcessor; "
            "print(type(AutoImageProcessor.from_pretrained(sys.argv[1])).__name__)",
            str(folder),
        ]
    )
    assert auto.returncode == 0, auto.stderr
    assert auto.stdout.strip() == "ViTImageProcessorPil"
    assert "torchvision" not in auto.stderr


# --- the real models (need the hub) ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_align():
    return AlignModel.from_pretrained(ALIGN_ID), AlignProcessor.from_pretrained(ALIGN_ID)


@pytest.fixture(scope="module")
def real_vit():
    return ViTForImageClassification.from_pretrained(VIT_ID), AutoImageProcessor.from_pretrained(VIT_ID)


@pytest.mark.online
def test_real_align_has_the_sizes_the_lecture_gives(real_align, cat):
    """Sections 2.1-2.2 and 2.5: 640-d, BERT-base (768) text tower, temperature and no logit_scale, 64 tokens,
    289 px in [-1, 1], a (640, 9, 9) feature map, unnormalised embeddings."""
    model, processor = real_align
    assert model.config.projection_dim == 640 and model.config.text_config.hidden_size == 768
    assert not hasattr(model, "logit_scale") and isinstance(model.temperature, torch.nn.Parameter)
    inputs = processor(text=ALIGN_TEXTS, images=cat, return_tensors="pt")
    assert inputs["input_ids"].shape == (4, 64) and inputs["pixel_values"].shape == (1, 3, 289, 289)
    assert inputs["pixel_values"].min() >= -1 and inputs["pixel_values"].max() <= 1
    assert processor.tokenizer.convert_ids_to_tokens(inputs["input_ids"][0][:7].tolist()) == [
        "[CLS]",
        "a",
        "photo",
        "of",
        "a",
        "cat",
        "[SEP]",
    ]
    with torch.no_grad():
        text = model.get_text_features(
            input_ids=inputs["input_ids"],
            attention_mask=inputs["attention_mask"],
            token_type_ids=inputs["token_type_ids"],
        )
        image = model.get_image_features(pixel_values=inputs["pixel_values"])
    assert text.pooler_output.shape == (4, 640) and image.pooler_output.shape == (1, 640)
    assert image.last_hidden_state.shape == (1, 640, 9, 9)
    assert not torch.allclose(text.pooler_output.norm(dim=-1), torch.ones(4), atol=0.01)
    assert not torch.allclose(image.pooler_output.norm(dim=-1), torch.ones(1), atol=0.01)


@pytest.mark.online
def test_real_align_zero_shot_picks_the_cat(real_align, cat):
    """Section 2.3-2.4: with the real model, "a photo of a cat" gets the highest probability, by hand and with
    the pipeline, which agree."""
    model, processor = real_align
    with torch.no_grad():
        probabilities = model(**processor(text=ALIGN_TEXTS, images=cat, return_tensors="pt")).logits_per_image.softmax(
            -1
        )[0]
    assert probabilities.argmax().item() == 0, probabilities
    classify = pipeline(
        "zero-shot-image-classification",
        model=model,
        tokenizer=processor.tokenizer,
        image_processor=processor.image_processor,
    )
    answer = classify(cat, candidate_labels=ALIGN_LABELS, hypothesis_template="a photo of a {}")
    assert answer[0]["label"] == "cat"
    by_hand = dict(zip(ALIGN_LABELS, probabilities.tolist()))
    assert all(abs(row["score"] - by_hand[row["label"]]) < 1e-3 for row in answer)


@pytest.mark.online
def test_real_align_checkpoint_has_the_tower_trap(real_align, cat):
    """Section 2.5: on the real checkpoint, AlignTextModel.from_pretrained misses every tensor (its output is
    not the full model's); key_mapping loads the full model's text tower."""
    model, processor = real_align
    transformers.utils.logging.set_verbosity_error()
    try:
        tower, info = AlignTextModel.from_pretrained(ALIGN_ID, output_loading_info=True)
        mapped = AlignTextModel.from_pretrained(ALIGN_ID, key_mapping={r"^text_model\.": ""})
        vision, vision_info = AlignVisionModel.from_pretrained(ALIGN_ID, output_loading_info=True)
    finally:
        transformers.utils.logging.set_verbosity_warning()
    assert set(info["missing_keys"]) == set(tower.state_dict())
    assert set(vision_info["missing_keys"]) == set(vision.state_dict())
    tokens = processor(text=ALIGN_TEXTS, return_tensors="pt")
    with torch.no_grad():
        full = model.text_model(**tokens).last_hidden_state
        assert not torch.allclose(tower(**tokens).last_hidden_state, full, atol=1e-3)
        assert torch.allclose(mapped(**tokens).last_hidden_state, full, atol=1e-5)


@pytest.mark.online
def test_real_vit_is_vit_large_with_577_tokens_and_imagenet_classes(real_vit, cat):
    """Sections 3.1-3.2: ViT-Large (1024 wide, 24 layers), 384 px, patch 16, 1000 ImageNet classes (the cat
    classes named in 3.3 among them), 577 tokens; its processor type is ViTImageProcessor."""
    model, image_processor = real_vit
    config = model.config
    assert (config.hidden_size, config.num_hidden_layers) == (1024, 24)
    assert (config.image_size, config.patch_size, config.num_labels) == (384, 16, 1000)
    assert all(config.id2label[index] == name for index, name in IMAGENET_CATS.items())
    assert type(image_processor).__name__.startswith("ViTImageProcessor")
    assert (image_processor.size["height"], image_processor.size["width"]) == (384, 384)
    pixels = image_processor(images=cat, return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        tokens = model.vit(pixel_values=pixels).last_hidden_state
    assert pixels.shape == (1, 3, 384, 384) and tokens.shape == (1, 577, 1024)


@pytest.mark.online
def test_real_vit_top1_on_the_cat_is_an_imagenet_cat_class(real_vit, cat):
    """Section 3.3: the real model's top-1 for cat.jpg is "tabby, tabby cat", "tiger cat" or "Egyptian cat";
    the pipeline's top-5 is the same as by hand (3.4)."""
    model, image_processor = real_vit
    with torch.no_grad():
        probabilities = model(**image_processor(images=cat, return_tensors="pt")).logits.softmax(-1)[0]
    top5 = probabilities.topk(5)
    assert top5.indices[0].item() in IMAGENET_CATS, [model.config.id2label[i] for i in top5.indices.tolist()]
    classify = pipeline("image-classification", model=model, image_processor=image_processor)
    assert [row["label"] for row in classify(cat, top_k=5)] == [model.config.id2label[i] for i in top5.indices.tolist()]


@pytest.mark.online
def test_lecture_runs_online_with_the_real_models_and_data(online_nb):
    """The same notebook online: no cell fails, the real models are used, ALIGN's zero-shot puts the cat first and
    ViT's top-1 is an ImageNet cat class."""
    assert "텍스트 인코더(BERT)의 hidden size: 768" in cell_text(online_nb, "align_model = AlignModel.from_pretrained")
    probabilities = [
        float(p)
        for p in re.findall(r"확률 = ([0-9.]+)", cell_text(online_nb, "logits = cosine / align_model.temperature"))
    ]
    assert probabilities.index(max(probabilities)) == 0
    assert "(1, 577, 1024)" in cell_text(online_nb, "patch_projection = ")
    top5 = cell_text(online_nb, "top5 = class_probabilities.topk(5)")
    first = re.search(r"^1위  (.+?)\s+[0-9.]+$", top5, re.M).group(1)
    assert first in IMAGENET_CATS.values()
