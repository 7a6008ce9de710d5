"""Embedding pictures and texts with the offline tiny CLIP; the background preparation; the benchmark."""

import json
import threading

import pytest
import torch
from PIL import Image
from transformers.modeling_outputs import BaseModelOutputWithPooling

from mmembed.embedding import embed_images, embed_texts, features_tensor, prepared_ahead
from tests.helpers import REPO_ROOT, run_python


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
    assert "사진 임베딩" not in capsys.readouterr().err
    embed_images(colour_pictures(3), model, processor, batch_size=1)
    assert "사진 임베딩" in capsys.readouterr().err


def test_single_picture_is_accepted(tiny):
    model, processor = tiny
    assert embed_images(colour_pictures(1)[0], model, processor).shape == (1, 512)


def test_empty_picture_list_is_an_error(tiny):
    with pytest.raises(ValueError, match="임베딩할 사진이 없습니다"):
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
        ([], "임베딩할 문장이 없습니다"),
        ([""], "질의가 비어 있습니다"),
        (["   "], "질의가 비어 있습니다"),
        (["A dog", ""], "1번 문장이 비어 있습니다"),
        ([None], "문자열\\(str\\)이 아니라 NoneType"),
    ],
)
def test_bad_texts_get_a_clear_error(tiny, texts, message):
    with pytest.raises(ValueError, match=message):
        embed_texts(texts, *tiny)


def test_features_tensor_reads_both_transformers_generations():
    tensor = torch.ones(2, 512)
    assert features_tensor(tensor) is tensor  # transformers 4.x returned the tensor
    assert features_tensor(BaseModelOutputWithPooling(pooler_output=tensor)) is tensor  # 5.x an output object


def test_preparation_runs_ahead_in_the_background_in_order():
    """While batch i is consumed, batch i+1 is already being prepared by another thread."""
    main_thread = threading.get_ident()
    prepared_by, started = [], threading.Event()

    def prepare(batch):
        prepared_by.append(threading.get_ident())
        if batch == 1:
            started.set()
        return batch * 10

    results = []
    for value in prepared_ahead(range(4), prepare, workers=1):
        if value == 0:
            assert started.wait(timeout=10)  # batch 1 started before batch 0 was consumed
        results.append(value)
    assert results == [0, 10, 20, 30]
    assert main_thread not in prepared_by


def test_an_error_while_preparing_reaches_the_caller(tiny):
    model, processor = tiny
    with pytest.raises(ValueError, match="image"):
        embed_images(["not a picture"], model, processor)


def test_images_in_several_batches_keep_their_order(tiny):
    model, processor = tiny
    pictures = colour_pictures(7)
    together = embed_images(pictures, model, processor, batch_size=3)
    one_by_one = torch.cat([embed_images([picture], model, processor) for picture in pictures])
    torch.testing.assert_close(together, one_by_one, atol=1e-5, rtol=1e-5)


@pytest.mark.slow
def test_benchmark_smoke_run(tmp_path):
    """benchmarks/embedding.py end to end on 20 pictures (and 40 for the larger set) with the tiny model."""
    result = run_python(
        ["benchmarks/embedding.py", "--model", "tiny", "--pictures", "20", "--large", "40", "--out", str(tmp_path)],
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "embedding.json").read_text())
    assert (tmp_path / "embedding.png").stat().st_size > 10_000
    quiz, large = report["tables"]["20 pictures"], report["tables"]["40 pictures"]
    paths = [row["path"] for row in quiz]
    assert {"loop", "serial", "embed_images", "forward", "embed_images auto", "embed_folder cold"} <= set(paths)
    assert all(row["best"] > 0 for row in quiz + large)
    assert next(row for row in quiz if row["path"] == "forward")["vs_forward"] == 1.0
    warm = [row for row in quiz + large if row["path"] == "embed_folder warm"]
    assert [row["note"] for row in warm] == ["0 embedded, 20 from the cache", "0 embedded, 40 from the cache"]
    assert report["hardware"]["cores"] >= 1 and "cpu_bf16" in report["hardware"]
    assert "| forward | fp32 |" in result.stdout  # the table for the README


def test_readme_shows_the_committed_benchmark():
    """The README's benchmark table and ratios are the ones benchmarks/embedding.py prints for the committed results,
    with the machine they came from, and the figure the README and lecture 04 show is committed small."""
    from benchmarks.embedding import RESULTS_DIR, markdown

    results = json.loads((RESULTS_DIR / "embedding.json").read_text(encoding="utf-8"))
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### 빠른 임베딩: 정밀도(bf16), 캐시, 벤치마크")[1].split("\n### ")[0]
    for line in markdown(results).splitlines():
        if line.startswith(("|", "- ")):
            assert line in section, line
    hardware = results["hardware"]
    for fact in (f"{hardware['cores']}코어", hardware["cpu_capability"], *hardware["cpu_bf16"], hardware["torch"]):
        assert str(fact) in section, fact
    assert f"--repeats {results['repeats']}" in section
    ratios = results["ratios"]
    assert f"auto(bf16)는 fp32보다 {ratios['embed_images fp32 / embed_images auto']:.2f}배" in section
    assert f"처음보다 {ratios['embed_folder cold / warm (200 pictures)']:.0f}배" in section
    assert f"`embed_images`는 한계의 {ratios['embed_images / forward (fp32)']:.2f}배" in section
    assert 10_000 < (RESULTS_DIR / "embedding.png").stat().st_size < 200_000
