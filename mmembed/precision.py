"""Which number format the model computes in: bfloat16 where the hardware does it natively, float32 elsewhere.

bfloat16 keeps float32's range with 8 bits of mantissa instead of 24. Under `torch.autocast` the matrix
products run in bf16 while the weights stay float32; the embeddings lose nothing that matters for search
(every row's cosine to fp32 is above 0.999) and the forward pass is 2-4x faster on a CPU with bf16 instructions
(AVX512-BF16, or AMX's tile units) and on CUDA. Without them bf16 is emulated and *slower* than fp32, so "auto"
picks it only where it is native.

The choice: the `precision` argument, else the environment variable MMEMBED_PRECISION, else "auto". Each public
function that takes it (embed_images, embed_texts, embed_folder, embed_paths, build_index) resolves it once, where
it is called, and hands the resolved `Precision` down; the CPU's flags are read once per process.
"""

import functools
import os
import platform
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Literal, get_args

import torch

from .choices import PRECISIONS  # what a caller may ask for: a Precision, or "auto"

Precision = Literal["fp32", "bf16"]  # a precision resolved for a device: what the code below a public function takes
PRECISION_ENV = "MMEMBED_PRECISION"
# /proc/cpuinfo flags of native bf16 arithmetic (the kernel lists only what it has enabled).
CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")
PROC_CPUINFO = Path("/proc/cpuinfo")


@functools.cache  # the CPU does not change while Python runs: its flags are read once
def cpu_bf16_features() -> tuple[str, ...]:
    """The CPU's native bf16 instruction sets, e.g. ("avx512_bf16",); () when bf16 would be emulated.

    On Linux the kernel's own flags decide (AMX also needs the kernel to enable it). Elsewhere PyTorch's cpuinfo
    is asked; it knows x86 only, so Apple and other ARM CPUs count as without (fp32 there).
    """
    if PROC_CPUINFO.is_file():
        try:
            flags = set(PROC_CPUINFO.read_text(errors="replace").split())
        except OSError:
            flags = set()
        if flags:
            return tuple(flag for flag in CPU_BF16_FLAGS if flag in flags)
    found = []
    if _torch_cpu_says("_is_amx_tile_supported"):  # every AMX CPU so far has AMX-BF16 with its tiles
        found.append("amx_bf16")
    if _torch_cpu_says("_is_avx512_bf16_supported"):
        found.append("avx512_bf16")
    return tuple(found)


def _torch_cpu_says(check: str) -> bool:
    probe = getattr(torch.cpu, check, None)  # private helpers of torch.cpu; absent in some builds
    return bool(probe and probe())


def cuda_bf16() -> bool:
    """True when this CUDA GPU computes bf16 natively (Ampere and newer), not by emulation."""
    try:
        return torch.cuda.is_bf16_supported(including_emulation=False)
    except TypeError:  # older torch: no emulation switch
        return torch.cuda.is_bf16_supported()


def native_bf16(device: str | torch.device) -> bool:
    """Does `device` compute in bf16 natively?"""
    device = torch.device(device)
    if device.type == "cuda":
        return cuda_bf16()
    if device.type == "cpu":
        return bool(cpu_bf16_features())
    return False


def resolve_precision(precision: str | None, device: str | torch.device) -> Precision:
    """ "fp32" or "bf16": what `precision` (None: MMEMBED_PRECISION, else "auto") means on `device`.

    A resolved precision resolves to itself, so passing one on costs nothing."""
    chosen = precision if precision is not None else os.environ.get(PRECISION_ENV, "").strip().lower() or "auto"
    if chosen not in PRECISIONS:
        source = f"{PRECISION_ENV}={chosen!r}" if precision is None else f"precision={chosen!r}"
        raise ValueError(f"{source}: 정밀도는 {', '.join(PRECISIONS)} 중 하나여야 합니다.")
    if chosen == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return chosen


def autocast(precision: Precision, device: str | torch.device) -> AbstractContextManager:
    """The context to run a forward pass in: bf16 autocast, or a no-op for fp32. `precision` is resolved."""
    if precision not in get_args(Precision):  # "auto" here would silently mean fp32
        raise ValueError(f"autocast needs fp32 or bf16 (see resolve_precision), got {precision!r}.")
    device = torch.device(device)
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def describe_hardware() -> dict:
    """What decides the speed: cores, PyTorch's CPU capability, native bf16, GPU. For benchmarks and `check`."""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpu_bf16": cpu_bf16_features(),
        "gpu": gpu,
        "gpu_bf16": cuda_bf16() if gpu else None,
        "torch": torch.__version__,
    }


def _cpu_name() -> str:
    if PROC_CPUINFO.is_file():
        for line in PROC_CPUINFO.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()
