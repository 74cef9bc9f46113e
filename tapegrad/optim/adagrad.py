"""Adagrad (Duchi et al., 2011), PyTorch's update rule with lr_decay."""

from __future__ import annotations

from ..dtype import float64
from ..ops.creation import full_like, tensor
from .optimizer import Optimizer
from .sgd import _check_hyper


class Adagrad(Optimizer):
    """s += g^2;  p -= lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)."""

    def __init__(self, params=None, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                 eps=1e-10, *, maximize=False):
        _check_hyper("Adagrad", lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps,
                     initial_accumulator_value=initial_accumulator_value)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps,
                                      initial_accumulator_value=initial_accumulator_value, maximize=maximize))

    def _update(self, p, grad, state, group):
        if not state:
            state["step"] = tensor(0.0)
            state["sum"] = full_like(p, group["initial_accumulator_value"])
        state["step"].add_(1)
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])
        # as a float64 tensor, not .item(): a tracer can then capture the step count
        clr = (group["lr"] / (1 + (state["step"].to(float64) - 1) * group["lr_decay"])).to(p.dtype)
        state["sum"].addcmul_(grad, grad, value=1)
        std = state["sum"].sqrt().add_(group["eps"])
        p.addcdiv_(grad, std, value=-clr)
