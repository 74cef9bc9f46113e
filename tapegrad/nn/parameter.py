"""Parameter: a leaf tensor that requires grad and belongs to a Module (tg.Variable is the same kind)."""

from __future__ import annotations

from ..ops import elementwise as _E
from ..tensor import Tensor


class Parameter(Tensor):
    """A Tensor that a Module registers as a parameter; requires grad by default.

    >>> import tapegrad as tg
    >>> p = tg.nn.Parameter(tg.zeros(3))
    >>> p.requires_grad, p.is_leaf
    (True, True)
    """

    def __init__(self, data=None, requires_grad: bool = True):
        from ..ops.creation import tensor

        src = data if isinstance(data, Tensor) else tensor([] if data is None else data)
        self._data, self.dtype, self._version = src._data, src.dtype, src._version
        if requires_grad:
            self.requires_grad_()

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        # Tensor.__deepcopy__ returns a plain Tensor; a copied Module must keep Parameters (and subclasses)
        plain = super().__deepcopy__(memo)
        out = object.__new__(type(self))
        out.__dict__.update({k: v for k, v in self.__dict__.items() if k not in ("_hooks", "_post_accumulate_hooks")})
        out._data, out._version, out.grad = plain._data, plain._version, plain.grad
        memo[id(self)] = out
        return out


_E._PLAIN.add(Parameter)  # same fast paths as Tensor in elementwise ops
