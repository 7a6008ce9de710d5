"""`python -m mmembed check`: is this machine ready for the course? One verdict per requirement, which the
command prints as an [OK] or [FAIL] line. Students run it first (`make check`), so the verdicts are in Korean."""

import importlib.metadata
import sys
from collections.abc import Callable, Iterator

from .paths import CAT_IMAGE, QUIZ_IMAGE_DIR, TOPK_IMAGE_DIR

MIN_PYTHON = (3, 11)


def check_python() -> tuple[bool, str]:
    version = ".".join(map(str, sys.version_info[:3]))
    return sys.version_info >= MIN_PYTHON, f"Python {version} ({MIN_PYTHON[0]}.{MIN_PYTHON[1]} 이상이 필요합니다)"


def check_torch() -> tuple[bool, str]:
    import torch

    device = "cuda: " + torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return True, f"PyTorch {torch.__version__}, 장치 {device}"


def check_transformers() -> tuple[bool, str]:
    version = importlib.metadata.version("transformers")
    return version.split(".")[0] == "5", f"transformers {version} (강의는 5.x에 맞춰 썼습니다)"


def check_kernel() -> tuple[bool, str]:
    from jupyter_client.kernelspec import KernelSpecManager

    kernels = KernelSpecManager().find_kernel_specs()
    return "python3" in kernels, "Jupyter 커널 'python3' " + (
        "있음" if "python3" in kernels else "없음: pip install ipykernel로 설치하세요"
    )


def check_images() -> tuple[bool, str]:
    expected = {
        QUIZ_IMAGE_DIR: {f"val_{i}.JPEG" for i in range(200)},
        TOPK_IMAGE_DIR: {f"dog_{i}.png" for i in range(9)},
    }
    missing = [str(CAT_IMAGE)] if not CAT_IMAGE.is_file() else []
    for folder, names in expected.items():
        present = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
        missing += [str(folder / name) for name in sorted(names - present)]
    if missing:
        return False, f"강의 사진: {len(missing)}장이 없습니다 (예: {missing[0]})"
    return True, "강의 사진: cat.jpg, topk-image 9장, quiz-image 200장"


def check_model() -> tuple[bool, str]:
    """The lecture model: from the hub, from the local cache, or its offline stand-in."""
    from .zoo.hub import cached_snapshot, hub_reachable
    from .zoo.registry import DEFAULT_MODEL, hub_models, lookup

    downloaded = [hub_id for hub_id in hub_models() if cached_snapshot(hub_id) is not None]
    count = f"강의의 허브 모델 {len(hub_models())}개 중 {len(downloaded)}개를 내려받아 둠"
    if hub_reachable():
        return True, f"Hugging Face Hub에 연결됨: 강의 모델을 내려받을 수 있습니다 ({count})"
    if DEFAULT_MODEL in downloaded:
        return True, f"Hugging Face Hub에 연결할 수 없지만 {DEFAULT_MODEL} 모델은 이미 내려받았습니다 ({count})"
    stand_in = lookup(DEFAULT_MODEL).stand_in
    try:
        lookup(stand_in).ensure()
    except FileNotFoundError as error:
        return False, f"Hugging Face Hub에 연결할 수 없고 {DEFAULT_MODEL}도 내려받지 않았습니다: {error}"
    return True, (
        f"Hugging Face Hub에 연결할 수 없어 오프라인 모델 '{stand_in}'를 씁니다 ({count}, 나머지는 대체 모델을 씁니다)"
    )


CHECKS: list[Callable[[], tuple[bool, str]]] = [
    check_python,
    check_torch,
    check_transformers,
    check_kernel,
    check_images,
    check_model,
]


def verdicts() -> Iterator[tuple[bool, str]]:
    """(passed, what was found) for each check in turn, as it finishes: the command prints each at once, since
    importing torch and asking the hub take seconds."""
    for check in CHECKS:
        try:
            yield check()
        except Exception as error:  # a broken install is exactly what this command must report, not crash on
            yield False, f"{check.__name__.removeprefix('check_')}: {type(error).__name__}: {error}"
