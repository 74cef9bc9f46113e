"""tg.nn.utils: PyTorch's in-place gradient clipping over `.grad` (clip_grad_norm_, clip_grad_value_).

Built from ops/ under no_grad; tf/clip.py holds TensorFlow's out-of-place forms and the shared
non-finite warning.
"""

from __future__ import annotations

import math

from ..autograd.grad_mode import no_grad
from ..errors import GradError
from ..tensor import Tensor


def _grads(parameters) -> list:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p.grad for p in params if p.grad is not None]


def _norm(g, norm_type):
    a = g.abs()
    if norm_type == math.inf:
        return a.amax() if g.numel() else a.sum()
    return (a**norm_type).sum() ** (1.0 / norm_type) if norm_type != 2.0 else (g * g).sum().sqrt()


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None) -> Tensor:
    """Scale the `.grad` of parameters in place so that their total norm is at most max_norm.

    Args:
        parameters: a tensor or an iterable of tensors; those without `.grad` are skipped.
        max_norm: the largest total norm allowed.
        norm_type: p of the p-norm (2.0 by default; float("inf") or "inf" for the largest magnitude).
        error_if_nonfinite: raise instead of scaling when the total norm is NaN or infinite.
    Returns:
        the total norm of the gradients before clipping (a 0-d tensor).

    >>> import tapegrad as tg
    >>> w = tg.tensor([3.0, 4.0], requires_grad=True)
    >>> (w * w).sum().backward()        # w.grad = [6, 8], norm 10
    >>> tg.nn.utils.clip_grad_norm_([w], 5.0)
    tensor(10.)
    """
    from ..ops import stack, tensor

    norm_type = math.inf if norm_type in ("inf", float("inf")) else float(norm_type)
    grads = _grads(parameters)
    if not grads:
        return tensor(0.0)
    with no_grad():
        norms = stack([_norm(g, norm_type).to(grads[0].dtype) for g in grads])
        total = _norm(norms, norm_type)
        if not math.isfinite(float(total)):
            if error_if_nonfinite:
                raise GradError(
                    f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {float(total)}, so "
                    "they cannot be clipped. Find the op that made the NaN by running the step under "
                    "tg.autograd.detect_anomaly() (an Inf: tg.func.debug_infs(True)), or pass error_if_nonfinite=False "
                    "to scale by the non-finite norm anyway"
                )
            from ..tf.clip import warn_nonfinite

            warn_nonfinite("clip_grad_norm_", total)
        coef = (max_norm / (total + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef.to(g.dtype))
    return total


def clip_grad_value_(parameters, clip_value, foreach=None) -> None:
    """Clamp the `.grad` of parameters in place into [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            g.clamp_(-clip_value, clip_value)
