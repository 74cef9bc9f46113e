"""tg.autodiff.ForwardAccumulator: TensorFlow's forward-mode front end over tg.func.ForwardMode.

No forward-mode code of its own: tangents are attached to the primals through the JVP interpreter
of tapegrad/func/forward.py, which pushes them through each primitive's jvp rule.
"""

from __future__ import annotations

from ..tensor import Tensor
from . import nest
from .tape import UnconnectedGradients, _unconnected_mode


class ForwardAccumulator:
    """Computes Jacobian-vector products (directional derivatives) alongside the forward pass.

    Args:
        primals: a tensor or a nest of tensors (Variables included) to differentiate with respect to.
        tangents: the direction: a nest of the same structure, one tangent per primal, same shapes.

    >>> import tapegrad as tg
    >>> x = tg.constant([1.0, 2.0])
    >>> with tg.autodiff.ForwardAccumulator(x, tg.constant([1.0, 0.0])) as acc:
    ...     y = tg.reduce_sum(x * x)
    >>> acc.jvp(y)
    tensor(2.)
    """

    def __init__(self, primals, tangents):
        self._primals, self._tangents = nest.flatten(primals), nest.flatten(tangents)
        if len(self._primals) != len(self._tangents) or not nest.same_structure(primals, tangents):
            raise ValueError(
                f"ForwardAccumulator: tangents {nest.describe(tangents)} must have the structure of primals "
                f"{nest.describe(primals)}, one tangent per primal"
            )
        for p in self._primals:
            if not isinstance(p, Tensor) or not p.dtype.is_floating_point:
                what = p.dtype.name if isinstance(p, Tensor) else type(p).__name__
                raise TypeError(
                    f"ForwardAccumulator: primals must be floating tensors, got a {what}; cast integers first with "
                    "tg.cast(x, tg.float32)"
                )
        self._mode = None
        self._results = {}  # id(tensor) -> (tensor, tangent), kept after the context closes

    def __enter__(self):
        from ..func.forward import ForwardMode

        if self._mode is not None:
            raise RuntimeError("ForwardAccumulator: this accumulator is already open; use a new one")
        self._mode = ForwardMode().__enter__()
        try:
            for p, t in zip(self._primals, self._tangents):
                self._mode.attach(p, t)
        except BaseException:
            self._mode.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        # the mode forgets its tangents on exit; keep them so that jvp() works after the block, as in TF
        self._results = {k: (x, t) for k, (x, _, t) in self._mode.attached.items()}
        return self._mode.__exit__(*exc)

    def jvp(self, primals, unconnected_gradients=UnconnectedGradients.NONE):
        """The tangent of each tensor in primals (a tensor or a nest): None, or zeros with "zero",
        for one that does not depend on the watched primals."""
        zero = _unconnected_mode(unconnected_gradients)
        return nest.map_structure(lambda y: self._tangent(y, zero), primals)

    def _tangent(self, y, zero):
        if not isinstance(y, Tensor):
            raise TypeError(f"ForwardAccumulator.jvp: expected tensors, got a {type(y).__name__}")
        if self._mode is not None and self._mode.attached:
            t = self._mode.tangent(y, zeros=False)
        else:
            entry = self._results.get(id(y))
            t = entry[1] if entry is not None and entry[0] is y else None
        return y.zeros_like() if t is None and zero else t
