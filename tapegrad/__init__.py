"""tapegrad: automatic differentiation with the PyTorch, TensorFlow and JAX idioms on one engine.

>>> import tapegrad as tg
>>> x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (x ** 2).sum().backward()
>>> x.grad
tensor([2., 4., 6.])
"""

from . import backends  # noqa: F401  (installs the numpy implementations)
from . import dtype as _dtype
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .device import Device, device
from .dtype import (
    DType,
    bfloat16,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    promote as promote_types,
    set_default_dtype,
    uint8,
)
from .errors import BackendError, GradError, TapegradError, TraceError
from .ops import *  # noqa: F401,F403
from .tensor import Tensor
from . import autograd  # noqa: E402
from . import nn  # noqa: E402

bool = _dtype.bool_  # noqa: A001  (tg.bool, as torch.bool)
float = float32  # noqa: A001
double = float64
half = float16
long = int64
int = int32  # noqa: A001
short = int16
dtype = DType


def result_type(*operands):
    return _dtype.result_type(*operands)


def is_tensor(x) -> bool:
    return isinstance(x, Tensor)


def numel(x) -> int:
    return x.numel()


__version__ = "0.1.0"
