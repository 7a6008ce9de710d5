"""Precision: what "auto" picks on which hardware, and bf16 embeddings agreeing with fp32 where bf16 is native."""

import pytest
import torch
import torch.nn.functional as F
from transformers import CLIPConfig, CLIPModel

import mmembed
from autograder.config import HIDDEN_QUERIES
from autograder.reference import load_solution
from mmembed import precision
from mmembed.paths import QUIZ_IMAGE_DIR
from mmembed.precision import PRECISION_ENV, cpu_bf16_features, native_bf16, resolve_precision

NO_NATIVE_BF16 = pytest.mark.skipif(
    not native_bf16("cpu"),
    reason="this CPU has no native bf16 (no amx_bf16 or avx512_bf16 flag): bf16 would be emulated, "
    "and precision='auto' uses fp32 here",
)
# Lecture 04's search examples, and the queries graded by their top-1: quiz 6's QUERY and the grader's hidden ones.
LECTURE_04_QUERIES = ["a red car", "a musical instrument", "a bird flying", "a sailing ship", "a planet in space"]
GRADED_QUERIES = [load_solution().QUERY, *HIDDEN_QUERIES]
COURSE_QUERIES = [*LECTURE_04_QUERIES, *GRADED_QUERIES]
# How far bf16 may move a cosine score of mini's. Measured (avx512_bf16, torch 2.13) on the 200 course pictures: at
# most 0.0032 with COURSE_QUERIES (mean 0.0005, the same however the texts and pictures are batched), at most 0.0058
# with the 420 course captions in both languages (longer texts round more). 0.005 is 1.5 times the course queries'
# largest, about one bf16 rounding of a score near 1 (8 significant bits: 2**-8 = 0.0039).
MINI_SCORE_TOLERANCE = 0.005


def cpuinfo_text(flags: str) -> str:
    return f"processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu sse2 avx2 {flags}\n"


@pytest.fixture
def cpuinfo(tmp_path, monkeypatch):
    """Point the detector at a /proc/cpuinfo of our choosing (and forget what it read, then and afterwards)."""

    def write(flags: str):
        path = tmp_path / "cpuinfo"
        path.write_text(cpuinfo_text(flags))
        monkeypatch.setattr(precision, "PROC_CPUINFO", path)
        cpu_bf16_features.cache_clear()

    yield write
    cpu_bf16_features.cache_clear()  # the next test reads the real CPU's flags


@pytest.mark.parametrize(
    "flags, found",
    [
        ("avx512f avx512_bf16", ("avx512_bf16",)),
        ("amx_tile amx_bf16 amx_int8 avx512_bf16", ("amx_bf16", "avx512_bf16")),
        ("avx512f avx512bw", ()),  # AVX-512 without BF16: bf16 would be emulated
        ("", ()),  # a laptop with AVX2 only
    ],
)
def test_native_bf16_is_read_from_the_cpu_flags(cpuinfo, flags, found):
    cpuinfo(flags)
    assert cpu_bf16_features() == found
    assert resolve_precision("auto", "cpu") == ("bf16" if found else "fp32")


def test_the_cpu_flags_are_read_once(cpuinfo):
    """ "auto" is resolved wherever a public function is called (a search resolves it for the pictures and again for
    the text): the flags are read the first time only."""
    cpuinfo("avx512_bf16")
    assert resolve_precision("auto", "cpu") == "bf16"
    precision.PROC_CPUINFO.write_text(cpuinfo_text(""))
    assert resolve_precision("auto", "cpu") == "bf16"  # not read again
    cpu_bf16_features.cache_clear()
    assert resolve_precision("auto", "cpu") == "fp32"


def test_below_the_public_functions_precision_is_resolved():
    """autocast refuses "auto" rather than read it as fp32."""
    with pytest.raises(ValueError, match="autocast needs fp32 or bf16"):
        precision.autocast("auto", "cpu")


def test_explicit_precision_wins_over_the_hardware(cpuinfo):
    cpuinfo("")
    assert resolve_precision("bf16", "cpu") == "bf16"
    assert resolve_precision("fp32", "cpu") == "fp32"


def test_the_environment_variable_is_the_default(cpuinfo, monkeypatch):
    cpuinfo("avx512_bf16")
    monkeypatch.setenv(PRECISION_ENV, "FP32")
    assert resolve_precision(None, "cpu") == "fp32"
    assert resolve_precision("bf16", "cpu") == "bf16"  # an argument still wins
    monkeypatch.delenv(PRECISION_ENV)
    assert resolve_precision(None, "cpu") == "bf16"  # auto


def test_an_unknown_precision_is_a_clear_error(tiny, monkeypatch):
    with pytest.raises(ValueError, match=r"precision='fp16': 정밀도는 fp32, bf16, auto 중 하나"):
        resolve_precision("fp16", "cpu")
    monkeypatch.setenv(PRECISION_ENV, "half")
    with pytest.raises(ValueError, match=r"MMEMBED_PRECISION='half': 정밀도는"):
        mmembed.embed_texts("A dog", *tiny)


def test_embeddings_stay_float32_in_bf16(tiny):
    model, processor = tiny
    pictures = mmembed.load_images(QUIZ_IMAGE_DIR)[0][:3]
    assert mmembed.embed_images(pictures, model, processor, precision="bf16").dtype == torch.float32
    assert mmembed.embed_texts(["A dog"], model, processor, precision="bf16").dtype == torch.float32


@pytest.fixture(scope="module")
def course_pictures():
    return mmembed.load_images(QUIZ_IMAGE_DIR)


def embed_course(pictures, model, processor, chosen):
    image_embeddings = mmembed.embed_images(pictures, model, processor, precision=chosen, progress=False)
    return image_embeddings, mmembed.embed_texts(COURSE_QUERIES, model, processor, precision=chosen)


def top5(texts, images, names, query):
    return [name for name, _ in mmembed.search(texts[query], images, names, k=5)]


def assert_rows_agree(fp32, bf16):
    assert F.cosine_similarity(fp32, bf16).min().item() >= 0.999


def cosine_scores(texts, images):
    """(texts, pictures) cosine similarities."""
    return F.normalize(texts, dim=-1) @ F.normalize(images, dim=-1).T


def assert_same_top_k_up_to_ties(fp32_scores, bf16_scores, k, tolerance):
    """Each query's top-k in bf16 is its top-k in fp32, except that pictures whose fp32 scores are at most
    2 x `tolerance` apart (each may move by `tolerance`) may trade places, also across the k-th place: scored in fp32,
    bf16's r-th picture is within 2 x `tolerance` of fp32's r-th best."""
    fp32_best = fp32_scores.topk(k, dim=1).values
    rescored = fp32_scores.gather(1, bf16_scores.topk(k, dim=1).indices)
    swapped = (rescored - fp32_best).abs()
    assert swapped.max().item() <= 2 * tolerance, swapped


@NO_NATIVE_BF16
def test_bf16_agrees_with_fp32_for_mini(course_pictures):
    """Rows agree (cosine 0.999 or more, as the README and lecture 04 say); every query-picture score is within
    MINI_SCORE_TOLERANCE of fp32's, so each top-5 is fp32's but for near ties ("a toolbox", a hidden query, has its 5th
    and 6th pictures 0.0016 apart in fp32, and bf16 swaps them); and every graded query keeps its top-1 (each leads
    its runner-up by 0.07 or more, far beyond bf16's rounding)."""
    pictures, _ = course_pictures
    model, processor = mmembed.load_clip("mini", device="cpu")
    fp32_images, fp32_texts = embed_course(pictures, model, processor, "fp32")
    bf16_images, bf16_texts = embed_course(pictures, model, processor, "bf16")
    assert_rows_agree(fp32_images, bf16_images)
    assert_rows_agree(fp32_texts, bf16_texts)
    fp32_scores, bf16_scores = cosine_scores(fp32_texts, fp32_images), cosine_scores(bf16_texts, bf16_images)
    moved = (bf16_scores - fp32_scores).abs().max().item()
    assert moved <= MINI_SCORE_TOLERANCE, moved
    assert_same_top_k_up_to_ties(fp32_scores, bf16_scores, k=5, tolerance=MINI_SCORE_TOLERANCE)
    graded = slice(len(LECTURE_04_QUERIES), None)
    assert bf16_scores[graded].argmax(dim=1).tolist() == fp32_scores[graded].argmax(dim=1).tolist()


VIT_B_32_PICTURES = 64  # two full batches of the course pictures: the fp32 pass is the test's cost


@pytest.mark.slow
@NO_NATIVE_BF16
def test_bf16_agrees_with_fp32_for_the_vit_b_32_architecture(tiny, course_pictures):
    """Random weights (speed and rounding do not depend on their values) with the real CLIP preprocessing, on the
    first 64 course pictures (bf16's rounding is per row: more rows would only repeat the check) and every query.

    Untrained, every picture scores within ~0.03 of every other and neighbours within ~1e-4, closer than
    bf16's rounding (~5e-4 on a score): the five pictures must be the same, their order among such ties not.
    """
    torch.manual_seed(0)
    model = CLIPModel(CLIPConfig()).eval()  # the defaults are ViT-B/32's
    pictures, names = (items[:VIT_B_32_PICTURES] for items in course_pictures)
    fp32_images, fp32_texts = embed_course(pictures, model, tiny[1], "fp32")
    bf16_images, bf16_texts = embed_course(pictures, model, tiny[1], "bf16")
    assert_rows_agree(fp32_images, bf16_images)
    assert_rows_agree(fp32_texts, bf16_texts)
    for query in range(len(COURSE_QUERIES)):
        assert set(top5(bf16_texts, bf16_images, names, query)) == set(top5(fp32_texts, fp32_images, names, query))
