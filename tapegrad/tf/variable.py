"""tg.Variable: TensorFlow's mutable tensor, the same kind of object as tg.nn.Parameter.

Depends on nn/parameter.py and ops/. A Variable notes every read of its data while a
GradientTape (tape.py) or a custom_gradient function (custom_gradient.py) listens, which is how
`watch_accessed_variables` and custom_gradient's `variables=` learn what was used.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..autograd.grad_mode import no_grad
from ..nn.parameter import Parameter
from ..ops import elementwise as _E
from ..tensor import Tensor

# Listeners for variable reads: dicts {id(variable): variable} pushed by active tapes and by
# custom_gradient while its function runs. Empty almost always, so a read costs one truth test.
READERS: list = []
_CREATED = itertools.count()  # creation order, for GradientTape.watched_variables()


def listen(reads: dict) -> None:
    READERS.append(reads)


def unlisten(reads: dict) -> None:
    # NOTE: by identity: two empty dicts are equal, so list.remove could drop another listener
    for i, r in enumerate(READERS):
        if r is reads:
            del READERS[i]
            return


class Variable(Parameter):
    """A leaf tensor that can be assigned in place; requires grad when trainable (and floating).

    Args:
        initial_value: a tensor, array, number or nested list (or a callable returning one); copied.
        trainable: whether gradients are computed for it (tapes watch it automatically).
        dtype: converts the initial value to this dtype.
        name: a name for messages and reprs (`v.name` is "name:0", as in TensorFlow).
        shape: checked against the initial value's shape when given.

    >>> import tapegrad as tg
    >>> v = tg.Variable([1.0, 2.0], name="v")
    >>> _ = v.assign_add([1.0, 1.0])
    >>> v.numpy()
    array([2., 3.], dtype=float32)
    """

    def __init__(
        self,
        initial_value=None,
        trainable=True,
        validate_shape=True,
        name=None,
        dtype=None,
        constraint=None,
        shape=None,
    ):
        from .names import constant

        if initial_value is None:
            raise ValueError("Variable: initial_value must be given, e.g. tg.Variable(tg.zeros([2]))")
        from ..trace.tracer import current_tracer

        if callable(initial_value):
            initial_value = initial_value()
        tracer = current_tracer()
        if tracer is not None and isinstance(initial_value, Tensor) and getattr(initial_value._data, "symbolic", False):
            raise TypeError(
                f"tg.Variable{' ' + repr(name) if name else ''}: the initial value is a traced value ({initial_value._data.describe()}) inside "
                f"the traced function {tracer.name!r}; a Variable's initial value must be concrete, because the "
                "Variable outlives the trace. Fix: create the Variable outside the function, or initialize it from "
                "a constant or an initializer (tg.zeros(...)) and assign the traced value to it"
            )
        if isinstance(initial_value, Tensor):
            src = Tensor._make(np.array(initial_value._data, copy=True))
            src = src if dtype is None else src.to(dtype)
        else:
            src = constant(initial_value, dtype=dtype)
        if shape is not None and validate_shape and tuple(shape) != tuple(src.shape):
            raise ValueError(f"Variable: initial value has shape {tuple(src.shape)} but shape={tuple(shape)} was given")
        self._trainable, self._name, self.constraint = bool(trainable), name or "Variable", constraint
        self._uid = next(_CREATED)
        # integer variables are allowed (counters, steps) but have no gradient, as in TensorFlow
        super().__init__(src, requires_grad=bool(trainable) and src.dtype.is_floating_point)
        if tracer is not None:  # first trace only (graph mode: trace/tracer.py Tracer.register_state)
            tracer.register_state(self, f"tg.Variable {self._name!r} of shape {tuple(self.shape)}")

    # NOTE: `_data` is a property on Variable only (plain tensors keep an attribute), so that reads
    # can be noted for tapes; every op reads an input's data through `_data`.
    @property
    def _data(self):
        if READERS and self._trainable:
            for reads in READERS:
                reads[id(self)] = self
        return self._array

    @_data.setter
    def _data(self, array):
        self._array = array

    @property
    def trainable(self) -> bool:
        return self._trainable

    @property
    def name(self) -> str:
        return f"{self._name}:0"

    # *** in-place updates: no_grad semantics, as an optimizer step ***

    def assign(self, value, use_locking=None, name=None, read_value=True):
        """Overwrite the value in place (same shape); returns the variable unless read_value=False."""
        return self._write("assign", self._coerce("assign", value), read_value)

    def assign_add(self, delta, use_locking=None, name=None, read_value=True):
        with no_grad():
            new = self + self._coerce("assign_add", delta)
        return self._write("assign_add", new, read_value)

    def assign_sub(self, delta, use_locking=None, name=None, read_value=True):
        with no_grad():
            new = self - self._coerce("assign_sub", delta)
        return self._write("assign_sub", new, read_value)

    def _coerce(self, op, value) -> Tensor:
        from .names import convert_to_tensor

        t = convert_to_tensor(value, dtype=None if isinstance(value, Tensor) else self.dtype)
        if t.dtype is not self.dtype and t.dtype.category > self.dtype.category:
            raise TypeError(
                f"{op}: cannot write a {t.dtype.name} value into the {self.dtype.name} variable {self._name!r} "
                f"without losing information; cast it first with tg.cast(value, tg.{self.dtype.name})"
            )
        if tuple(t.shape) != tuple(self.shape):
            raise ValueError(
                f"{op}: value of shape {tuple(t.shape)} does not match the shape {tuple(self.shape)} of variable "
                f"{self._name!r}; a variable keeps its shape (create a new tg.Variable to change it)"
            )
        return t

    def _write(self, op, new, read_value):
        with no_grad():
            self._inplace(new.detach(), op)
        return self if read_value else None

    # *** reading ***

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """A copy of the value, as TensorFlow returns (a later assign does not change it)."""
        return np.array(super().numpy(), copy=True)

    def value(self) -> Tensor:
        """The current value as a tensor (differentiable with respect to the variable)."""
        return self.clone()

    read_value = value

    def ref(self):
        """A hashable reference, as TensorFlow's v.ref() (a Variable already hashes by identity)."""
        return self

    def __repr__(self) -> str:
        return f"<tg.Variable '{self.name}' shape={tuple(self.shape)} dtype={self.dtype.name}, numpy={self._array!r}>"

    __str__ = __repr__


_E._PLAIN.add(Variable)  # same fast paths as Tensor in elementwise ops
