"""What lecture 05b (AltCLIP and the KoCLIP demos) says, checked.

- Offline tests read the lecture's own offline run and check every number and ranking its prose quotes for the
  stand-ins ("altclip-tiny" for BAAI/AltCLIP, "mini" for Bingsu/clip-vit-base-patch32-ko), and the facts the prose
  gives about AltCLIP and KoCLIP (from their model cards and README).
- Tests marked `online` check what the prose says about the real hub models; they are skipped where the
  Hugging Face Hub cannot be reached. They load the hub ids themselves, never through `course_model`.
"""

import ast
import re

import nbformat
import pytest
import torch

import mmembed
from mmembed.manifest import read_short_texts
from mmembed.paths import CAT_IMAGE, QUIZ_IMAGE_DIR
from tests.helpers import (
    assert_contains,
    assert_loads_through_course_model,
    cell_text,
    decimals,
    lecture_code,
    markdown_text,
    shows_a_figure,
)
from tests.lectures.conftest import lecture_path, lecture_run_marks
from tests.student_copy import students_manifest

NOTEBOOK = lecture_path("05b")
pytestmark = lecture_run_marks(NOTEBOOK)

ALTCLIP = "BAAI/AltCLIP"
CAT_LABELS_EN = ["a cat", "a dog", "a car", "a bird"]  # section 2


# --- the code is the same online and offline -----------------------------------------------------------------


def test_every_model_is_loaded_through_course_model():
    """Every `from_pretrained` argument is `mmembed.course_model(...)` or a variable assigned from it."""
    assert_loads_through_course_model(lecture_code(NOTEBOOK), at_least=4)


def test_prose_gives_the_model_cards_facts():
    """Sections 2-3: AltCLIP is English and Chinese (AltCLIP-m9 has Korean); KoCLIP is two models, fine-tuned on
    82,783 MSCOCO pictures with AI Hub's Korean captions (github.com/jaketae/koclip)."""
    text = markdown_text(nbformat.read(NOTEBOOK, as_version=4))
    assert_contains(
        text,
        "**영어·중국어** 2개 국어판",
        "`BAAI/AltCLIP-m9`",
        "한국어",
        "| `koclip-base` | `klue/roberta-large` | `openai/clip-vit-base-patch32` |",
        "| `koclip-large` | `klue/roberta-large` | `google/vit-large-patch16-224` |",
        "**82,783장**",
        "AI Hub",
        "ViT-L/14",
    )


# --- section 2: AltCLIP (offline: altclip-tiny, random weights) ------------------------------------------------


def test_altclip_standin_has_the_real_classes_and_shapes(nb):
    """Section 2: AltCLIPModel / AltCLIPProcessor, XLM-R tokenizer with <s> 0, <pad> 1, </s> 2, [CLS] pooling,
    768-d text and image embeddings, 224 px input; random weights give about 0.25 to each of four labels."""
    text = cell_text(nb, 'alt_repo = mmembed.course_model("BAAI/AltCLIP")')
    assert "AltCLIPModel / AltCLIPProcessor" in text and "XLMRobertaTokenizer" in text
    assert "<s> = 0, <pad> = 1, </s> = 2" in text
    assert "['<s>', '▁고양이', '▁사진', '</s>'" in text

    text = cell_text(nb, "first_token = text_output.last_hidden_state[:, 0]")
    assert "문장 임베딩: (2, 768)" in text and "같은가: True" in text
    assert "pixel_values: (1, 3, 224, 224)  사진 임베딩: (1, 768)" in text

    text = cell_text(nb, 'labels_en = ["a cat"')
    probabilities = decimals(text.split("mmembed.embed_texts")[0])
    assert len(probabilities) == 8 and all(abs(p - 0.25) < 0.01 for p in probabilities)
    assert "(4, 768)" in text and "(1, 768)" in text


# --- section 3: the KoCLIP demos (offline: mini) ---------------------------------------------------------------


def test_image_to_text_top1_is_the_right_category(nb):
    """Section 3.1 with mini: all seven pictures get their category first; six with 0.99 or more, the zebra (val_2)
    with 0.956, the rest of its probability going mostly to other animal categories, 새 and 개 (the figure's bars,
    computed here as the cell does)."""
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
    confidence = {name: float(p) for name, _, p in top}
    assert confidence.pop("val_2.JPEG") == pytest.approx(0.956, abs=0.0005)
    assert all(p >= 0.99 for p in confidence.values()), confidence
    prose = markdown_text(nb)
    assert "여섯 장은 확률이 0.99 이상" in prose and '얼룩말 사진(`val_2`)만 "포유류"가 0.956으로' in prose

    from transformers import AutoModel, AutoProcessor

    folder = mmembed.course_model("mini")
    model, processor = AutoModel.from_pretrained(folder).eval(), AutoProcessor.from_pretrained(folder)
    labels = [korean[0] for (kind, _), (_, korean) in read_short_texts().items() if kind == "category"]
    images, names = mmembed.load_images(QUIZ_IMAGE_DIR)
    inputs = processor(
        text=labels, images=images[names.index("val_2.JPEG")], padding=True, truncation=True, return_tensors="pt"
    )
    with torch.no_grad():
        probabilities = model(**inputs).logits_per_image.softmax(dim=1)[0]
    assert [labels[i] for i in probabilities.topk(3).indices.tolist()] == ["포유류", "새", "개"]
    assert probabilities.topk(3).values[1:].sum() > (1 - probabilities.max()) / 2  # "주로 다른 동물 범주로"


def test_pictures_come_from_embed_folder_in_the_lectures_order(nb):
    """Section 3.2: the 200 pictures are embedded with mmembed.embed_folder (lecture 04, section 4.4, the cache),
    whose names are the order of `filenames` that the plots index `images` with."""
    source = next(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if "korean_queries = " in c.source)
    assert "mmembed.embed_folder(QUIZ_IMAGE_DIR, ko_model, ko_processor)" in source
    assert "mmembed.embed_images(images" not in source
    assert "사진 임베딩: (200, 512)  파일 이름 순서가 filenames와 같은가: True" in cell_text(nb, "korean_queries = ")


def test_text_to_image_rankings(nb):
    """Section 3.2 with mini: the rankings the prose describes. The modifiers change the rankings: the red vehicles
    come first for 빨간 자동차, two flying aeroplanes come between the flying birds and the peacock for 하늘을 나는 새;
    the other three queries' top 5 are all of the right category."""
    text = cell_text(nb, "korean_queries = ")
    rows = {
        query.strip(): ast.literal_eval(found) for query, found in re.findall(r"([^\n>]+?)\s+-> (\[[^\n]*\])", text)
    }
    categories = {p.caption_ko: p.category for p in students_manifest() if p.path.startswith("quiz-image/")}
    expected = {"빨간 자동차": "vehicle", "악기": "music", "우주에 있는 행성": "space"}
    assert {query: {categories[caption] for caption in rows[query]} for query in expected} == {
        query: {category} for query, category in expected.items()
    }
    cars = rows["빨간 자동차"]
    assert set(cars[:2]) == {"빨간 소방차", "빨간 폭스바겐 비틀"} and cars[2] == "분홍색 세발자전거"
    assert cars[3:] == ["스포츠카", "소형 건설용 덤프차"]
    birds = rows["하늘을 나는 새"]
    assert set(birds[:2]) == {"해변 위를 나는 갈매기", "하늘을 나는 왜가리"}
    assert set(birds[2:4]) == {"날고 있는 전투기", "하늘을 나는 점보 여객기"} and birds[4] == "꼬리가 긴 공작"
    assert [categories[caption] for caption in birds] == ["bird", "bird", "vehicle", "vehicle", "bird"]
    planets = rows["우주에 있는 행성"]
    assert set(planets[:3]) == {"붉은 행성 화성", "목성", "고리가 있는 토성"}
    assert planets[3:] == ["태양", "국기 앞에서 찍은 우주비행사 사진"]
    assert "우주에서 본 지구" not in planets
    prose = markdown_text(nb)
    assert '"빨간 자동차"의 1-2위는 빨간 소방차와 빨간 폭스바겐 비틀' in prose and "3위는 분홍색 세발자전거" in prose
    assert "3-4위는 새가 아니라 하늘을 나는 비행기(전투기, 점보 여객기)이고, 새인 공작은 그 뒤 5위" in prose
    assert "4-5위는 행성이 아닌 태양과 우주비행사 사진" in prose


def test_text_to_patch_finds_each_picture_of_the_collage(nb):
    """Section 3.3 with mini: each query's best patch is in its picture's quadrant of the 2x2 collage (4x4
    patches), that quadrant has the highest mean; for 열기구 the top two patches (0.77, 0.67) beat the bottom two
    (0.41, 0.48)."""
    text = cell_text(nb, "patch_queries = ")
    quadrant = {"고양이": (0, 0), "얼룩말": (0, 1), "열기구": (1, 0), "파인애플": (1, 1)}
    blocks = re.split(r"^(\S+)\s+1위 조각: \(행 (\d), 열 (\d)\)[^\n]*\n", text, flags=re.M)[1:]
    assert len(blocks) == 4 * 4
    for query, row, column, matrix in zip(*[iter(blocks)] * 4):
        assert (int(row) // 2, int(column) // 2) == quadrant[query], query
        scores = torch.tensor(decimals(matrix)).reshape(4, 4)
        means = {(r, c): scores[2 * r : 2 * r + 2, 2 * c : 2 * c + 2].mean().item() for r in (0, 1) for c in (0, 1)}
        assert max(means, key=means.get) == quadrant[query], (query, means)
        if query == "열기구":
            assert scores[2, :2].tolist() == pytest.approx([0.77, 0.67], abs=0.001)
            assert scores[3, :2].tolist() == pytest.approx([0.41, 0.48], abs=0.001)
    prose = markdown_text(nb)
    assert "위쪽 두 조각(0.77, 0.67)" in prose and "아래쪽 두 조각(0.41, 0.48)" in prose


# --- section 4: across languages (offline: mini) ----------------------------------------------------------------


def quiz_categories_by_caption():
    return {p.caption_en: p.category for p in students_manifest() if p.path.startswith("quiz-image/")}


def test_korean_and_english_captions_meet(nb):
    """Section 4.1 (the prediction) with mini: the eight translation pairs have cosine 0.91 to 0.99 (the diagonal);
    the other 56 cells range from -0.59 to 0.68, the zebra's Korean caption with "a pigeon" above 0.5; the matrix is
    drawn."""
    text = cell_text(nb, "cross_names = ")
    diagonal = decimals(re.search(r"대각선 \(같은 사진의 한국어 캡션과 영어 캡션\): \[(.*)\]", text).group(1))
    assert len(diagonal) == 8 and min(diagonal) == 0.91 and max(diagonal) == 0.99
    assert "대각선 밖 (다른 사진의 캡션끼리): 가장 작은 값 -0.59, 가장 큰 값 0.68" in text
    assert shows_a_figure(nb, "cross_names = ")
    prose = markdown_text(nb)
    assert "대각선은 0.91 ~ 0.99로" in prose and "-0.59에서 0.68까지" in prose
    assert "`검은색과 흰색 줄무늬의 얼룩말`과 `a pigeon`" in prose

    from transformers import AutoModel, AutoProcessor

    folder = mmembed.course_model("mini")
    model, processor = AutoModel.from_pretrained(folder).eval(), AutoProcessor.from_pretrained(folder)
    zebra, pigeon = (
        torch.nn.functional.normalize(mmembed.embed_texts([text], model, processor), dim=-1)
        for text in ("검은색과 흰색 줄무늬의 얼룩말", "a pigeon")
    )
    assert (zebra @ pigeon.T).item() > 0.5


def test_korean_captions_find_their_translations(nb):
    """Section 4.2 with mini: 198 of 200 Korean captions find their own English caption first; both misses pick a
    caption of a picture of the same category (스포츠카 -> a red fire truck, vehicles; the wavy facade -> the
    inukshuk, buildings); Korean and English captions find the same top-1 picture for 198 of 200."""
    text = cell_text(nb, "translation = all_ko @ all_en.T")
    assert "자기 번역이 1위인 한국어 캡션: 198 / 200 (0.990)" in text
    misses = re.findall(r"^  (.+) -> (.+) / (.+)$", text, re.M)
    assert [(korean, chosen.split(",")[0]) for korean, chosen, _ in misses] == [
        ("스포츠카", "a red fire truck"),
        ("물결 모양 건물 외벽의 흑백 사진", "an inukshuk"),
    ]
    categories = quiz_categories_by_caption()
    assert [(categories[chosen], categories[right]) for _, chosen, right in misses] == [
        ("vehicle", "vehicle"),
        ("building", "building"),
    ]
    assert "한국어 캡션과 영어 캡션이 같은 사진을 1위로 찾은 쌍: 198 / 200" in text
    prose = markdown_text(nb)
    assert "200개 중 198개(0.990)" in prose and "1위인 쌍은 200개 중 198개" in prose
    assert "틀린 두 개도 같은 범주" in prose and "`스포츠카`는 `a red fire truck`을 골라 탈것끼리" in prose


def test_lines_beginning_with_mmembed_name_the_stand_ins(nb):
    """Section 1: a line beginning with [mmembed] (ordinary output, no colour) names each stand-in in the output of
    the cell that loads it."""
    for marker in ('alt_repo = mmembed.course_model("BAAI/AltCLIP")', 'ko_repo = mmembed.course_model("Bingsu'):
        assert cell_text(nb, marker).startswith("[mmembed] "), marker
    assert "빨간 글씨" not in markdown_text(nb)


# --- the real models (need the hub) ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def altclip():
    from transformers import AltCLIPModel, AltCLIPProcessor

    return AltCLIPModel.from_pretrained(ALTCLIP).eval(), AltCLIPProcessor.from_pretrained(ALTCLIP)


@pytest.mark.online
def test_real_altclip_classes_shapes_and_cls_pooling(altclip):
    """Section 2: the real AltCLIP has an XLM-R tokenizer (<s> 0, <pad> 1, </s> 2), pools the text at the first
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
    """Section 2: with English labels the real AltCLIP gives "a cat" the highest probability."""
    model, processor = altclip
    inputs = processor(text=CAT_LABELS_EN, images=mmembed.load_image(CAT_IMAGE), padding=True, return_tensors="pt")
    with torch.inference_mode():
        probs = model(**inputs).logits_per_image.softmax(dim=1)[0]
    assert CAT_LABELS_EN[probs.argmax().item()] == "a cat"
