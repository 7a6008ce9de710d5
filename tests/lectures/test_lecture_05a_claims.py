"""What lecture 05a (Korean CLIP: tokenizers, the contrastive loss, distillation) says, checked.

- Offline tests read the lecture's own offline run (tests/helpers.execute_lecture, shared with
  tests/lectures/test_notebooks.py) and check every number and ranking its prose quotes for the stand-in "mini" (for
  openai/clip-vit-base-patch32 and Bingsu/clip-vit-base-patch32-ko), the token facts directly on the tokenizers
  (`mmembed.zoo.clip_bpe` builds exactly the real CLIP tokenizer), and the contrastive loss against CLIPModel's own.
- Tests marked `online` check what the prose says about the real hub models; they are skipped where the
  Hugging Face Hub cannot be reached (see the project's conftest.py). They load the hub ids themselves, never
  through `course_model`, so MMEMBED_OFFLINE in the shell cannot swap a stand-in in.
"""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import mmembed
from mmembed.paths import CAT_IMAGE, QUIZ_IMAGE_DIR
from mmembed.zoo.clip_bpe import clip_tokenizer
from mmembed.zoo.registry import DEFAULT_MODEL
from tests.helpers import (
    assert_loads_through_course_model,
    cell_text,
    decimals,
    lecture_code,
    markdown_text,
    quiz_captions,
    shows_a_figure,
)
from tests.lectures.conftest import lecture_path, lecture_run_marks
from tests.student_copy import students_manifest

NOTEBOOK = lecture_path("05a")
pytestmark = lecture_run_marks(NOTEBOOK)

REAL_CLIP = DEFAULT_MODEL

KOREAN_CLIP = "Bingsu/clip-vit-base-patch32-ko"

CAT_LABELS = ["고양이", "개", "자동차", "새"]  # sections 3.1-3.2
PAIR_NAMES = ["val_0.JPEG", "val_2.JPEG", "val_3.JPEG", "val_14.JPEG"]  # section 4
CAR_NAMES = ["val_56.JPEG", "val_22.JPEG", "val_141.JPEG", "val_12.JPEG"]  # section 4.3


# --- helpers --------------------------------------------------------------------------------------------------


def mini_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(mmembed.course_model("mini"))


def pieces(tokenizer, text):
    return [tokenizer.decode([i]) for i in tokenizer(text).input_ids[1:-1]]


def distill(teacher, teacher_processor, student_tokenizer):
    """Section 5.2 of the lecture, line for line: returns (before cos, before accuracy, after cos, after
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


def mini_with_captioned_pictures(picture_names):
    """(mini as plain transformers loads it, the processor's inputs for these quiz pictures and their Korean captions
    as the edition has them, {file name: Korean caption})."""
    from transformers import CLIPModel, CLIPProcessor

    folder = mmembed.course_model("mini")
    model, processor = CLIPModel.from_pretrained(folder).eval(), CLIPProcessor.from_pretrained(folder)
    images, names = mmembed.load_images(QUIZ_IMAGE_DIR)
    captions = {Path(p.path).name: p.caption_ko for p in students_manifest()}
    inputs = processor(
        text=[captions[n] for n in picture_names],
        images=[images[names.index(n)] for n in picture_names],
        padding=True,
        truncation=True,
        return_tensors="pt",
    )
    return model, inputs, captions


# --- the code is the same online and offline -----------------------------------------------------------------


def test_every_model_is_loaded_through_course_model():
    """Every `from_pretrained` argument in the lecture is `mmembed.course_model(...)` or a variable assigned from
    it, so the same code loads the real model online and its stand-in offline."""
    source = lecture_code(NOTEBOOK)
    from_course_model = assert_loads_through_course_model(source, at_least=5)
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
    """Section 2.2: Korean captions average 13.2 CLIP tokens, 2.8 times the English 4.6 (the ratio lecture 04 gives);
    with mini's tokenizer 3.75, 3.5 times fewer than CLIP's and fewer than mini's 4.9 for the English captions, as
    about four in five words of the Korean captions are one mini token."""
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
    assert (round(clip_ko, 1), round(clip_en, 1), round(mini_en, 1)) == (13.2, 4.6, 4.9) and f"{mini_ko:.2f}" == "3.75"
    assert round(clip_ko / clip_en, 1) == 2.8
    assert mini_ko < mini_en
    words = [word for caption in quiz_ko for word in caption.split()]
    one_token = sum(len(mini(word).input_ids) - 2 == 1 for word in words) / len(words)
    assert 0.75 < one_token < 0.8  # 407 of 522: "5분의 4쯤"
    text = cell_text(nb, "def token_counts(")
    assert f"평균 {clip_ko:5.2f}" in text and f"평균 {mini_ko:5.2f}" in text
    assert f"영어 캡션보다 평균 {clip_ko / clip_en:.1f}배" in text and f"{clip_ko / clip_en:.1f}" == "2.8"
    assert f"mini 토크나이저보다 평균 {clip_ko / mini_ko:.1f}배" in text and f"{clip_ko / mini_ko:.1f}" == "3.5"
    prose = markdown_text(nb)
    assert "평균 3.75토큰으로, CLIP 토크나이저보다 3.5배 적고" in prose and "캡션 단어의 5분의 4쯤이 토큰 하나" in prose


def test_end_of_text_is_the_highest_id():
    """Section 2.3: CLIP <|startoftext|> 49406, <|endoftext|> 49407 = the highest id, also the padding token;
    mini 3998, 3999 = the highest id, and mini's config names 3999 as eos_token_id."""
    from transformers import AutoConfig

    for tokenizer, start, end in ((clip_tokenizer(), 49406, 49407), (mini_tokenizer(), 3998, 3999)):
        assert tokenizer.convert_tokens_to_ids("<|startoftext|>") == start
        assert tokenizer.convert_tokens_to_ids("<|endoftext|>") == end == max(tokenizer.get_vocab().values())
        assert len(tokenizer) == end + 1
        assert tokenizer.pad_token == "<|endoftext|>"
    assert AutoConfig.from_pretrained(mmembed.course_model("mini")).text_config.eos_token_id == 3999


def test_argmax_finds_the_end_token_in_a_padded_batch(nb):
    """Section 2.3: padded with <|endoftext|>, argmax still returns the first (the real) end token: [9, 6]."""
    ids = clip_tokenizer()(["고양이 사진", "a photo of a cat"], padding=True, return_tensors="pt").input_ids
    assert ids.argmax(dim=-1).tolist() == [9, 6]
    assert (ids == 49407).int().argmax(dim=-1).tolist() == [9, 6]
    assert ids[1, 6:].tolist() == [49407] * 4
    text = cell_text(nb, 'batch = clip_tok(["고양이 사진", "a photo of a cat"]')
    assert text.count("[9, 6]") == 2


def test_an_added_token_above_the_end_token_moves_argmax():
    """Further reading (the end token): "고양이" added to the CLIP tokenizer gets 49408; argmax then points at it
    (position 1), the end token is at position 5."""
    tokenizer = clip_tokenizer()
    tokenizer.add_tokens(["고양이"])
    assert tokenizer.convert_tokens_to_ids("고양이") == 49408
    ids = tokenizer(["고양이 사진"], return_tensors="pt").input_ids
    assert ids.argmax(dim=-1).item() == 1 and ids[0, 1].item() == 49408
    assert (ids == 49407).int().argmax(dim=-1).item() == 5


def test_train_new_from_iterator_puts_the_special_tokens_first():
    """Further reading (the end token): a tokenizer retrained with train_new_from_iterator has <|startoftext|> 0,
    <|endoftext|> 1, so argmax never points at the end token."""
    quiz_en, quiz_ko = quiz_captions()
    retrained = clip_tokenizer().train_new_from_iterator(quiz_ko + quiz_en, vocab_size=1000, show_progress=False)
    assert retrained.convert_tokens_to_ids(["<|startoftext|>", "<|endoftext|>"]) == [0, 1]
    assert max(retrained.get_vocab().values()) == 999
    for text in quiz_ko[:20]:
        ids = retrained([text], return_tensors="pt").input_ids
        assert ids.argmax(dim=-1).item() != (ids == 1).int().argmax(dim=-1).item()


def test_byte_level_tokens_are_the_bytes_the_prose_names(nb):
    """Further reading, after the added-token cell: the odd pieces it prints ('ìĤ', '¬', 'ì§Ħ</w>') are byte-level
    BPE's characters for the UTF-8 bytes of 사 (EC 82 AC) and 진 (EC A7 84), as the prose says (0xEC -> ì, 0x82 -> Ĥ,
    0xAC -> ¬), and decode() turns them back into the text."""
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    text = cell_text(nb, "added_tok = clip_tokenizer()")
    assert "['<|startoftext|>', '고양이', 'ìĤ', '¬', 'ì§Ħ</w>', '<|endoftext|>']" in text
    byte_character = bytes_to_unicode()
    assert "".join(byte_character[b] for b in "사".encode()) == "ìĤ¬"
    assert "".join(byte_character[b] for b in "진".encode()) == "ì§Ħ"
    assert (byte_character[0xEC], byte_character[0x82], byte_character[0xAC]) == ("ì", "Ĥ", "¬")
    assert clip_tokenizer().decode(clip_tokenizer()("사진").input_ids[1:-1]) == "사진"


def test_a_line_beginning_with_mmembed_names_the_stand_in(nb):
    """Section 1: the prose says a line beginning with [mmembed] names the stand-in, in the output of the cell that
    loads the model (ordinary output, no colour)."""
    loads = cell_text(nb, 'ko_repo = mmembed.course_model("Bingsu/clip-vit-base-patch32-ko")')
    assert loads.startswith("[mmembed] ") and "빨간 글씨" not in "\n".join(c.source for c in nb.cells)


# --- section 3: the Korean CLIP (offline: mini) ----------------------------------------------------------------


def test_korean_clip_standin_puts_the_cat_first(nb):
    """Sections 3.1-3.2 with mini: end token 3999 = the highest id; 고양이 1.0000 (rounded to four decimals); the
    pipeline gives the same probabilities; with the default English template the result is the same (고양이 1.0000
    again)."""
    text = cell_text(nb, 'ko_repo = mmembed.course_model("Bingsu/clip-vit-base-patch32-ko")')
    assert "<|endoftext|> = 3999  가장 큰 id = 3999" in text
    probabilities = dict(re.findall(r"^\s+(\S+)\s+(\d\.\d{4})$", text, flags=re.M))
    assert set(probabilities) == set(CAT_LABELS)
    assert probabilities["고양이"] == "1.0000"

    text = cell_text(nb, "classifier = pipeline(")
    templated, default = (
        re.findall(r"^\s+(\S+)\s+(\d\.\d{4})$", part, flags=re.M) for part in text.split("기본 템플릿")
    )
    assert templated[0][0] == "고양이" and "3.1절에서 직접 계산한 확률과 같은가: True" in text
    assert {label: float(p) for label, p in templated} == pytest.approx(
        {label: float(p) for label, p in probabilities.items()}, abs=1e-4
    )
    assert default == templated  # the same labels in the same order with the same probabilities
    prose = markdown_text(nb)
    assert "(소수 넷째 자리까지 반올림하면 1.0000)" in prose and '(두 번 모두 "고양이" 1.0000)' in prose


# --- section 4: the contrastive loss (offline: mini) -------------------------------------------------------------


def test_contrastive_loss_cells_print_what_the_prose_says(nb):
    """Sections 4.1-4.2: the hand-made logits are the model's; the two cross-entropies averaged are the model's
    return_loss=True loss, printed in exponent notation (5.22e-06 for text -> image, 4.83e-06 on average: the prose
    quotes both); mini puts almost all the probability on the diagonal (loss near 0); the wrong pairing costs far
    more than ln 4."""
    logits = cell_text(nb, "pair_output = ko_model(**pair_inputs, return_loss=True)")
    assert "모델의 logits_per_text와 같은가: True" in logits
    text = cell_text(nb, "loss_text_to_image = F.cross_entropy(logits_per_text, targets)")
    number = r"(\d\.\d\de[-+]\d\d)"
    by_hand = re.search(r"대조 손실 \(평균\)\s+: " + number, text).group(1)
    model_loss = re.search(r"return_loss=True : " + number, text).group(1)
    wrong = float(re.search(r"틀리게 준 정답으로\s+: (\d+\.\d{4})", text).group(1))
    assert by_hand == model_loss == "4.83e-06" and "텍스트 -> 이미지 5.22e-06" in text
    assert wrong > 5 * np.log(4)
    assert "ln 4 = 1.3863" in text
    prose = markdown_text(nb)
    assert "`5.22e-06`(= 5.22 × 10⁻⁶ = 0.0000052)" in prose and "손실이 `4.83e-06`(0.0000048)으로 거의 0입니다" in prose


def test_similar_pictures_make_a_larger_loss(nb):
    """Section 4.3 (the prediction): four cars give a contrastive loss of about 0.02, thousands of times the four
    unlike pictures' and far below ln 4; the figure shows both probability matrices, where the most probability off
    the diagonal (0.04, as the figure writes it) goes from the sports car's caption to the red Beetle's picture."""
    text = cell_text(nb, "car_names = [")
    unlike = float(re.search(r"서로 다른 네 장의 대조 손실 : (\S+)", text).group(1))
    cars = float(re.search(r"자동차 네 대의 대조 손실\s+: (\S+)", text).group(1))
    assert cars == pytest.approx(0.02, abs=0.005) and cars < np.log(4) / 10
    assert 1_000 <= cars / unlike < 10_000  # "수천 배"
    assert shows_a_figure(nb, "car_names = [")
    assert "0.02쯤으로, 거의 0이던 서로 다른 네 장보다 수천 배" in markdown_text(nb)

    model, inputs, captions = mini_with_captioned_pictures(CAR_NAMES)
    with torch.no_grad():
        probabilities = model(**inputs).logits_per_text.softmax(dim=1)
    off_diagonal = probabilities * (1 - torch.eye(len(CAR_NAMES)))
    row, column = divmod(off_diagonal.argmax().item(), len(CAR_NAMES))
    assert (captions[CAR_NAMES[row]], captions[CAR_NAMES[column]]) == ("스포츠카", "빨간 폭스바겐 비틀")
    assert f"{off_diagonal.max().item():.2f}" == "0.04"
    assert "`스포츠카` 캡션에서 빨간 폭스바겐 비틀 사진으로 0.04" in markdown_text(nb)


def test_the_lectures_contrastive_loss_is_clipmodels(monkeypatch):
    """Section 4.2, directly: (CE(logits, arange) + CE(logits.T, arange)) / 2 is CLIPModel's return_loss=True."""
    model, inputs, _ = mini_with_captioned_pictures(PAIR_NAMES)
    with torch.no_grad():
        output = model(**inputs, return_loss=True)
    targets = torch.arange(len(PAIR_NAMES))
    by_hand = (F.cross_entropy(output.logits_per_text, targets) + F.cross_entropy(output.logits_per_image, targets)) / 2
    assert torch.allclose(by_hand, output.loss, atol=1e-6)
    assert torch.allclose(output.logits_per_image, output.logits_per_text.T)


# --- section 5: distillation (offline: mini as the teacher) ----------------------------------------------------


def test_distillation_moves_the_student_toward_the_teacher(nb):
    """Section 5.2 with mini as teacher: held-out mean cosine 0.004 -> about 0.25, retrieval 0.025 (1 of 40, chance)
    -> 0.175 (7 of 40, seven times chance); training loss nearly 0; 14 of 40 held-out captions have only unseen
    tokens."""
    before = decimals(cell_text(nb, "before_cosine, before_accuracy, before_pairs = held_out_report()"))
    assert before[-2:] == [pytest.approx(0.004, abs=0.0005), 0.025]

    text = cell_text(nb, "range(steps)")
    last_loss = float(re.search(r"last loss (\d\.\d+)", text).group(1))
    cosine = re.search(r"학습 전 (-?\d\.\d+) -> 학습 후 (-?\d\.\d+)\n", text)
    accuracy = re.search(r"학습 전 (\d\.\d+) -> 학습 후 (\d\.\d+)  \(무작위 0.025\)", text)
    before_cos, after_cos = float(cosine.group(1)), float(cosine.group(2))
    before_acc, after_acc = float(accuracy.group(1)), float(accuracy.group(2))
    assert last_loss < 0.01
    assert abs(before_cos) < 0.05 and before_acc <= 0.05
    assert after_cos > before_cos + 0.15
    assert after_cos == pytest.approx(0.25, abs=0.01)
    assert 0.15 <= after_acc <= 0.2  # 6-8 of 40; the prose says 7
    prose = markdown_text(nb)
    found = round(after_acc * 40)
    assert f"평균 코사인이 약 {after_cos:.2f}로, 검색 정확도가 {after_acc:.3f}(40개 중 {found}개)로 올랐습니다" in prose
    assert f"무작위의 {found}배입니다" in prose
    assert "자기 번역을 1위로 찾은 캡션은 40개 중 하나(0.025)입니다" in prose

    assert "모든 토큰이 학습 160쌍에 없던 평가용 캡션: 14 / 40" in cell_text(nb, "all_unseen = ")
    assert "평균 코사인은 0.004, 거의 0입니다" in markdown_text(nb)  # the answer to the prediction


def test_distillation_is_drawn_and_waits_with_a_progress_bar(nb):
    """Section 5: the method is a matplotlib figure with Korean alt text (no ASCII art); the training cell, the one
    long wait, is announced in the markdown above it and counts its steps with a progress bar."""
    import nbformat

    cells = nbformat.read(NOTEBOOK, as_version=4).cells
    (drawing,) = [c for c in cells if c.cell_type == "code" and "def box(" in c.source]
    assert "교사 모델" in drawing.source and "학생 모델" in drawing.source
    assert "지식 증류" in drawing.metadata["mystnb"]["image"]["alt"]
    assert shows_a_figure(nb, "def box(")
    assert "──►" not in markdown_text(nb)
    position = next(i for i, c in enumerate(cells) if c.cell_type == "code" and "range(steps)" in c.source)
    assert "tqdm(range(steps)" in cells[position].source
    assert "30-40초쯤 걸립니다" in cells[position - 1].source


def test_distillation_replica_matches_the_notebook(nb):
    """The online distillation test runs `distill` (above) with the real CLIP as teacher; with mini as teacher
    it must give the numbers the notebook printed, so it is the lecture's code."""
    from transformers import CLIPModel, CLIPProcessor

    folder = mmembed.course_model("mini")
    teacher = CLIPModel.from_pretrained(folder).eval()
    before_cos, before_acc, after_cos, after_acc, _ = distill(
        teacher, CLIPProcessor.from_pretrained(folder), mini_tokenizer()
    )
    text = cell_text(nb, "range(steps)")
    assert f"학습 전 {before_cos:.3f} -> 학습 후 {after_cos:.3f}" in text
    assert f"학습 전 {before_acc:.3f} -> 학습 후 {after_acc:.3f}" in text


# --- the real models (need the hub) ---------------------------------------------------------------------------


@pytest.mark.online
def test_real_clip_config_keeps_the_legacy_eos_token_id():
    """Further reading (the transformers paragraph): openai/clip-vit-base-patch32's config still says eos_token_id = 2,
    so transformers pools its text at input_ids.argmax(-1)."""
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
    """Sections 3.1-3.2 (the notebook prints the comparison too): the pipeline with hypothesis_template="{}" gives the
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
    """Section 5.2 online: with the real CLIP as teacher the numbers differ, but held-out mean cosine and
    retrieval accuracy are both higher after training than before."""
    from transformers import CLIPModel, CLIPProcessor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        teacher = CLIPModel.from_pretrained(REAL_CLIP).eval()
        processor = CLIPProcessor.from_pretrained(REAL_CLIP)
    before_cos, before_acc, after_cos, after_acc, _ = distill(teacher, processor, mini_tokenizer())
    assert after_cos > before_cos + 0.1
    assert after_acc > before_acc and after_acc >= 3 / 40
