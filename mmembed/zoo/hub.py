"""The Hugging Face Hub: is it reachable, is a model in the local cache, and prefetching the course's models."""

import os
from functools import lru_cache
from pathlib import Path

from .registry import hub_models

COURSE_MODELS = hub_models()  # every hub model a lecture uses, in lecture order
# Weight formats transformers with PyTorch never reads; skipping them keeps a download to one copy.
UNUSED_WEIGHT_PATTERNS = ["*.h5", "*.msgpack", "*.onnx", "*.ot", "*.tflite", "flax_model*", "tf_model*", "rust_model*"]


class HubUnreachableError(OSError):
    """A hub model is needed that is not in the local cache, and the hub cannot be reached (or, with
    MMEMBED_OFFLINE=1, may not be asked)."""


# One switch for every lecture: set it and each lecture's hub model or dataset is replaced by its offline stand-in.
OFFLINE_ENV = "MMEMBED_OFFLINE"


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def offline_requested() -> bool:
    """True when the user asked for the course's offline models and data (MMEMBED_OFFLINE=1)."""
    return _truthy(os.environ.get(OFFLINE_ENV))


def hub_offline_mode() -> bool:
    return _truthy(os.environ.get("HF_HUB_OFFLINE"))


@lru_cache(maxsize=1)
def hub_reachable(timeout: float = 3.0) -> bool:
    """One quick request to the hub (proxies honoured); huggingface_hub's own retries take ~30 s to give up."""
    if hub_offline_mode():
        return False
    from huggingface_hub import constants, get_session

    try:
        get_session().head(constants.ENDPOINT, timeout=timeout)
    except Exception:
        return False
    return True


def cached_snapshot(hub_id: str) -> Path | None:
    """The local Hugging Face cache's folder of `hub_id` if it holds a config and weights, else None (no network).

    HF_HUB_CACHE is read at each call (other cache settings when huggingface_hub is imported).
    """
    from huggingface_hub import try_to_load_from_cache

    try:
        config = try_to_load_from_cache(hub_id, "config.json", cache_dir=os.environ.get("HF_HUB_CACHE") or None)
    except ValueError:  # not a valid repo id
        return None
    if not isinstance(config, str):  # None (never fetched) or a "known missing" marker
        return None
    folder = Path(config).parent
    weights = ("*.safetensors", "pytorch_model*.bin", "*.safetensors.index.json")
    return folder if any(next(folder.glob(pattern), None) for pattern in weights) else None


def ignore_patterns_for(repo_files: list[str]) -> list[str]:
    """Download safetensors when the repo has them, else the PyTorch .bin files; never both."""
    patterns = list(UNUSED_WEIGHT_PATTERNS)
    if any(name.endswith(".safetensors") for name in repo_files):
        patterns.append("*.bin")
    return patterns


def download(models: tuple[str, ...] = COURSE_MODELS) -> list[str]:
    """Fetch each model into the Hugging Face cache, where `from_pretrained` finds it later without internet."""
    from huggingface_hub import HfApi, snapshot_download

    if not hub_reachable():
        raise HubUnreachableError("Hugging Face Hub에 연결할 수 없어서 지금은 아무것도 내려받을 수 없습니다.")
    folders = []
    for repo_id in models:
        repo_files = HfApi().list_repo_files(repo_id)
        folders.append(snapshot_download(repo_id, ignore_patterns=ignore_patterns_for(repo_files)))
    return folders
