"""What lecture 01 (modality and CLIP) says, checked.

- Tests marked `online` check what the prose says about the real `openai/clip-vit-base-patch32`; they are
  skipped where the Hugging Face Hub cannot be reached (see the project's conftest.py).
- The other tests check, offline, what the lecture says about the offline model `mini` and the real CLIP's size.
  The `slow` ones read the lecture's own offline run: the transformers 5.x API it teaches, and that its
  hand-written steps agree with the `mmembed` helpers that later lectures use in their place. (Where CLIP's
  temperature starts, a fact of transformers' CLIPConfig, is in tests/unit/test_library_behaviour.py.)
"""

import re

import nbformat
import pytest
import torch
from transformers import CLIPConfig, CLIPModel

import mmembed
from mmembed.paths import CAT_IMAGE
from tests.helpers import assert_contains, cell_text, code_cell, markdown_text
from tests.lectures.conftest import lecture_path, reads_the_lecture_run

NOTEBOOK = lecture_path("01")
CAT_TEXTS = ["A dog", "A cat", "A nuclear submarine"]  # section 5


def cat_scores(model, processor):
    """Section 5's computation: (cosine similarities, softmax probabilities) of cat.jpg against CAT_TEXTS."""
    image = mmembed.load_image(CAT_IMAGE)
    inputs = processor(text=CAT_TEXTS, images=image, return_tensors="pt", padding=True, truncation=True)
    with torch.no_grad():
        image_embeds = model.get_image_features(pixel_values=inputs["pixel_values"]).pooler_output
        text_embeds = model.get_text_features(
            input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]
        ).pooler_output
        probs = model(**inputs).logits_per_image.softmax(dim=1)[0]
    cosines = mmembed.cosine_similarity_matrix(image_embeds, text_embeds)[0]
    return cosines, probs


def numbers(text):
    return [float(n) for n in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", text)]


# --- the saved notebook ----------------------------------------------------------------------------------


def test_lecture_loads_the_model_the_way_the_model_card_does():
    """Section 4: CLIPModel / CLIPProcessor.from_pretrained on course_model("openai/clip-vit-base-patch32")."""
    code = "\n".join(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code")
    assert 'model_name = mmembed.course_model("openai/clip-vit-base-patch32")' in code
    assert "CLIPModel.from_pretrained(model_name)" in code and "CLIPProcessor.from_pretrained(model_name)" in code
    assert "load_clip" not in code and "mmembed.load_image" not in code
    assert 'Image.open(CAT_IMAGE).convert("RGB")' in code


# --- the lecture's own run (offline: mini) ---------------------------------------------------------------


@reads_the_lecture_run(NOTEBOOK)
def test_modalities_have_the_shapes_the_prose_predicts(nb):
    """Section 1's prediction and section 2: the picture is (300, 451, 3), the audio (16000,) and the video
    (4, 200, 200, 3), as printed; the prose that answers the prediction gives the same shapes."""
    text = cell_text(nb, "# 텍스트: 글자(단어)의 나열")
    assert_contains(text, "이미지: (300, 451, 3)", "오디오: (16000,)", "비디오: (4, 200, 200, 3)")
    prose = markdown_text(nb)
    assert_contains(prose, "1차원 배열 `(16000,)`, 비디오는 4차원 배열 `(4, 200, 200, 3)`", "`(300, 451, 3)` 픽셀 배열")


@reads_the_lecture_run(NOTEBOOK)
def test_the_offline_note_is_an_ordinary_output_line_and_no_loading_bar_shows(nb):
    """Section 4: offline, loading the model prints a line beginning with [mmembed] on stdout (ordinary black
    output, not red: nothing goes to stderr); the first cell turns off transformers' "Loading weights" bars."""
    model_cell = code_cell(nb, "model_name = mmembed.course_model(")
    stdout = "".join(o.text for o in model_cell.outputs if o.output_type == "stream" and o.name == "stdout")
    assert any(line.startswith("[mmembed]") for line in stdout.splitlines()), stdout
    prose = markdown_text(nb)
    assert "`[mmembed]`로 시작하는 안내 한 줄" in prose and "빨간 글씨" not in prose
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert "Loading weights" not in str(outputs)
    first_code = next(cell for cell in nb.cells if cell.cell_type == "code")
    assert "transformers_logging.disable_progress_bar()" in first_code.source


def test_a_longer_sentence_has_more_tokens_but_the_same_embedding_length(mini):
    """Section 5.1's prediction: "A nuclear submarine" has more tokens than "A cat"; both embeddings are 512 long."""
    model, processor = mini
    inputs = processor(text=["A cat", "A nuclear submarine"], return_tensors="pt", padding=True)
    cat_tokens, submarine_tokens = inputs["attention_mask"].sum(dim=1).tolist()
    assert submarine_tokens > cat_tokens
    with torch.no_grad():
        assert tuple(model.get_text_features(**inputs).pooler_output.shape) == (2, 512)


@reads_the_lecture_run(NOTEBOOK)
def test_offline_run_loads_mini_with_the_sizes_the_prose_gives(nb):
    """Sections 4-5: offline the model is models/mini: a CLIPModel of about 1.9 million parameters (about 8 MB),
    96 px pictures, 512-d embeddings; the processor makes (1, 3, 96, 96) pixel values."""
    text = cell_text(nb, "model_name = mmembed.course_model(")
    assert re.search(r"모델\s+: \S+/models/mini$", text, re.M)
    assert "CLIPModel / CLIPProcessor" in text
    count = int(re.search(r"파라미터  : ([\d,]+)개", text).group(1).replace(",", ""))
    assert round(count, -5) == 1_900_000 and "약 8 MB" in text
    assert "`mini`이면 약 190만 개(약 8 MB), 96 px입니다." in markdown_text(nb)
    assert "사진 크기 : 96 px,  임베딩 길이: 512" in text
    assert "pixel_values    (1, 3, 96, 96)" in cell_text(nb, "inputs = processor(text=texts, images=image")


@reads_the_lecture_run(NOTEBOOK)
def test_get_image_features_returns_an_output_object_holding_the_embedding(nb):
    """Section 5.1: in transformers 5.x get_*_features returns an output object; the embedding is .pooler_output,
    (1, 512) for the picture and (3, 512) for the three texts."""
    text = cell_text(nb, "image_output = model.get_image_features")
    assert_contains(text, "BaseModelOutputWithPooling\n", "image_embeds: (1, 512)\n", "text_embeds : (3, 512)\n")


@reads_the_lecture_run(NOTEBOOK)
def test_hand_made_embeddings_and_cosines_agree_with_mmembed(nb, mini, monkeypatch):
    """Sections 5.1-5.2: the lecture's get_*_features(...).pooler_output and its NumPy cosine similarity give what
    mmembed.embed_images / embed_texts / cosine_similarity_matrix give (later lectures use those instead), both
    computed in float32 as the lecture's cells do."""
    monkeypatch.setenv("MMEMBED_PRECISION", "fp32")
    model, processor = mini
    image = mmembed.load_image(CAT_IMAGE)
    image_embedding = mmembed.embed_images([image], model, processor)
    cosines = mmembed.cosine_similarity_matrix(image_embedding, mmembed.embed_texts(CAT_TEXTS, model, processor))[0]

    printed_embedding = numbers(
        cell_text(nb, "image_output = model.get_image_features").split("image_embeds[0, :5]:")[1]
    )
    assert printed_embedding == pytest.approx(image_embedding[0, :5].tolist(), abs=1e-3)
    printed = dict(re.findall(r"^(A .+?)\s+(-?\d\.\d{4})$", cell_text(nb, "def cosine_similarity(a, b):"), re.M))
    assert [float(printed[text]) for text in CAT_TEXTS] == pytest.approx(cosines.tolist(), abs=1e-3)


@reads_the_lecture_run(NOTEBOOK)
def test_logits_are_the_logit_scale_times_the_cosines_the_notebook_printed(nb):
    """Section 5.3: "logits_per_image와 '로짓 배율 × 코사인'이 같습니다"; the temperature printed is 1 / logit scale."""
    text = cell_text(nb, "logit_scale = model.logit_scale.exp().item()")
    logits = numbers(re.search(r"logits_per_image  = tensor\(\[\[(.*?)\]\]\)", text).group(1))
    scaled = numbers(re.search(r"로짓 배율 x 코사인 = \[(.*?)\]", text).group(1))
    assert logits == pytest.approx(scaled, abs=1e-3)
    scale, temperature = map(float, re.search(r"= ([\d.]+)   \(온도 τ = 1 / [\d.]+ = ([\d.]+)\)", text).groups())
    assert temperature == pytest.approx(1 / scale, abs=1e-4)
    assert "합                = 1.0000" in text


@reads_the_lecture_run(NOTEBOOK)
def test_a_cat_takes_almost_all_the_probability_as_the_prose_says(nb):
    """Section 5.3's prediction: with mini "A cat"'s probability prints as 9.9999e-01 (0.99999), and the logit scale
    is about 23."""
    text = cell_text(nb, "logit_scale = model.logit_scale.exp().item()")
    printed = re.search(r"probs             = tensor\(\[\[(.*?)\]\]\)", text).group(1)
    assert printed.split(",")[CAT_TEXTS.index("A cat")].strip() == "9.9999e-01"
    assert f"{numbers(printed)[CAT_TEXTS.index('A cat')]:.5f}" == "0.99999"
    scale = float(re.search(r"logit_scale.exp\(\) = ([\d.]+)", text).group(1))
    assert round(scale) == 23
    prose = markdown_text(nb)
    assert '`"A cat"`의 확률은 `9.9999e-01`(9.9999 × 10⁻¹ = 0.99999)' in prose and "`mini`는 약 23배" in prose


# --- CLIP facts (offline) -------------------------------------------------------------------------------


def test_vit_b32_has_about_150_million_parameters_and_224_px_pictures():
    """Section 4: the real CLIP (ViT-B/32, transformers' default CLIPConfig) has about 150 million parameters
    (about 600 MB in float32) and takes 224 px pictures. Built on the meta device: shapes only, no weights."""
    with torch.device("meta"):
        clip_b32 = CLIPModel(CLIPConfig())
    count = sum(p.numel() for p in clip_b32.parameters())
    assert 1.45e8 < count < 1.55e8
    assert 550 < count * 4 / 1e6 < 650
    assert clip_b32.config.vision_config.image_size == 224 and clip_b32.config.projection_dim == 512


def test_mini_also_picks_a_cat_with_high_cosine_and_low_logit_scale(mini):
    """Section 5.4: mini also ranks "A cat" first, its cosine similarity is above 0.8 ("0.8을 넘을 만큼 높습니다")
    and its logit_scale.exp() is much smaller than 100."""
    model, _ = mini
    cosines, probs = cat_scores(*mini)
    cat = CAT_TEXTS.index("A cat")
    assert probs.argmax().item() == cat and cosines.argmax().item() == cat
    assert cosines[cat].item() > 0.8
    assert model.logit_scale.exp().item() < 50


# --- the real CLIP (needs the hub) ------------------------------------------------------------------------


@pytest.mark.online
def test_real_clip_picks_a_cat_with_probability_above_0_9(real_clip):
    """Section 5.4 (what the reader sees online): "A cat" has the highest probability, and it is above 0.9."""
    _, probs = cat_scores(*real_clip)
    assert probs.argmax().item() == CAT_TEXTS.index("A cat")
    assert probs[CAT_TEXTS.index("A cat")].item() > 0.9


@pytest.mark.online
def test_real_clip_cosine_similarities_are_below_0_5(real_clip):
    """Section 5.4: the real CLIP's cosine similarities are small ("0.3 안팎"), all below 0.5, "A cat" the highest."""
    cosines, _ = cat_scores(*real_clip)
    assert cosines.max().item() < 0.5
    assert cosines.argmax().item() == CAT_TEXTS.index("A cat")


@pytest.mark.online
def test_real_clip_logit_scale_is_100(real_clip):
    """Section 5.4: the real CLIP's logit_scale.exp() is 100 (temperature 0.01)."""
    model, _ = real_clip
    assert model.logit_scale.exp().item() == pytest.approx(100.0, abs=0.5)


@pytest.mark.online
def test_real_clip_weights_are_about_600_mb(real_clip):
    """Section 4: the real CLIP is about 600 MB (float32 weights)."""
    model, _ = real_clip
    megabytes = sum(p.numel() * p.element_size() for p in model.parameters()) / 1e6
    assert 550 < megabytes < 650
