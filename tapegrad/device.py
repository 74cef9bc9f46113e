"""Devices. tapegrad runs on the CPU today; `device=` is accepted everywhere for PyTorch compatibility."""

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
    """Checks a device argument: only 'cpu' exists for now (CUDA comes with the cuda backend)."""
    if spec is None or (isinstance(spec, Device) and spec.type == "cpu"):
        return CPU
    name = str(spec).split(":")[0]
    if name == "cpu":
        return CPU
    raise ValueError(f"device {spec!r} is not available: tapegrad runs on 'cpu' in this build")
