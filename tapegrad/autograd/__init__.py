"""The PyTorch-idiom autograd API: backward, grad, Function, gradcheck, explain, grad modes, anomaly mode."""

from . import forward_ad
from .anomaly import detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled, set_detect_anomaly
from .api import backward, grad
from .explain import explain
from .function import Function, FunctionCtx, once_differentiable
from .gradcheck import gradcheck, gradgradcheck
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled

__all__ = [
    "backward", "detect_anomaly", "forward_ad", "is_anomaly_check_nan_enabled", "is_anomaly_enabled",
    "set_detect_anomaly", "grad", "explain", "Function", "FunctionCtx", "once_differentiable", "gradcheck", "gradgradcheck", "enable_grad", "inference_mode", "is_grad_enabled", "no_grad", "set_grad_enabled",
]
