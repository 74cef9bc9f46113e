"""torch.autograd.forward_ad: dual tensors inside a `dual_level`, on the jvp rules of func/forward.py.

>>> import tapegrad as tg
>>> import tapegrad.autograd.forward_ad as fwAD
>>> with fwAD.dual_level():
...     x = fwAD.make_dual(tg.tensor([1.0, 2.0]), tg.tensor([1.0, 0.0]))
...     fwAD.unpack_dual((x * x).sum()).tangent
tensor(2.)
"""

from __future__ import annotations

from collections import namedtuple

from ..errors import TapegradError

UnpackedDualTensor = namedtuple("UnpackedDualTensor", ["primal", "tangent"])
_LEVELS = []  # the ForwardMode of each entered dual level, innermost last


def enter_dual_level() -> int:
    from ..func.forward import ForwardMode  # func is the layer above autograd: imported on use

    fw = ForwardMode().__enter__()
    _LEVELS.append(fw)
    return len(_LEVELS) - 1


def exit_dual_level(*, level=None) -> None:
    if not _LEVELS or level not in (None, len(_LEVELS) - 1):
        raise TapegradError(f"exit_dual_level: level {level} is not the innermost active dual level")
    _LEVELS.pop().__exit__(None, None, None)


class dual_level:
    """Context in which make_dual gives tensors tangents; they are forgotten on exit (as in PyTorch)."""

    def __enter__(self) -> int:
        self.level = enter_dual_level()
        return self.level

    def __exit__(self, *exc):
        exit_dual_level(level=self.level)
        return False


def _level(op, level):
    if not _LEVELS:
        raise TapegradError(f"{op}: no dual level is active; call it inside `with forward_ad.dual_level():`")
    return _LEVELS[-1 if level is None else level]


def make_dual(tensor, tangent, *, level=None):
    """tensor with the given tangent (same shape and dtype), for this dual level."""
    return _level("make_dual", level).make_dual(tensor, tangent)


def unpack_dual(tensor, *, level=None) -> UnpackedDualTensor:
    """(primal, tangent) of tensor at the level; tangent is None where it carries none."""
    if not _LEVELS:
        return UnpackedDualTensor(tensor, None)
    fw = _level("unpack_dual", level)
    if getattr(tensor, "_interp", None) is not fw:
        return UnpackedDualTensor(tensor, None)
    return UnpackedDualTensor(fw.primal(tensor), fw.tangent(tensor, zeros=False))
