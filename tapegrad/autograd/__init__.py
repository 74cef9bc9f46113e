"""The PyTorch-idiom autograd API: backward, grad, Function, gradcheck, explain, grad modes."""

from . import forward_ad
from .api import backward, grad
from .explain import explain
from .function import Function, FunctionCtx, once_differentiable
from .gradcheck import gradcheck, gradgradcheck
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled

__all__ = [
    "backward", "forward_ad", "grad", "explain", "Function", "FunctionCtx", "once_differentiable", "gradcheck", "gradgradcheck", "enable_grad", "inference_mode", "is_grad_enabled", "no_grad", "set_grad_enabled",
]
