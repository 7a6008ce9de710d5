"""What lecture 05 (Korean and multilingual CLIP) says, checked.

- Offline tests read the lecture's own offline run (tests/helpers.execute_lecture, shared with
  tests/lectures/test_notebooks.py) and check every number and ranking its prose quotes for the stand-ins ("mini" for
  openai/clip-vit-base-patch32 and Bingsu/clip-vit-base-patch32-ko, "altclip-tiny" for BAAI/AltCLIP), and the
  token facts directly on the tokenizers (`mmembed.clip_bpe` builds exactly the real CLIP tokenizer).
- Tests marked `online` check what the prose says about the real hub models; they are skipped where the
  Hugging Face Hub cannot be reached (see the project's conftest.py). They load the hub ids themselves, never
  through `course_model`, so MMEMBED_OFFLINE in the shell cannot swap a stand-in in.
"""

import ast
import re
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import mmembed
from mmembed.clip_bpe import clip_tokenizer
from mmembed.images import image_files
from mmembed.manifest import read_manifest
from mmembed.paths import CAT_IMAGE, QUIZ_IMAGE_DIR
from tests.helpers import cell_text
from tests.lectures.conftest import executed_lecture, lecture_group, lecture_path

NOTEBOOK = lecture_path("05")
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group(lecture_group(NOTEBOOK))]

REAL_CLIP = "openai/clip-vit-base-patch32"
KOREAN_CLIP = "Bingsu/clip-vit-base-patch32-ko"
ALTCLIP = "BAAI/AltCLIP"

CAT_LABELS = ["고양이", "개", "자동차", "새"]  # sections 3.1, 3.2 and 4
CAT_LABELS_EN = ["a cat", "a dog", "a car", "a bird"]  # section 4


# --- helpers --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nb():
    return executed_lecture(NOTEBOOK)[0]


def floats(text):
    """Every decimal number in `text`, in order ("-0." and "0.83" alike)."""
    return [float(number) for number in re.findall(r"-?\d+\.\d*", text)]


def quiz_captions():
    """English and Korean captions of val_0 .. val_199, in the order of mmembed.load_images (as the lecture)."""
    pictures = {Path(p.path).name: p for p in read_manifest() if p.path.startswith("quiz-image/")}
    names = [path.name for path in image_files(QUIZ_IMAGE_DIR)]
    return [pictures[n].caption_en for n in names], [pictures[n].caption_ko for n in names]


def mini_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(mmembed.course_model("mini"))


def pieces(tokenizer, text):
    return [tokenizer.decode([i]) for i in tokenizer(text).input_ids[1:-1]]


def distill(teacher, teacher_processor, student_tokenizer):
    """Section 3.4 of the lecture, line for line: returns (before cos, before accuracy, after cos, after
    accuracy, last loss) on the 40 held-out caption pairs."""
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection

    quiz_en, quiz_ko = quiz_captions()
    with torch.inference_mode():
        english_inputs = teacher_processor(text=quiz_en, padding=True, truncation=True, return_tensors="pt")
        teacher_units = F.normalize(teacher.get_text_features(**english_inputs).pooler_output, dim=-1)
    order = torch.randperm(len(quiz_en), generator=torch.Generator().manual_seed(0))
    train_ids, held_out_ids = order[:160], order[160:]

    torch.manual_seed(0)
    config = CLIPTextConfig(
        vocab_size=len(student_tokenizer),
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=77,
        projection_dim=teacher_units.shape[1],
        bos_token_id=student_tokenizer.bos_token_id,
        eos_token_id=student_tokenizer.eos_token_id,
        pad_token_id=student_tokenizer.pad_token_id,
    )
    student = CLIPTextModelWithProjection(config)
    korean_inputs = student_tokenizer(quiz_ko, padding=True, truncation=True, return_tensors="pt")

    def units(indices):
        output = student(
            input_ids=korean_inputs.input_ids[indices], attention_mask=korean_inputs.attention_mask[indices]
        )
        return F.normalize(output.text_embeds, dim=-1)

    def report():
        student.eval()
        with torch.no_grad():
            similarity = units(held_out_ids) @ teacher_units[held_out_ids].T
        accuracy = (similarity.argmax(dim=1) == torch.arange(len(held_out_ids))).float().mean().item()
        return similarity.diagonal().mean().item(), accuracy

    before = report()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        optimizer = torch.optim.AdamW(student.parameters(), lr=2e-3, weight_decay=0.01)
        student.train()
        for _ in range(150):
            loss = (1 - (units(train_ids) * teacher_units[train_ids]).sum(dim=-1)).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
    return (*before, *report(), loss.item())


# --- the code is the same online and offline -----------------------------------------------------------------


def test_every_model_is_loaded_through_course_model():
    """Every `from_pretrained` argument in the lecture is `mmembed.course_model(...)` or a variable assigned from
    it, so the same code loads the real model online and its stand-in offline."""
    import nbformat

    source = "\n".join(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code")
    from_course_model = set(re.findall(r"^(\w+) = mmembed\.course_model\(\"[^\"]+\"\)", source, flags=re.M))
    arguments = re.findall(r"\.from_pretrained\((mmembed\.course_model\(\"[^\"]+\"\)|\w+)\)", source)
    assert len(arguments) == source.count(".from_pretrained(") >= 6
    for argument in arguments:
        assert argument.startswith("mmembed.course_model(") or argument in from_course_model, argument
    assert re.findall(r"pipeline\([^)]*model=(\w+)", source) == ["ko_repo"] and "ko_repo" in from_course_model


# --- section 2: tokenizers (offline, real CLIP tokenizer and mini's) ------------------------------------------


def test_clip_bpe_breaks_korean_into_byte_pieces_and_mini_keeps_words():
    """Section 2.1: 고양이 is 9 UTF-8 bytes; CLIP: 8 and 10 pieces, mostly not characters; mini: two words,
    two tokens; mini's tokenizer breaks 떡볶이 (not in the course texts) too."""
    clip, mini = clip_tokenizer(), mini_tokenizer()
    assert len("고양이".encode()) == 9
    assert pieces(clip, "a photo of a cat") == pieces(mini, "a photo of a cat") == ["a", "photo", "of", "a", "cat"]
    assert len(pieces(clip, "고양이 사진")) == 8 and pieces(clip, "고양이 사진").count("\ufffd") == 6
    assert len(pieces(clip, "빨간 자동차")) == 10 and set(pieces(clip, "빨간 자동차")) == {"\ufffd"}
    assert pieces(mini, "고양이 사진") == ["고양이", "사진"]
    assert pieces(mini, "빨간 자동차") == ["빨간", "자동차"]
    assert len(pieces(mini, "떡볶이")) > 1 and "\ufffd" in pieces(mini, "떡볶이")


def test_caption_token_counts(nb):
    """Section 2.2: Korean captions average 13.3 CLIP tokens, close to three times the English 4.7; with mini's
    tokenizer 2.6, shorter than the English captions; the printed ratio is 5.0."""
    clip, mini = clip_tokenizer(), mini_tokenizer()
    quiz_en, quiz_ko = quiz_captions()

    def mean(tokenizer, texts):
        return sum(len(tokenizer(t).input_ids) - 2 for t in texts) / len(texts)

    clip_en, clip_ko, mini_en, mini_ko = (
        mean(clip, quiz_en),
        mean(clip, quiz_ko),
        mean(mini, quiz_en),
        mean(mini, quiz_ko),
    )
    assert (round(clip_ko, 1), round(clip_en, 1), round(mini_ko, 1)) == (13.3, 4.7, 2.6)
    assert 2.5 < clip_ko / clip_en < 3.0
    assert mini_ko < mini_en
    text = cell_text(nb, "def token_counts(")
    assert f"평균 {clip_ko:5.2f}" in text and f"평균 {mini_ko:5.2f}" in text
    assert f"평균 {clip_ko / mini_ko:.1f}배" in text and f"{clip_ko / mini_ko:.1f}" == "5.0"


def test_end_of_text_is_the_highest_id():
    """Section 2.3: CLIP <|startoftext|> 49406, <|endoftext|> 49407 = the highest id, also the padding token;
    mini 2928, 2929 = the highest id, and mini's config names 2929 as eos_token_id."""
    from transformers import AutoConfig

    for tokenizer, start, end in ((clip_tokenizer(), 49406, 49407), (mini_tokenizer(), 2928, 2929)):
        assert tokenizer.convert_tokens_to_ids("<|startoftext|>") == start
        assert tokenizer.convert_tokens_to_ids("<|endoftext|>") == end == max(tokenizer.get_vocab().values())
        assert len(tokenizer) == end + 1
        assert tokenizer.pad_token == "<|endoftext|>"
    assert AutoConfig.from_pretrained(mmembed.course_model("mini")).text_config.eos_token_id == 2929


def test_argmax_finds_the_end_token_in_a_padded_batch(nb):
    """Section 2.3: padded with <|endoftext|>, argmax still returns the first (the real) end token: [9, 6]."""
    ids = clip_tokenizer()(["고양이 사진", "a photo of a cat"], padding=True, return_tensors="pt").input_ids
    assert ids.argmax(dim=-1).tolist() == [9, 6]
    assert (ids == 49407).int().argmax(dim=-1).tolist() == [9, 6]
    assert ids[1, 6:].tolist() == [49407] * 4
    text = cell_text(nb, 'batch = clip_tok(["고양이 사진", "a photo of a cat"]')
    assert text.count("[9, 6]") == 2


def test_an_added_token_above_the_end_token_moves_argmax():
    """Section 2.4: "고양이" added to the CLIP tokenizer gets 49408; argmax then points at it (position 1), the
    end token is at position 5."""
    tokenizer = clip_tokenizer()
    tokenizer.add_tokens(["고양이"])
    assert tokenizer.convert_tokens_to_ids("고양이") == 49408
    ids = tokenizer(["고양이 사진"], return_tensors="pt").input_ids
    assert ids.argmax(dim=-1).item() == 1 and ids[0, 1].item() == 49408
    assert (ids == 49407).int().argmax(dim=-1).item() == 5


def test_train_new_from_iterator_puts_the_special_tokens_first():
    """Section 2.4: a tokenizer retrained with train_new_from_iterator has <|startoftext|> 0, <|endoftext|> 1,
    so argmax never points at the end token."""
    quiz_en, quiz_ko = quiz_captions()
    retrained = clip_tokenizer().train_new_from_iterator(quiz_ko + quiz_en, vocab_size=1000, show_progress=False)
    assert retrained.convert_tokens_to_ids(["<|startoftext|>", "<|endoftext|>"]) == [0, 1]
    assert max(retrained.get_vocab().values()) == 999
    for text in quiz_ko[:20]:
        ids = retrained([text], return_tensors="pt").input_ids
        assert ids.argmax(dim=-1).item() != (ids == 1).int().argmax(dim=-1).item()


# --- section 3: the Korean CLIP (offline: mini) ----------------------------------------------------------------


def test_korean_clip_standin_puts_the_cat_first(nb):
    """Sections 3.1-3.2 with mini: end token 2929 = the highest id; 고양이 0.999; the pipeline gives the same
    probabilities; with the default English template 고양이 is still first but drops to 0.978."""
    text = cell_text(nb, 'ko_repo = mmembed.course_model("Bingsu/clip-vit-base-patch32-ko")')
    assert "<|endoftext|> = 2929  가장 큰 id = 2929" in text
    probabilities = dict(re.findall(r"^\s+(\S+)\s+(\d\.\d{4})$", text, flags=re.M))
    assert set(probabilities) == set(CAT_LABELS)
    assert float(probabilities["고양이"]) == pytest.approx(0.999, abs=0.001)

    text = cell_text(nb, "classifier = pipeline(")
    templated, default = text.split("기본 템플릿")
    assert templated.split()[0] == "고양이" and float(templated.split()[1]) == pytest.approx(0.999, abs=0.001)
    assert default.split("\n", 1)[1].split()[0] == "고양이"
    assert float(default.split("\n", 1)[1].split()[1]) == pytest.approx(0.978, abs=0.002)


def test_distillation_moves_the_student_toward_the_teacher(nb):
    """Section 3.4 with mini as teacher: held-out mean cosine 0.005 -> about 0.27, retrieval 0.025 -> 0.225
    (9 of 40, nine times chance); training loss nearly 0; 19 of 40 held-out captions have only unseen tokens."""
    before = floats(cell_text(nb, "before_cosine, before_accuracy, before_pairs = held_out_report()"))
    assert before[-2:] == [pytest.approx(0.005, abs=0.01), 0.025]

    text = cell_text(nb, "for step in range(steps):")
    last_loss = float(re.search(r"last loss (\d\.\d+)", text).group(1))
    cosine = re.search(r"학습 전 (-?\d\.\d+) -> 학습 후 (-?\d\.\d+)\n", text)
    accuracy = re.search(r"학습 전 (\d\.\d+) -> 학습 후 (\d\.\d+)  \(무작위 0.025\)", text)
    before_cos, after_cos = float(cosine.group(1)), float(cosine.group(2))
    before_acc, after_acc = float(accuracy.group(1)), float(accuracy.group(2))
    assert last_loss < 0.01
    assert abs(before_cos) < 0.05 and before_acc <= 0.05
    assert after_cos > before_cos + 0.15
    assert after_cos == pytest.approx(0.27, abs=0.02)
    assert 0.2 <= after_acc <= 0.25  # 8-10 of 40; the prose says 9

    assert "모든 토큰이 학습 160쌍에 없던 held-out 캡션: 19 / 40" in cell_text(nb, "all_unseen = ")


def test_distillation_replica_matches_the_notebook(nb):
    """The online distillation test runs `distill` (above) with the real CLIP as teacher; with mini as teacher
    it must give the numbers the notebook printed, so it is the lecture's code."""
    from transformers import CLIPModel, CLIPProcessor

    folder = mmembed.course_model("mini")
    teacher = CLIPModel.from_pretrained(folder).eval()
    before_cos, before_acc, after_cos, after_acc, _ = distill(
        teacher, CLIPProcessor.from_pretrained(folder), mini_tokenizer()
    )
    text = cell_text(nb, "for step in range(steps):")
    assert f"학습 전 {before_cos:.3f} -> 학습 후 {after_cos:.3f}" in text
    assert f"학습 전 {before_acc:.3f} -> 학습 후 {after_acc:.3f}" in text


# --- section 4: AltCLIP (offline: altclip-tiny, random weights) ------------------------------------------------


def test_altclip_standin_has_the_real_classes_and_shapes(nb):
    """Section 4: AltCLIPModel / AltCLIPProcessor, XLM-R tokenizer with <s> 0, <pad> 1, </s> 2, [CLS] pooling,
    768-d text and image embeddings, 224 px input; random weights give about 0.25 to each of four labels."""
    text = cell_text(nb, 'alt_repo = mmembed.course_model("BAAI/AltCLIP")')
    assert "AltCLIPModel / AltCLIPProcessor" in text and "XLMRobertaTokenizer" in text
    assert "<s> = 0, <pad> = 1, </s> = 2" in text
    assert "['<s>', '▁고양이', '▁사진', '</s>'" in text

    text = cell_text(nb, "first_token = text_output.last_hidden_state[:, 0]")
    assert "문장 임베딩: (2, 768)" in text and "같은가: True" in text
    assert "pixel_values: (1, 3, 224, 224)  사진 임베딩: (1, 768)" in text

    text = cell_text(nb, 'labels_en = ["a cat"')
    probabilities = floats(text.split("mmembed.embed_texts")[0])
    assert len(probabilities) == 8 and all(abs(p - 0.25) < 0.01 for p in probabilities)
    assert "(4, 768)" in text and "(1, 768)" in text


# --- section 5: the KoCLIP demos (offline: mini) ---------------------------------------------------------------


def test_image_to_text_top1_is_the_right_category(nb):
    """Section 5.1 with mini: all seven pictures get their category first, with most of the probability."""
    text = cell_text(nb, "category_labels = ")
    top = re.findall(r"([^\s>]+)\s+1위: (\S+) \((\d\.\d+)\)", text)
    assert [(name, label) for name, label, _ in top] == [
        ("cat.jpg", "고양이"),
        ("val_0.JPEG", "탈것"),
        ("val_2.JPEG", "포유류"),
        ("val_3.JPEG", "과일"),
        ("val_14.JPEG", "우주"),
        ("val_31.JPEG", "스포츠"),
        ("val_58.JPEG", "악기"),
    ]
    assert all(float(p) > 0.9 for _, _, p in top)


def test_text_to_image_rankings(nb):
    """Section 5.2 with mini: the rankings the prose describes."""
    text = cell_text(nb, "korean_queries = ")
    rows = {
        query.strip(): ast.literal_eval(found) for query, found in re.findall(r"([^\n>]+?)\s+-> (\[[^\n]*\])", text)
    }
    assert rows["빨간 자동차"][:4] == ["빨간 소방차", "스포츠카", "경주용 자동차", "빨간 폭스바겐 비틀"]
    categories = {p.caption_ko: p.category for p in read_manifest() if p.path.startswith("quiz-image/")}
    assert {categories[caption] for caption in rows["악기"]} == {"music"}
    assert rows["하늘을 나는 새"][:4] == ["하늘을 나는 왜가리", "비둘기", "꼬리가 긴 공작", "청둥오리"]
    assert set(rows["우주에 있는 행성"]) == {
        "깊은 우주에 있는 수많은 은하",
        "태양",
        "고리가 있는 토성",
        "아폴로 달 착륙선",
        "붉은 행성 화성",
    }


def test_text_to_patch_finds_each_picture_of_the_collage(nb):
    """Section 5.3 with mini: each query's best patch is in its picture's quadrant of the 2x2 collage (4x4
    patches), that quadrant has the highest mean; for 열기구 the top two patches (0.83, 0.80) beat the bottom two
    (about 0.58)."""
    text = cell_text(nb, "patch_queries = ")
    quadrant = {"고양이": (0, 0), "얼룩말": (0, 1), "열기구": (1, 0), "파인애플": (1, 1)}
    blocks = re.split(r"^(\S+)\s+1위 조각: \(행 (\d), 열 (\d)\)[^\n]*\n", text, flags=re.M)[1:]
    assert len(blocks) == 4 * 4
    for query, row, column, matrix in zip(*[iter(blocks)] * 4):
        assert (int(row) // 2, int(column) // 2) == quadrant[query], query
        scores = torch.tensor(floats(matrix)).reshape(4, 4)
        means = {(r, c): scores[2 * r : 2 * r + 2, 2 * c : 2 * c + 2].mean().item() for r in (0, 1) for c in (0, 1)}
        assert max(means, key=means.get) == quadrant[query], (query, means)
        if query == "열기구":
            assert scores[2, :2].tolist() == pytest.approx([0.83, 0.80], abs=0.01)
            assert scores[3, :2].tolist() == pytest.approx([0.58, 0.58], abs=0.02)


# --- the real models (need the hub) ---------------------------------------------------------------------------


@pytest.mark.online
def test_real_clip_config_keeps_the_legacy_eos_token_id():
    """Section 2.4: openai/clip-vit-base-patch32's config still says eos_token_id = 2, so transformers pools its
    text at input_ids.argmax(-1)."""
    from transformers import AutoConfig

    assert AutoConfig.from_pretrained(REAL_CLIP).text_config.eos_token_id == 2


@pytest.fixture(scope="module")
def korean_clip():
    from transformers import AutoModel, AutoProcessor

    return AutoModel.from_pretrained(KOREAN_CLIP).eval(), AutoProcessor.from_pretrained(KOREAN_CLIP)


@pytest.mark.online
def test_real_korean_clip_tokenizer_keeps_the_end_token_highest_and_knows_korean(korean_clip):
    """Sections 2.1 and 3.1: the Korean CLIP's tokenizer (retrained on Korean and English) has <|endoftext|> as
    its highest id, and cuts the Korean captions into far fewer tokens than CLIP's BPE."""
    _, processor = korean_clip
    tokenizer = processor.tokenizer
    assert tokenizer.convert_tokens_to_ids("<|endoftext|>") == max(tokenizer.get_vocab().values())
    _, quiz_ko = quiz_captions()
    clip = clip_tokenizer()
    korean = sum(len(tokenizer(t).input_ids) for t in quiz_ko)
    assert korean < 0.7 * sum(len(clip(t).input_ids) for t in quiz_ko)


@pytest.mark.online
def test_real_korean_clip_pipeline_matches_the_softmax(korean_clip):
    """Sections 3.1-3.2 (the notebook asserts this too): the pipeline with hypothesis_template="{}" gives the
    softmax of logits_per_image; the cat picture's first label is 고양이."""
    from transformers import pipeline

    model, processor = korean_clip
    cat = mmembed.load_image(CAT_IMAGE)
    inputs = processor(text=CAT_LABELS, images=cat, padding=True, truncation=True, return_tensors="pt")
    with torch.inference_mode():
        probs = model(**inputs).logits_per_image.softmax(dim=1)[0]
    result = pipeline("zero-shot-image-classification", model=KOREAN_CLIP)(
        cat, candidate_labels=CAT_LABELS, hypothesis_template="{}"
    )
    by_label = {item["label"]: item["score"] for item in result}
    assert torch.allclose(torch.tensor([by_label[label] for label in CAT_LABELS]), probs, atol=1e-4)
    assert result[0]["label"] == "고양이"


@pytest.mark.online
def test_real_clip_teacher_distillation_improves_held_out_pairs():
    """Section 3.4 online: with the real CLIP as teacher the numbers differ, but held-out mean cosine and
    retrieval accuracy are both higher after training than before."""
    from transformers import CLIPModel, CLIPProcessor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        teacher = CLIPModel.from_pretrained(REAL_CLIP).eval()
        processor = CLIPProcessor.from_pretrained(REAL_CLIP)
    before_cos, before_acc, after_cos, after_acc, _ = distill(teacher, processor, mini_tokenizer())
    assert after_cos > before_cos + 0.1
    assert after_acc > before_acc and after_acc >= 3 / 40


@pytest.fixture(scope="module")
def altclip():
    from transformers import AltCLIPModel, AltCLIPProcessor

    return AltCLIPModel.from_pretrained(ALTCLIP).eval(), AltCLIPProcessor.from_pretrained(ALTCLIP)


@pytest.mark.online
def test_real_altclip_classes_shapes_and_cls_pooling(altclip):
    """Section 4: the real AltCLIP has an XLM-R tokenizer (<s> 0, <pad> 1, </s> 2), pools the text at the first
    token, and gives 768-d text and image embeddings from 224 px pictures."""
    model, processor = altclip
    tokenizer = processor.tokenizer
    assert "XLMRoberta" in type(tokenizer).__name__
    assert (tokenizer.cls_token_id, tokenizer.pad_token_id, tokenizer.eos_token_id) == (0, 1, 2)
    inputs = processor(text=["고양이 사진", "a photo of a cat"], padding=True, return_tensors="pt")
    assert inputs.input_ids[:, 0].tolist() == [0, 0]
    with torch.inference_mode():
        output = model.get_text_features(**inputs)
        assert output.pooler_output.shape == (2, 768)
        assert torch.allclose(model.text_projection(output.last_hidden_state[:, 0]), output.pooler_output, atol=1e-4)
        pixels = processor(images=mmembed.load_image(CAT_IMAGE), return_tensors="pt")
        assert pixels["pixel_values"].shape == (1, 3, 224, 224)
        assert model.get_image_features(**pixels).pooler_output.shape == (1, 768)


@pytest.mark.online
def test_real_altclip_calls_the_cat_a_cat(altclip):
    """Section 4: with English labels the real AltCLIP gives "a cat" the highest probability."""
    model, processor = altclip
    inputs = processor(text=CAT_LABELS_EN, images=mmembed.load_image(CAT_IMAGE), padding=True, return_tensors="pt")
    with torch.inference_mode():
        probs = model(**inputs).logits_per_image.softmax(dim=1)[0]
    assert CAT_LABELS_EN[probs.argmax().item()] == "a cat"
