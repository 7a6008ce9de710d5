"""`python -m mmembed check`: is this machine ready for the course? One verdict per requirement, which the
command prints as an [OK] or [FAIL] line."""

import importlib.metadata
import sys
from collections.abc import Callable, Iterator

from .paths import CAT_IMAGE, QUIZ_IMAGE_DIR, TOPK_IMAGE_DIR

MIN_PYTHON = (3, 11)


def check_python() -> tuple[bool, str]:
    version = ".".join(map(str, sys.version_info[:3]))
    return sys.version_info >= MIN_PYTHON, f"Python {version} (needs {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer)"


def check_torch() -> tuple[bool, str]:
    import torch

    device = "cuda: " + torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return True, f"PyTorch {torch.__version__} on {device}"


def check_transformers() -> tuple[bool, str]:
    version = importlib.metadata.version("transformers")
    return version.split(".")[0] == "5", f"transformers {version} (the course is written for 5.x)"


def check_kernel() -> tuple[bool, str]:
    from jupyter_client.kernelspec import KernelSpecManager

    kernels = KernelSpecManager().find_kernel_specs()
    return "python3" in kernels, "Jupyter kernel 'python3' " + (
        "found" if "python3" in kernels else "missing: pip install ipykernel"
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
        return False, f"course images: {len(missing)} missing, e.g. {missing[0]}"
    return True, "course images: cat.jpg, 9 in topk-image, 200 in quiz-image"


def check_model() -> tuple[bool, str]:
    """The lecture model: from the hub, from the local cache, or its offline stand-in."""
    from .zoo.hub import cached_snapshot, hub_reachable
    from .zoo.registry import DEFAULT_MODEL, hub_models, lookup

    downloaded = [hub_id for hub_id in hub_models() if cached_snapshot(hub_id) is not None]
    count = f"{len(downloaded)} of the {len(hub_models())} course models downloaded"
    if hub_reachable():
        return True, f"Hugging Face Hub reachable: the lecture's models can be downloaded ({count})"
    if DEFAULT_MODEL in downloaded:
        return True, f"Hub unreachable, but {DEFAULT_MODEL} is already downloaded ({count})"
    stand_in = lookup(DEFAULT_MODEL).stand_in
    try:
        lookup(stand_in).ensure()
    except FileNotFoundError as error:
        return False, f"Hub unreachable and {DEFAULT_MODEL} not downloaded: {error}"
    return True, f"Hub unreachable; the offline model '{stand_in}' will be used ({count}, the others use stand-ins)"


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
