"""tg.cuda: PyTorch's device queries, answered honestly: tapegrad computes on the CPU only.

>>> import tapegrad as tg
>>> tg.cuda.is_available(), tg.cuda.device_count()
(False, 0)
"""

from __future__ import annotations


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def manual_seed(seed: int) -> None:
    """Nothing to seed without a GPU (as torch.cuda.manual_seed does on a machine without one)."""


manual_seed_all = manual_seed


def synchronize(device=None) -> None:
    """Nothing runs asynchronously on the CPU."""


def current_device() -> int:
    raise RuntimeError("tg.cuda.current_device(): tapegrad has no CUDA devices; check tg.cuda.is_available() first")
