"""The embedding cache behind `embed_folder`: hits, and everything that must make it recompute."""

import os
import warnings

import numpy as np
import platformdirs
import pytest
import torch
from PIL import Image

import mmembed
from mmembed.cache import CACHE_ENV, WeightHashes, cache_dir, cache_sets, clear_cache, embed_folder, embed_paths
from mmembed.images import load_images


def save_pictures(folder, count, offset=0):
    folder.mkdir(exist_ok=True)
    for i in range(count):
        shade = (i + offset) * 23 % 256
        picture = Image.new("RGB", (48 + i, 40), (shade, 255 - shade, (i + offset) * 71 % 256))
        picture.paste((255 - shade, shade, 0), (i, i, i + 12, i + 12))  # something that is not one flat colour
        picture.save(folder / f"val_{i}.JPEG")
    return folder


@pytest.fixture
def pictures(tmp_path):
    return save_pictures(tmp_path / "pictures", 12)


@pytest.fixture
def store(tmp_path):
    return tmp_path / "cache"


def entries(store):
    return sorted(store.glob("images/*/*.npy"))


def embed(folder, model_and_processor, store, **options):
    model, processor = model_and_processor
    return embed_folder(folder, model, processor, cache=store, progress=False, **options)


def test_a_second_call_embeds_nothing_and_returns_the_same(tiny, pictures, store):
    first = embed(pictures, tiny, store, precision="fp32")
    second = embed(pictures, tiny, store, precision="fp32")
    assert (first.computed, first.cached) == (12, 0)
    assert (second.computed, second.cached) == (0, 12)
    assert len(entries(store)) == 12
    assert second.names == first.names
    assert torch.equal(second.embeddings, first.embeddings) and second.embeddings.dtype == torch.float32


def test_embed_paths_keeps_the_order_given_and_shares_the_cache_with_embed_folder(tiny, pictures, store, tmp_path):
    """The one pipeline under embed_folder and the index: files from several folders, in the order given."""
    model, processor = tiny
    other = save_pictures(tmp_path / "other", 2, offset=50)
    paths = [other / "val_1.JPEG", pictures / "val_3.JPEG", other / "val_0.JPEG"]
    given = embed_paths(paths, model, processor, cache=store, precision="fp32", progress=False)
    assert given.paths == paths and given.names == ["val_1.JPEG", "val_3.JPEG", "val_0.JPEG"]
    assert (given.computed, given.cached, given.precision) == (3, 0, "fp32")
    folder = embed(pictures, tiny, store, precision="fp32")
    assert (folder.computed, folder.cached) == (11, 1)
    assert torch.equal(folder.embeddings[3], given.embeddings[1])  # read back from the cache


def test_names_and_rows_match_load_images_and_embed_images(tiny, pictures, store):
    model, processor = tiny
    embeddings, names = mmembed.embed_folder(pictures, model, processor, cache=store, precision="fp32")
    images, expected_names = load_images(pictures)
    assert names == expected_names  # natural order: val_2 before val_10
    expected = mmembed.embed_images(images, model, processor, precision="fp32")
    torch.testing.assert_close(embeddings, expected, atol=1e-5, rtol=1e-5)


def test_a_changed_picture_is_embedded_again(tiny, pictures, store):
    embed(pictures, tiny, store, precision="fp32")
    Image.new("RGB", (60, 60), (0, 0, 255)).save(pictures / "val_3.JPEG")
    again = embed(pictures, tiny, store, precision="fp32")
    assert (again.computed, again.cached) == (1, 11)
    model, processor = tiny
    fresh = mmembed.embed_images(load_images(pictures)[0][3:4], model, processor, precision="fp32")
    torch.testing.assert_close(again.embeddings[3:4], fresh, atol=1e-5, rtol=1e-5)


def test_a_renamed_or_copied_picture_costs_nothing(tiny, pictures, store):
    embed(pictures, tiny, store, precision="fp32")
    os.rename(pictures / "val_0.JPEG", pictures / "val_99.JPEG")
    (pictures / "copy.JPEG").write_bytes((pictures / "val_1.JPEG").read_bytes())
    again = embed(pictures, tiny, store, precision="fp32")
    assert (again.computed, again.cached) == (0, 13)
    assert again.names[-1] == "val_99.JPEG"


def test_a_changed_precision_has_its_own_entries(tiny, pictures, store):
    embed(pictures, tiny, store, precision="fp32")
    bf16 = embed(pictures, tiny, store, precision="bf16")
    assert (bf16.computed, bf16.precision) == (12, "bf16")
    assert len(entries(store)) == 24 and len(cache_sets(store)) == 2
    assert embed(pictures, tiny, store, precision="fp32").computed == 0


def test_another_model_has_its_own_entries(tiny, pictures, store):
    embed(pictures, tiny, store, precision="fp32")
    mini = mmembed.load_clip("mini", device="cpu")
    assert embed(pictures, mini, store, precision="fp32").computed == 12
    assert {entry.about["model"] for entry in cache_sets(store)} == {"tiny", "mini"}


def test_a_model_changed_in_memory_is_embedded_again(tiny, pictures, store):
    """Training after loading changes the weights, not the folder they came from."""
    model, processor = mmembed.load_clip("tiny", device="cpu")
    before = embed(pictures, (model, processor), store, precision="fp32")
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 1e-3)
    after = embed(pictures, (model, processor), store, precision="fp32")
    assert after.computed == 12
    assert not torch.allclose(after.embeddings, before.embeddings)


def test_changed_weight_files_are_a_new_model(tiny, tmp_path, pictures, store):
    model, processor = tiny
    folder = tmp_path / "my-model"
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    assert embed(pictures, mmembed.load_clip(str(folder), device="cpu"), store, precision="fp32").computed == 12
    assert embed(pictures, mmembed.load_clip(str(folder), device="cpu"), store, precision="fp32").computed == 0

    changed = mmembed.load_clip(str(folder), device="cpu")[0]
    with torch.no_grad():
        changed.visual_projection.weight.mul_(-1)
    changed.save_pretrained(folder)
    assert embed(pictures, mmembed.load_clip(str(folder), device="cpu"), store, precision="fp32").computed == 12


def test_weight_hashes_are_remembered_until_the_file_changes(tmp_path):
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"first weights")
    first = WeightHashes(tmp_path / "cache").sha256(weights)
    assert WeightHashes(tmp_path / "cache").known[str(weights.resolve())]["sha256"] == first  # kept on disk
    weights.write_bytes(b"other weights, longer")
    assert WeightHashes(tmp_path / "cache").sha256(weights) != first


def test_a_corrupt_entry_is_recomputed_with_a_warning(tiny, pictures, store):
    first = embed(pictures, tiny, store, precision="fp32")
    broken, truncated = entries(store)[:2]
    broken.write_bytes(b"not an npy file")
    truncated.write_bytes(truncated.read_bytes()[:100])
    with pytest.warns(UserWarning, match=r"읽지 못한 임베딩 2개를 다시 계산합니다") as caught:
        again = embed(pictures, tiny, store, precision="fp32")
    assert len(caught) == 1 and "\n" not in str(caught[0].message)
    assert (again.computed, again.cached) == (2, 10)
    torch.testing.assert_close(again.embeddings, first.embeddings, atol=1e-5, rtol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # repaired: no warning the third time
        assert embed(pictures, tiny, store, precision="fp32").computed == 0


def test_an_entry_of_the_wrong_kind_is_recomputed(tiny, pictures, store):
    embed(pictures, tiny, store, precision="fp32")
    np.save(entries(store)[0], np.full((3, 3), np.nan))
    with pytest.warns(UserWarning, match="읽지 못한 임베딩 1개를"):
        assert embed(pictures, tiny, store, precision="fp32").computed == 1


def test_unreadable_pictures_are_skipped_with_a_warning_and_not_cached(tiny, pictures, store):
    (pictures / "val_5.JPEG").write_bytes(b"garbage")
    with pytest.warns(UserWarning, match=r"읽을 수 있는 사진이 아니어서 건너뜁니다: .*val_5\.JPEG"):
        result = embed(pictures, tiny, store, precision="fp32")
    assert "val_5.JPEG" not in result.names and len(result.names) == 11
    assert (result.computed, result.cached) == (11, 0)
    assert len(entries(store)) == 11 and len(result.embeddings) == 11
    with pytest.warns(UserWarning, match=r"건너뜁니다: .*val_5\.JPEG"):  # said again: the file is still there
        again = embed(pictures, tiny, store, precision="fp32")
    assert (again.computed, again.cached) == (0, 11) and again.names == result.names


def test_a_folder_without_readable_pictures_is_an_error(tiny, tmp_path, store):
    folder = tmp_path / "empty"
    folder.mkdir()
    with pytest.raises(FileNotFoundError, match="읽을 수 있는 사진이 없습니다"):
        embed(folder, tiny, store)


def test_without_the_cache_nothing_is_written(tiny, pictures, store, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(store))
    model, processor = tiny
    embeddings, names = mmembed.embed_folder(pictures, model, processor, cache=False, precision="fp32")
    assert len(names) == 12 and embeddings.shape == (12, 512)
    assert not store.exists()


def test_an_unwritable_cache_only_warns(tiny, pictures, tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("the cache folder cannot be made here")
    with pytest.warns(UserWarning, match="임베딩을 캐시에 저장하지 않습니다") as caught:
        result = embed(pictures, tiny, blocked, precision="fp32")
    assert len(caught) == 1 and result.computed == 12


def test_writes_leave_no_temporary_files(tiny, pictures, store):
    embed(pictures, tiny, store, precision="fp32")
    assert [path.name for path in store.rglob("*") if path.name.endswith(".tmp")] == []


def test_the_cache_folder_comes_from_the_environment_or_platformdirs(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    monkeypatch.delenv(CACHE_ENV)
    assert str(cache_dir()) == platformdirs.user_cache_dir("mmembed")


def test_clear_removes_only_the_cache_files(tiny, pictures, store):
    embed(pictures, tiny, store, precision="fp32")
    (store / "notes.txt").write_text("someone else's file in the same folder")
    assert clear_cache(store) == 12
    assert entries(store) == [] and not (store / "weights.json").exists()
    assert (store / "notes.txt").exists()
