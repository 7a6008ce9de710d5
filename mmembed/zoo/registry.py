"""Every model the course knows, in one table: the lectures' hub models and the offline models of this repo.

As openai/CLIP's `_MODELS` does for its checkpoints, one table answers every question about a name: where the
real model lives, which offline model stands in for it, how that one is made, how big each is and under which
licence its weights come. `mmembed.zoo.sources.resolve` reads it to decide what a name loads,
`python -m mmembed download` fetches its hub models and `python -m mmembed check` reports on them.

The table is plain data and imports nothing heavy: a builder is named ("module:attribute") and imported only
when its folder is made, so `python -m mmembed --help` and a mistyped command answer at once.
"""

import importlib
from dataclasses import dataclass
from pathlib import Path

from ..paths import MINI_DIR, STANDINS_DIR, TINY_DIR

# What load_clip() loads when no model is named (nor MMEMBED_MODEL set): the CLIP of lectures 01-04 and the
# quizzes. The model that grades the quizzes is another setting: mmembed.grading.GRADING_MODEL.
DEFAULT_MODEL = "openai/clip-vit-base-patch32"

# What an offline model's outputs are worth, said in the note whenever it stands in for a hub model (in Korean:
# students read it).
RANDOM_WEIGHTS = "무작위 가중치라서 출력 숫자에는 뜻이 없습니다"
TRAINED_HERE = "강의 사진으로 학습한 작은 CLIP: 제대로 검색하지만 실제 모델보다 훨씬 약합니다"
THIS_REPO = "MIT, as this repository"


@dataclass(frozen=True)
class ModelEntry:
    """One name the course knows: a model on the Hugging Face Hub (`hub_id`) or an offline one (`folder`)."""

    name: str
    architecture: str  # the transformers class of its weights, as config.json's "architectures" names it
    megabytes: float  # on disk, roughly: one copy of the weights, as `python -m mmembed download` fetches them
    licence: str  # of the weights
    hub_id: str | None = None
    stand_in: str | None = None  # a hub model's offline replacement, used when the hub is not
    folder: Path | None = None  # an offline model's folder
    builder: str | None = None  # "module:attribute" of the Builder that makes that folder on first use; None: committed
    rebuild: str = ""  # the command that remakes a committed folder
    meaning: str = ""  # what an offline model's outputs are worth: said whenever it stands in for a hub model

    @property
    def offline(self) -> bool:
        return self.hub_id is None

    def ensure(self, directory: Path | None = None) -> Path:
        """The offline model's folder (or `directory` instead), built on first use."""
        folder = self.folder if directory is None else directory
        if self.builder is not None:
            module, attribute = self.builder.split(":")
            return getattr(importlib.import_module(module), attribute).ensure(folder)
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(
                f"'{self.name}' 오프라인 모델이 {folder}에 없습니다: {self.rebuild}로 다시 만드세요"
            )
        return folder


def _on_hub(hub_id: str, architecture: str, stand_in: str, megabytes: float, licence: str) -> ModelEntry:
    return ModelEntry(hub_id, architecture, megabytes, licence, hub_id=hub_id, stand_in=stand_in)


NO_LICENCE = "none stated on the model card"

_ENTRIES = [
    # The lectures' hub models, in lecture order. Licences: the `license` field of each model card.
    _on_hub(DEFAULT_MODEL, "CLIPModel", "mini", 600, f"{NO_LICENCE} (the openai/CLIP code is MIT)"),
    _on_hub("Bingsu/clip-vit-base-patch32-ko", "CLIPModel", "mini", 600, "MIT"),
    _on_hub("BAAI/AltCLIP", "AltCLIPModel", "altclip-tiny", 3500, "CreativeML OpenRAIL-M"),
    _on_hub("kakaobrain/align-base", "AlignModel", "align-tiny", 700, NO_LICENCE),
    _on_hub("kakaobrain/vit-large-patch16-384", "ViTForImageClassification", "vit-tiny", 1200, NO_LICENCE),
    # The offline models of this repository.
    ModelEntry(
        "mini",
        "CLIPModel",
        8.1,
        f"{THIS_REPO}; trained on the course pictures (images/LICENSES.md)",
        folder=MINI_DIR,
        rebuild="python -m tools.train_mini",
        meaning=TRAINED_HERE,
    ),
    ModelEntry(
        "tiny",
        "CLIPModel",
        18,
        f"{THIS_REPO}; its tokenizer is OpenAI's CLIP BPE (MIT)",
        folder=TINY_DIR,
        builder="mmembed.zoo.tiny:TINY",
        meaning=RANDOM_WEIGHTS,
    ),
    ModelEntry(
        "altclip-tiny",
        "AltCLIPModel",
        7.5,
        THIS_REPO,
        folder=STANDINS_DIR / "altclip-tiny",
        builder="mmembed.zoo.standins:ALTCLIP_TINY",
        meaning=RANDOM_WEIGHTS,
    ),
    ModelEntry(
        "align-tiny",
        "AlignModel",
        1.9,
        THIS_REPO,
        folder=STANDINS_DIR / "align-tiny",
        builder="mmembed.zoo.standins:ALIGN_TINY",
        meaning=RANDOM_WEIGHTS,
    ),
    ModelEntry(
        "vit-tiny",
        "ViTForImageClassification",
        0.6,
        THIS_REPO,
        folder=STANDINS_DIR / "vit-tiny",
        builder="mmembed.zoo.standins:VIT_TINY",
        meaning=RANDOM_WEIGHTS,
    ),
]
_MODELS: dict[str, ModelEntry] = {entry.name: entry for entry in _ENTRIES}


def available_models() -> list[str]:
    """Every name the course knows: the hub models in lecture order, then the offline models."""
    return list(_MODELS)


def lookup(name: str) -> ModelEntry:
    """The table's entry for `name`; KeyError naming every known model if there is none."""
    if name not in _MODELS:
        raise KeyError(f"'{name}' 모델은 강의에 없습니다. 강의의 모델: {', '.join(_MODELS)}")
    return _MODELS[name]


def hub_models() -> tuple[str, ...]:
    """The hub ids of the lectures' models, in lecture order: what `python -m mmembed download` fetches."""
    return tuple(entry.hub_id for entry in _ENTRIES if not entry.offline)


def offline_models() -> tuple[str, ...]:
    """The names of the offline models ("mini", "tiny" and the stand-ins)."""
    return tuple(entry.name for entry in _ENTRIES if entry.offline)


def stand_in_for(name: str) -> str | None:
    """The offline model that replaces the hub model `name` when the hub is not used; None if it has none."""
    return _MODELS[name].stand_in if name in _MODELS else None
