"""tg.cuda: PyTorch's device queries, answered honestly.

tapegrad's tensors live in host memory in this build: the GPU is reached through the "cuda" compiler backend
(`tg.jit(f, backend="cuda")`, docs/cuda.md), which needs an NVIDIA driver with a GPU, CuPy and NVRTC. So
`is_available()` is False everywhere (code written as `"cuda" if tg.cuda.is_available() else "cpu"` keeps
working), `device_count()` is the number of GPUs the driver reports, and `why_unavailable()` says what a
`device="cuda"` tensor lacks here, which `device="cuda"`, `.to("cuda")` and `.cuda()` raise.

>>> import tapegrad as tg
>>> tg.cuda.is_available()
False
"""

from __future__ import annotations

import ctypes
import functools

INSTALL = 'pip install "tapegrad[cuda]"'


@functools.lru_cache(maxsize=1)
def _driver() -> tuple:
    """(number of GPUs, None) or (0, what is missing), from the driver library itself (no CuPy needed)."""
    try:
        lib = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return 0, "no NVIDIA driver on this machine (libcuda.so.1 cannot be loaded)"
    status = lib.cuInit(0)
    if status == 100:  # CUDA_ERROR_NO_DEVICE
        return 0, "the NVIDIA driver is installed but finds no GPU"
    if status != 0:
        return 0, f"the NVIDIA driver failed to initialise (CUresult {status}); check `nvidia-smi`"
    count = ctypes.c_int(0)
    if lib.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value == 0:
        return 0, "the NVIDIA driver is installed but finds no GPU"
    return count.value, None


def backend_problem() -> str | None:
    """Why the "cuda" compiler backend cannot run here (every missing piece, with its fix), or None."""
    from .backends.cuda import nvrtc

    try:
        import cupy  # noqa: F401

        packages = []
    except ImportError:
        packages = ["CuPy"]
    if nvrtc.problem() is not None:
        packages.append("NVRTC")
    missing = [_driver()[1]]
    if packages:
        missing.append(f"{' and '.join(packages)} {'is' if len(packages) == 1 else 'are'} not installed ({INSTALL})")
    return "; ".join(m for m in missing if m) or None


def why_unavailable() -> str:
    """What `device="cuda"` lacks on this machine, with the fix."""
    why = backend_problem()
    if why is not None:
        return why
    return ("tapegrad keeps tensors in host memory in this build; compile functions for the GPU with "
            "tg.jit(f, backend='cuda') instead (docs/cuda.md)")


def is_available() -> bool:
    """False: tensors cannot be placed on a GPU in this build (see why_unavailable())."""
    return False


def device_count() -> int:
    """The number of GPUs the NVIDIA driver reports (0 without a driver)."""
    return _driver()[0]


def is_initialized() -> bool:
    return False


def manual_seed(seed: int) -> None:
    """Nothing to seed: no tensor lives on a GPU (as torch.cuda.manual_seed does on a machine without one)."""


manual_seed_all = manual_seed


def synchronize(device=None) -> None:
    """Waits for the GPU work of compiled functions: each call of a backend='cuda' plan already ends synchronised
    (its results are copied to host memory), so there is nothing left to wait for."""


def current_device() -> int:
    raise RuntimeError(f"tg.cuda.current_device(): no CUDA tensors here: {why_unavailable()}")
