"""What a model name loads: `resolve(name)`, and `course_model(hub_id)`, which the lectures wrap their hub ids in.

A lecture loads its model the way the model card says, with the hub id wrapped in `course_model`:

    model = AltCLIPModel.from_pretrained(course_model("BAAI/AltCLIP"))

Online, or with the model in the local Hugging Face cache, that is the real model. With MMEMBED_OFFLINE=1, or
without the hub, it is the model's offline stand-in from `mmembed.zoo.registry` (a real `transformers` model of the
same class, processor included), and one line on stderr says so. `load_clip` resolves its names here too.
"""

from dataclasses import dataclass
from pathlib import Path

from ..notes import say
from . import hub, registry
from .hub import HubUnreachableError

DOWNLOAD_HINT = '실제 모델을 쓰려면 인터넷이 될 때 "python -m mmembed download"를 한 번 실행하세요'


@dataclass(frozen=True)
class Source:
    """What a model name resolved to: `location` for `from_pretrained` (a folder or a hub id), `name` to report."""

    location: str
    name: str


def resolve(name: str, *, may_stand_in: bool = True) -> Source:
    """What `name` loads: an offline model's folder, a local folder, a hub model's cached folder, or its hub id.

    A hub model is replaced by its offline stand-in when MMEMBED_OFFLINE=1 is set (without asking the hub), or
    when it is not downloaded and the hub cannot be reached; a note on stderr says so, once per process. With
    `may_stand_in=False` (a model the user named) it never is, and MMEMBED_OFFLINE does not apply: the model
    comes from the cache or the hub, or a one-sentence HubUnreachableError says how to get it.
    """
    if name in registry.offline_models():
        return Source(str(ensure_standin(name)), name)
    if _looks_like_path(name):
        folder = Path(name).expanduser()
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(f"모델 폴더가 없습니다: {folder} (모델 폴더에는 config.json과 가중치가 있습니다)")
        return Source(str(folder), str(folder))

    stand_in = registry.stand_in_for(name) if may_stand_in else None
    offline = may_stand_in and hub.offline_requested()
    if stand_in is not None and offline:
        return _replaced(name, stand_in, f"{hub.OFFLINE_ENV}=1")
    snapshot = hub.cached_snapshot(name)
    if snapshot is not None:
        return Source(str(snapshot), name)
    if not offline and hub.hub_reachable():
        return Source(name, name)
    if stand_in is None:
        why = f"{hub.OFFLINE_ENV}=1이 켜져 있습니다" if offline else "Hugging Face Hub에 연결할 수 없습니다"
        raise HubUnreachableError(
            f"'{name}' 모델을 내려받지 않았고 {why}: 인터넷이 될 때 "
            f'"python -m mmembed download --models {name}"를 한 번 실행하거나, 오프라인 모델을 이름으로 주세요 '
            '("mini", "tiny" 또는 모델 폴더, load_clip은 MMEMBED_MODEL에서도 읽습니다)'
        )
    return _replaced(name, stand_in, "Hugging Face Hub에 연결할 수 없습니다", hint=DOWNLOAD_HINT)


def course_model(hub_id: str) -> str:
    """What a lecture passes to `from_pretrained` for `hub_id`: the real model, or its offline stand-in's folder.

    In order: MMEMBED_OFFLINE=1 -> the stand-in; the model in the local Hugging Face cache -> that folder;
    the hub reachable -> `hub_id` itself; otherwise -> the stand-in, saying so on stderr. An offline model's
    own name ("altclip-tiny", "mini", ...) gives its folder.
    """
    return resolve(hub_id).location


def ensure_standin(name: str, directory: Path | None = None) -> Path:
    """The folder of an offline model ("mini", "tiny", "altclip-tiny", ...), built on first use."""
    if name not in registry.offline_models():
        raise KeyError(f"'{name}' 오프라인 모델은 없습니다. 오프라인 모델: {', '.join(registry.offline_models())}")
    return registry.lookup(name).ensure(directory)


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~", "\\")) or Path(name).expanduser().is_dir() or Path(name).drive != ""


def _replaced(hub_id: str, stand_in: str, reason: str, hint: str = "") -> Source:
    meaning = registry.lookup(stand_in).meaning
    note = f"{reason}: {hub_id} 대신 오프라인 대체 모델 '{stand_in}'를 씁니다 ({meaning})"
    say(f"{note}. {hint}." if hint else f"{note}.")
    return Source(str(ensure_standin(stand_in)), stand_in)
