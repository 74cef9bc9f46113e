"""Devices. Tensors live on the CPU in this build; `device=` is accepted everywhere for PyTorch compatibility, and
"cuda" is refused with what this machine lacks (tapegrad/cuda.py)."""

from __future__ import annotations


class Device:
    def __init__(self, kind: str):
        self.type = kind

    def __repr__(self) -> str:
        return f"device(type='{self.type}')"

    def __eq__(self, other) -> bool:
        return str(other) in (self.type, repr(self)) or (isinstance(other, Device) and other.type == self.type)

    def __hash__(self):
        return hash(self.type)

    def __str__(self) -> str:
        return self.type


CPU = Device("cpu")


def device(spec=None) -> Device:
    """Checks a device argument: only 'cpu' holds tensors in this build."""
    if spec is None or (isinstance(spec, Device) and spec.type == "cpu"):
        return CPU
    name = str(spec).split(":")[0]
    if name == "cpu":
        return CPU
    if name == "cuda":
        from . import cuda

        raise RuntimeError(f"device {str(spec)!r} is not available: {cuda.why_unavailable()}")
    raise ValueError(f"device {spec!r} is not available: tapegrad runs on 'cpu' in this build")
