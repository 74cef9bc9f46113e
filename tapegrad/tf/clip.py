"""Gradient clipping with TensorFlow's names: clip_by_value, clip_by_norm, clip_by_global_norm.

Composites of ops/ (so they are differentiable themselves); nn/utils.py holds PyTorch's in-place
forms and shares the non-finite warning below.
"""

from __future__ import annotations

import math
import warnings

from ..tensor import Tensor
from .names import convert_to_tensor

_WARNED: set = set()  # which functions already warned about a non-finite norm (warn once per process)


def warn_nonfinite(where: str, norm) -> None:
    """Warn, once per function, that a norm used for clipping is NaN or infinite."""
    if where in _WARNED:
        return
    _WARNED.add(where)
    warnings.warn(
        f"{where}: the norm of the gradients is {float(norm)}, so scaling by it makes every gradient NaN (or zero). "
        "A NaN or Inf gradient usually comes from the loss; run the step under tg.autograd.detect_anomaly() or "
        "tg.func.debug_nans(True) (for Inf: tg.func.debug_infs(True)) to have the op that made it named. Skip the "
        "update when the returned norm is not finite. (This warning is shown once.)",
        RuntimeWarning,
        stacklevel=3,
    )


def clip_by_value(t, clip_value_min, clip_value_max, name=None) -> Tensor:
    """t with every element clamped into [clip_value_min, clip_value_max]; the gradient passes inside.

    >>> import tapegrad as tg
    >>> tg.clip_by_value(tg.constant([-1.0, 0.05, 2.0]), -0.1, 0.1)
    tensor([-0.1 ,  0.05,  0.1 ])
    """
    t = convert_to_tensor(t)
    lo, hi = clip_value_min, clip_value_max
    if not isinstance(lo, Tensor) and not isinstance(hi, Tensor) and lo > hi:
        raise ValueError(f"clip_by_value: clip_value_min ({lo}) is greater than clip_value_max ({hi})")
    return t.clamp(lo, hi)


def _sum_squares(t, axes=None, keepdims=False):
    from .names import reduce_sum

    return reduce_sum(t * t, axes, keepdims)


def clip_by_norm(t, clip_norm, axes=None, name=None) -> Tensor:
    """t rescaled so that its L2 norm (over axes, or all elements) is at most clip_norm.

    A zero norm leaves t unchanged, with a finite gradient (the square root is never taken of 0).
    """
    t = convert_to_tensor(t)
    sq = _sum_squares(t, axes, keepdims=True)
    positive = sq > 0
    # NOTE: sqrt'(0) is infinite; take the root of 1 where the sum is 0 so that the gradient stays finite
    norm = sq.where(positive, sq.ones_like()).sqrt().where(positive, sq)
    clip = clip_norm if isinstance(clip_norm, Tensor) else convert_to_tensor(clip_norm, dtype=t.dtype)
    return t * clip / _maximum(norm, clip)


def _maximum(a, b):
    from ..ops import maximum

    return maximum(a, b)


def global_norm(t_list, name=None) -> Tensor:
    """sqrt(sum of squares of every element of every tensor in t_list); None entries are skipped."""
    present = [convert_to_tensor(t) for t in t_list if t is not None]
    if not present:
        from ..ops import tensor

        return tensor(0.0)
    total = _sum_squares(present[0])
    for t in present[1:]:
        total = total + _sum_squares(t)
    return total.sqrt()  # sqrt of an integer sum is a float, as the clipping below needs


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    """Scale every tensor of t_list by clip_norm / max(global_norm, clip_norm); returns (clipped, global_norm).

    None entries pass through as None. When the global norm is NaN or infinite the results are NaN, as
    in TensorFlow, but tapegrad warns (once) instead of doing it silently.
    """
    t_list = list(t_list)
    norm = global_norm(t_list) if use_norm is None else convert_to_tensor(use_norm)
    clip = convert_to_tensor(clip_norm, dtype=None if isinstance(clip_norm, Tensor) else norm.dtype)
    scale = clip / _maximum(norm, clip)
    if not math.isfinite(float(norm)):
        warn_nonfinite("clip_by_global_norm", norm)
        scale = scale * float("nan")  # TensorFlow's result: every entry NaN (an infinite norm would give 0)
    clipped = []
    for t in t_list:
        t = None if t is None else convert_to_tensor(t)
        clipped.append(None if t is None else t * scale.to(t.dtype))
    return clipped, norm
