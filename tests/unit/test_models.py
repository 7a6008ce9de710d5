"""Model loading: the real CLIP tokenizer, the deterministic tiny model, name resolution and the offline hub."""

import hashlib
import time

import pytest
from transformers import CLIPModel, CLIPProcessor

import mmembed
from mmembed.zoo.clip_bpe import BPE_FILE, BPE_SHA256, clip_tokenizer
from mmembed.zoo.random_weights import weights_fingerprint
from mmembed.zoo.sources import ensure_standin
from tests.helpers import run_python

# sha256 over the tiny model's parameters (mmembed.zoo.random_weights.weights_fingerprint); the same on every machine.
TINY_FINGERPRINT = "0027ad75bc943daf45f4d4b4228935d688545055b9f08a3368f2d5b1f30ae52c"


def test_bpe_file_is_openais():
    assert hashlib.sha256(BPE_FILE.read_bytes()).hexdigest() == BPE_SHA256


def test_tokenizer_gives_openai_clip_ids():
    tokenizer = clip_tokenizer()
    # ids of openai/clip-vit-base-patch32's tokenizer for the same text
    assert tokenizer("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]
    assert tokenizer("A Photo of a CAT").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]  # lower-cased
    assert len(tokenizer) == 49408


def test_end_of_text_has_the_highest_id_so_pooling_lands_on_it():
    tokenizer = clip_tokenizer()
    ids = tokenizer(["a dog", "강아지가 공원에서 뛰어요"], padding=True, return_tensors="pt").input_ids
    assert tokenizer.eos_token_id == max(tokenizer.get_vocab().values())
    pooled = ids.argmax(-1)  # where CLIPTextTransformer pools
    for row, position in zip(ids, pooled):
        assert row[position] == tokenizer.eos_token_id
        assert (row[:position] != tokenizer.eos_token_id).all()  # the first end token, not padding after it


def test_tiny_loads_with_plain_transformers():
    folder = ensure_standin("tiny")
    model = CLIPModel.from_pretrained(folder)
    processor = CLIPProcessor.from_pretrained(folder)
    assert model.config.projection_dim == 512
    assert model.config.vision_config.image_size == 224 and model.config.vision_config.patch_size == 32
    assert processor.tokenizer("a photo of a cat").input_ids[1:-1] == [320, 1125, 539, 320, 2368]
    assert weights_fingerprint(model) == TINY_FINGERPRINT


def test_tiny_is_rebuilt_identically(tmp_path):
    rebuilt = CLIPModel.from_pretrained(ensure_standin("tiny", tmp_path / "tiny"))
    assert weights_fingerprint(rebuilt) == TINY_FINGERPRINT


EMBED_CAT_SCRIPT = """
import hashlib, mmembed
from PIL import Image
model, processor = mmembed.load_clip('tiny')
picture = Image.linear_gradient('L').convert('RGB')
print(hashlib.sha256(mmembed.embed_images([picture], model, processor).numpy().tobytes()).hexdigest())
"""


@pytest.mark.slow  # two fresh processes
def test_two_fresh_processes_give_bit_identical_embeddings():
    digests = []
    for _ in range(2):
        result = run_python(["-c", EMBED_CAT_SCRIPT])
        assert result.returncode == 0, result.stderr
        digests.append(result.stdout.strip().splitlines()[-1])
    assert digests[0] == digests[1]


def test_name_argument_beats_the_environment(monkeypatch):
    monkeypatch.setenv("MMEMBED_MODEL", "no-such-org/no-such-model")
    model, _ = mmembed.load_clip("tiny")
    assert model.mmembed_name == "tiny"


def test_environment_variable_chooses_the_model(monkeypatch):
    monkeypatch.setenv("MMEMBED_MODEL", "tiny")
    model, processor = mmembed.load_clip()
    assert model.mmembed_name == "tiny" and isinstance(processor, CLIPProcessor)
    assert not model.training


def test_offline_switch_loads_mini_without_asking_the_hub(monkeypatch, capsys):
    def no_hub():
        raise AssertionError("the hub was asked although MMEMBED_OFFLINE=1")

    monkeypatch.delenv("MMEMBED_MODEL", raising=False)
    monkeypatch.setenv("MMEMBED_OFFLINE", "1")
    monkeypatch.setattr(mmembed.zoo.hub, "hub_reachable", no_hub)
    monkeypatch.setattr(mmembed.notes, "_said", set())  # this test sees its own notes
    model, _ = mmembed.load_clip(device="cpu")
    assert model.mmembed_name == "mini"
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("[mmembed]")]
    assert len(notes) == 1 and notes[0].startswith("[mmembed] MMEMBED_OFFLINE=1: openai/clip-vit-base-patch32")
    assert mmembed.load_clip("tiny")[0].mmembed_name == "tiny"  # a name still comes first
    monkeypatch.setenv("MMEMBED_MODEL", "tiny")
    assert mmembed.load_clip()[0].mmembed_name == "tiny"  # and so does MMEMBED_MODEL


def test_a_local_folder_is_a_model_name(tmp_path):
    model, _ = mmembed.load_clip(str(ensure_standin("tiny")))
    assert isinstance(model, CLIPModel)


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="모델 폴더가 없습니다"):
        mmembed.load_clip(str(tmp_path / "nothing-here"))


@pytest.mark.slow  # a fresh interpreter with torch and a model (~10 CPU seconds): make test only
def test_hub_model_in_the_local_cache_loads_without_network(tmp_path, offline_env, monkeypatch):
    """What `python -m mmembed download` leaves behind: a hub cache that works with no network."""
    snapshot = tmp_path / "hf-home" / "hub" / "models--course--cached-clip" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    for file in ensure_standin("tiny").iterdir():
        (snapshot / file.name).write_bytes(file.read_bytes())
    (snapshot.parent.parent / "refs").mkdir()
    (snapshot.parent.parent / "refs" / "main").write_text("0" * 40)
    script = "import mmembed; m, p = mmembed.load_clip('course/cached-clip'); print(m.mmembed_name)"
    result = run_python(["-c", script], env=offline_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("course/cached-clip")


@pytest.mark.slow  # a fresh interpreter with torch and a model (~10 CPU seconds): make test only
def test_named_hub_model_offline_fails_fast_with_one_sentence(offline_env):
    offline_env["MMEMBED_MODEL"] = "openai/clip-vit-base-patch32"
    started = time.monotonic()
    result = run_python(["-c", "import mmembed; mmembed.load_clip()"], env=offline_env)
    assert time.monotonic() - started < 30
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("mmembed.zoo.hub.HubUnreachableError: 'openai/clip-vit-base-patch32' 모델을")
    assert "MMEMBED_MODEL" in last_line and "python -m mmembed download" in last_line
    assert last_line.count(". ") == 0  # one sentence
    assert "During handling" not in result.stderr and len(result.stderr.splitlines()) <= 8  # no traceback wall


def test_no_name_and_no_hub_falls_back_to_an_offline_model_and_says_so(offline_env):
    result = run_python(
        ["-c", "import mmembed; m, p = mmembed.load_clip(); print('using', m.mmembed_name)"], env=offline_env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("using")[-1].strip() == "mini"  # the trained offline model, not random tiny
    notes = [line for line in result.stderr.splitlines() if line.startswith("[mmembed]")]
    assert len(notes) == 1 and "'mini'" in notes[0] and "Hugging Face Hub에 연결할 수 없습니다" in notes[0]
