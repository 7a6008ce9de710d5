"""The model registry: every name the course knows resolves offline to a real model of the class the table says."""

import json
import warnings
from pathlib import Path

import pytest

from mmembed import check, cli, notes
from mmembed.zoo import hub, registry, sources
from mmembed.zoo.hub import HubUnreachableError
from mmembed.zoo.sources import resolve

NAMES = registry.available_models()
OFFLINE = registry.offline_models()
WITH_TEXT = [name for name in OFFLINE if registry.lookup(name).architecture != "ViTForImageClassification"]


@pytest.fixture
def no_hub(monkeypatch, tmp_path):
    """An empty Hugging Face cache and a hub that must not be asked; each test sees its own notes."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))
    monkeypatch.setattr(hub, "hub_reachable", _must_not_ask_the_hub)
    monkeypatch.setattr(notes, "_said", set())


def _must_not_ask_the_hub():
    raise AssertionError("the hub was asked")


def _architectures(folder: str) -> list[str]:
    return json.loads((Path(folder) / "config.json").read_text())["architectures"]


@pytest.mark.parametrize("name", NAMES)
def test_every_name_loads_offline_as_a_model_of_its_class(name, no_hub, monkeypatch):
    monkeypatch.setenv("MMEMBED_OFFLINE", "1")
    entry = registry.lookup(name)
    source = resolve(name)
    assert source.name == (entry.stand_in if entry.hub_id else name)
    assert _architectures(source.location) == [entry.architecture]  # a stand-in has its hub model's class
    assert entry.licence and entry.megabytes > 0


@pytest.mark.parametrize("name", OFFLINE)
def test_an_offline_model_is_the_size_the_table_says(name):
    folder = registry.lookup(name).ensure()
    megabytes = sum(file.stat().st_size for file in folder.rglob("*") if file.is_file()) / 1e6
    assert registry.lookup(name).megabytes / 1.5 < megabytes < registry.lookup(name).megabytes * 1.5


@pytest.mark.parametrize("name", WITH_TEXT)
def test_an_offline_tokenizer_pads_without_a_warning(name):
    """No padding or truncation is left switched on in tokenizer.json (training mini left both on once), so the
    lectures' `padding=True` prints no "`max_length` is ignored" warning."""
    from transformers import AutoTokenizer

    folder = registry.lookup(name).ensure()
    saved = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    assert saved["padding"] is None and saved["truncation"] is None
    tokenizer = AutoTokenizer.from_pretrained(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tokens = tokenizer(["a dog", "고양이 사진을 보여 줘"], padding=True, return_tensors="pt")
    assert tokens["input_ids"].shape[0] == 2 and tokens["attention_mask"].sum() < tokens["attention_mask"].numel()


def test_hub_models_and_offline_models_split_the_table():
    assert hub.COURSE_MODELS == registry.hub_models()
    assert set(registry.hub_models()) | set(OFFLINE) == set(NAMES) and not set(registry.hub_models()) & set(OFFLINE)
    for hub_id in registry.hub_models():
        assert registry.stand_in_for(hub_id) in OFFLINE
    assert registry.DEFAULT_MODEL == NAMES[0]
    assert registry.stand_in_for("mini") is None and registry.stand_in_for("no-such-org/model") is None


def test_download_fetches_the_tables_hub_models():
    assert cli.parser().parse_args(["download"]).models == list(registry.hub_models())


def test_check_reports_from_the_table(no_hub, monkeypatch):
    monkeypatch.setattr(hub, "hub_reachable", lambda: False)
    ok, message = check.check_model()
    assert ok and "Hugging Face Hub에 연결할 수 없어" in message and "'mini'" in message
    assert f"강의의 허브 모델 {len(registry.hub_models())}개 중 0개를 내려받아 둠" in message


def test_an_unknown_name_gets_the_known_ones():
    with pytest.raises(KeyError, match="BAAI/AltCLIP, .*vit-tiny"):
        registry.lookup("no-such-model")
    with pytest.raises(KeyError, match="mini, tiny, altclip-tiny"):
        sources.ensure_standin("BAAI/AltCLIP")


def test_a_missing_committed_folder_says_how_to_rebuild_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="'mini' 오프라인 모델이 .*에 없습니다: python -m tools.train_mini로"):
        registry.lookup("mini").ensure(tmp_path / "mini")


def test_a_named_model_is_never_replaced(no_hub, monkeypatch):
    monkeypatch.setenv("MMEMBED_OFFLINE", "1")
    monkeypatch.setattr(hub, "hub_reachable", lambda: False)
    assert resolve("BAAI/AltCLIP").name == "altclip-tiny"
    with pytest.raises(HubUnreachableError, match="'BAAI/AltCLIP' 모델을 내려받지 않았고 Hugging Face Hub에 연결할 수"):
        resolve("BAAI/AltCLIP", may_stand_in=False)
    with pytest.raises(HubUnreachableError, match="MMEMBED_OFFLINE=1이 켜져 있습니다"):
        resolve("no-such-org/no-such-model")
