"""Adam and AdamW (with amsgrad and maximize), PyTorch's update rule and bias correction."""

from __future__ import annotations

from ..dtype import float64
from ..ops.creation import tensor, zeros_like
from ..ops.elementwise import maximum
from .optimizer import Optimizer
from .sgd import _check_hyper


def _check_betas(name, betas, eps):
    _check_hyper(name, eps=eps)
    if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
        raise ValueError(f"{name}: betas must be two numbers in [0, 1), got {betas!r}")


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015); weight_decay adds weight_decay * p to the gradient (L2, not decoupled).

    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
    With amsgrad, v is replaced by its running maximum in the denominator.
    """

    _decoupled = False

    def __init__(self, params=None, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, *,
                 maximize=False):
        name = type(self).__name__
        _check_hyper(name, lr=lr, weight_decay=weight_decay)
        _check_betas(name, betas, eps)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    def _update(self, p, grad, state, group):
        if not state:
            _init_state(state, p, group["amsgrad"])
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        if group["maximize"]:
            grad = -grad
        if wd != 0 and self._decoupled:
            p.mul_(1 - lr * wd)
        elif wd != 0:
            grad = grad.add(p, alpha=wd)
        state["step"].add_(1)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        if group["amsgrad"]:
            state["max_exp_avg_sq"].copy_(maximum(state["max_exp_avg_sq"], exp_avg_sq))
            exp_avg_sq = state["max_exp_avg_sq"]
        step_size, bias_correction2_sqrt = _bias_corrections(state["step"], lr, beta1, beta2, p.dtype)
        denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(group["eps"])
        p.addcdiv_(exp_avg, denom, value=-step_size)


def _bias_corrections(step, lr, beta1, beta2, dtype):
    """lr / (1 - beta1^t) and sqrt(1 - beta2^t), computed in float64 like PyTorch's Python floats, as tensors:
    reading the step with .item() would stop a tracer from capturing the step."""
    t = step.to(float64)
    return (lr / (1 - beta1**t)).to(dtype), ((1 - beta2**t) ** 0.5).to(dtype)


def _init_state(state, p, amsgrad):
    state["step"] = tensor(0.0)
    state["exp_avg"] = zeros_like(p)
    state["exp_avg_sq"] = zeros_like(p)
    if amsgrad:
        state["max_exp_avg_sq"] = zeros_like(p)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): p *= 1 - lr * weight_decay before the step."""

    _decoupled = True

    def __init__(self, params=None, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
