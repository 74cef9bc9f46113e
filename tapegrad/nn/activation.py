"""The activations as Modules (ReLU, GELU, Softmax, PReLU, ...): each one stores its constructor arguments
and calls the function of the same name in nn.functional.
"""

from __future__ import annotations

from ..ops.creation import full
from ..ops.elementwise import sigmoid, tanh
from . import functional as F
from .module import Module
from .parameter import Parameter


def _activation(name, fn, params=(), doc=None):
    """A Module class whose forward is fn(input, **its constructor arguments); params: ((name, default), ...)."""

    def __init__(self, *args, **kwargs):
        Module.__init__(self)
        if len(args) > len(params):
            raise TypeError(f"{name} takes at most {len(params)} arguments ({[p for p, _ in params]}), got {len(args)}")
        values = dict(params)
        values.update(zip((p for p, _ in params), args))
        unknown = set(kwargs) - set(values)
        if unknown:
            raise TypeError(f"{name}: unexpected keyword arguments {sorted(unknown)}; it takes {[p for p, _ in params]}")
        values.update(kwargs)
        for k, v in values.items():
            setattr(self, k, v)

    def forward(self, input):
        return fn(input, **{k: getattr(self, k) for k, _ in params})

    def extra_repr(self):
        return ", ".join(f"{k}={getattr(self, k)}" for k, _ in params if k != "inplace" or getattr(self, k))

    doc = doc or f"Applies nn.functional.{getattr(fn, '__name__', name.lower())} elementwise."
    return type(name, (Module,), dict(__init__=__init__, forward=forward, extra_repr=extra_repr, __doc__=doc,
                                      __module__=__name__))


_INPLACE = (("inplace", False),)
ReLU = _activation("ReLU", F.relu, _INPLACE, "max(x, 0) elementwise.")
ReLU6 = _activation("ReLU6", F.relu6, _INPLACE)
LeakyReLU = _activation("LeakyReLU", F.leaky_relu, (("negative_slope", 0.01),) + _INPLACE)
ELU = _activation("ELU", F.elu, (("alpha", 1.0),) + _INPLACE)
CELU = _activation("CELU", F.celu, (("alpha", 1.0),) + _INPLACE)
SELU = _activation("SELU", F.selu, _INPLACE)
GELU = _activation("GELU", F.gelu, (("approximate", "none"),))
SiLU = _activation("SiLU", F.silu, _INPLACE)
Mish = _activation("Mish", F.mish, _INPLACE)
Softplus = _activation("Softplus", F.softplus, (("beta", 1.0), ("threshold", 20.0)))
Hardtanh = _activation("Hardtanh", F.hardtanh, (("min_val", -1.0), ("max_val", 1.0)) + _INPLACE)
Hardsigmoid = _activation("Hardsigmoid", F.hardsigmoid, _INPLACE)
Hardswish = _activation("Hardswish", F.hardswish, _INPLACE)
LogSigmoid = _activation("LogSigmoid", F.logsigmoid)
Softsign = _activation("Softsign", F.softsign)
Tanhshrink = _activation("Tanhshrink", F.tanhshrink)
Threshold = _activation("Threshold", F.threshold, (("threshold", None), ("value", None)) + _INPLACE)
GLU = _activation("GLU", F.glu, (("dim", -1),))
Sigmoid = _activation("Sigmoid", lambda input: sigmoid(input), (), "1 / (1 + exp(-x)) elementwise.")
Tanh = _activation("Tanh", lambda input: tanh(input), (), "tanh(x) elementwise.")
Softmax = _activation("Softmax", F.softmax, (("dim", None),))
Softmin = _activation("Softmin", F.softmin, (("dim", None),))
LogSoftmax = _activation("LogSoftmax", F.log_softmax, (("dim", None),))


class PReLU(Module):
    """max(x, 0) + a * min(x, 0) with a learnt slope a (one, or one per channel), initialised to `init`."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(full((num_parameters,), float(init), dtype=dtype))

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


Hardshrink = _activation("Hardshrink", F.hardshrink, (("lambd", 0.5),), "x where |x| > lambd, else 0.")
Softshrink = _activation("Softshrink", F.softshrink, (("lambd", 0.5),),
                         "x -+ lambd outside [-lambd, lambd], 0 inside.")


class RReLU(Module):
    """Leaky ReLU with a random slope from U(lower, upper) per element in training, their mean in eval."""

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input):
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}"


class Softmax2d(Module):
    """Softmax over the channels (dim -3) of (N, C, H, W) or (C, H, W)."""

    def forward(self, input):
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expects a 3-D or 4-D input, got shape {tuple(input.shape)}")
        return F.softmax(input, -3)


__all__ = [name for name, v in list(globals().items()) if isinstance(v, type) and issubclass(v, Module)
           and v is not Module]
