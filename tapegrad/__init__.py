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
    uint16,
    uint32,
    uint64,
)
from .errors import AnomalyError, BackendError, GradError, TapegradError, TraceError
from .ops import *  # noqa: F401,F403
from .tensor import Tensor
from . import autograd  # noqa: E402
# JAX's idiom (issue 5): tg.func holds it; tg.grad is the functional transform (tg.autograd.grad is PyTorch's)
from . import func  # noqa: E402
from .func import grad, jvp, tree_util, value_and_grad, vjp, vmap  # noqa: E402
from . import nn  # noqa: E402
from . import optim  # noqa: E402
from . import data  # noqa: E402
from . import cuda, utils  # noqa: E402  (tg.cuda answers that there is no GPU; tg.utils.data is tg.data)
from . import distributed  # noqa: E402  (issue 19: data parallelism over MPI)
from .serialization import load, save  # noqa: E402
# TensorFlow's idiom (issue 3): tg.tf holds all of it; here only names that mean the same in PyTorch or
# that PyTorch lacks (tg.transpose stays PyTorch's; tg.tf.transpose is TensorFlow's; see docs/three-idioms.md)
from . import tf  # noqa: E402
from .tf import autodiff, math  # noqa: E402,F811  (tg.math replaces the stdlib module ops leaked)
# tg.random: TensorFlow's random ops and JAX's explicit keys side by side (random.py)
from . import random  # noqa: E402
from .tf import (  # noqa: E402
    GradientTape,
    UnconnectedGradients,
    Variable,
    clip_by_global_norm,
    clip_by_norm,
    clip_by_value,
    concat,
    cond,
    constant,
    convert_to_tensor,
    custom_gradient,
    expand_dims,
    foldl,
    foldr,
    global_norm,
    map_fn,
    reduce_all,
    reduce_any,
    reduce_logsumexp,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_prod,
    reduce_std,
    reduce_sum,
    reduce_variance,
    scan,
    stop_gradient,
    switch_case,
    while_loop,
)

# graph mode (issue 4): one tracer behind tg.function and tg.jit; tg.lax is JAX's control flow
from .trace import TensorSpec, compile, function, jit  # noqa: E402,A004  (tg.compile is torch.compile's)
from . import lax  # noqa: E402
# JAX's numpy (issue 13): `import tapegrad.numpy as jnp`; importing it here also gives Tensor .at and .astype
from . import numpy  # noqa: E402
from . import viz  # noqa: E402
# torch.special and torch.linalg: imported by name, since `from .ops import *` leaked the ops modules of those
# names and `from . import special` would take the attribute it finds instead of importing the submodule
import importlib as _importlib  # noqa: E402

special = _importlib.import_module(__name__ + ".special")
linalg = _importlib.import_module(__name__ + ".linalg")
from .torch_extras import *  # noqa: E402,F401,F403  (the rest of torch's top-level names)

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
