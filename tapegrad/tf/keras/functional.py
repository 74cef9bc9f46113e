"""The Keras functional API: keras.Input, layers called on symbolic inputs, keras.Model(inputs, outputs).

A `KerasTensor` is a placeholder (shape with None for the batch, dtype) that remembers the layer call that made
it (a `Node`). Calling a layer on KerasTensors builds the layer and runs it once on a small zero batch to learn
its output shapes (Keras does the same with symbolic tensors); nothing else is computed. A functional model
keeps the nodes between its inputs and outputs in execution order and replays them on real tensors, so a
layer called twice (a shared layer) appears in two nodes and owns one set of weights.
"""

from __future__ import annotations

import numpy as np

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from .. import nest
from ..names import convert_to_tensor as _t

_DUMMY_BATCH = 2  # the batch size of the zero batch a layer runs on to find its output shapes


class Node:
    """One call of a layer on KerasTensors: layer(*args, **kwargs) -> outputs (a structure of KerasTensors)."""

    def __init__(self, layer, args, kwargs, outputs):
        self.layer, self.args, self.kwargs, self.outputs = layer, args, kwargs, outputs

    def inputs(self) -> list:
        return [k for k in nest.flatten((self.args, self.kwargs)) if isinstance(k, KerasTensor)]


class KerasTensor:
    """A symbolic input or layer output of a functional model: a shape (None for the batch) and a dtype."""

    def __init__(self, shape, dtype="float32", name=None, node=None):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.name = name
        self.node = node  # the Node that made it; None for a keras.Input

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def _apply(self, fn, *others, name="lambda"):
        from .layers import Lambda

        return Lambda(lambda xs: fn(*xs), name=None)([self, *others])

    # Arithmetic on KerasTensors adds a Lambda layer, as Keras wraps TF ops called on symbolic inputs.
    def __add__(self, other):
        return self._apply(lambda a, b: a + b, other)

    def __radd__(self, other):
        return self._apply(lambda a, b: b + a, other)

    def __sub__(self, other):
        return self._apply(lambda a, b: a - b, other)

    def __rsub__(self, other):
        return self._apply(lambda a, b: b - a, other)

    def __mul__(self, other):
        return self._apply(lambda a, b: a * b, other)

    def __rmul__(self, other):
        return self._apply(lambda a, b: b * a, other)

    def __truediv__(self, other):
        return self._apply(lambda a, b: a / b, other)

    def __neg__(self):
        return self._apply(lambda a: -a)

    def __getitem__(self, key):
        return self._apply(lambda a: a[key])


def Input(shape=None, batch_size=None, dtype=None, name=None, tensor=None, **kwargs):  # noqa: N802  (Keras' name)
    """A symbolic input of a functional model: keras.Input(shape=(features,)) has shape (None, features)."""
    if shape is None:
        raise ValueError("keras.Input: give shape=(...) without the batch dimension, e.g. keras.Input(shape=(4,))")
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return KerasTensor((batch_size,) + shape, dtype or "float32", name=name or _unique("input"))


_COUNTS: dict = {}


def _unique(base: str) -> str:
    n = _COUNTS[base] = _COUNTS.get(base, 0) + 1
    return base if n == 1 else f"{base}_{n - 1}"


def is_symbolic(structure) -> bool:
    return any(isinstance(x, KerasTensor) for x in nest.flatten(structure))


def call_symbolic(layer, inputs, args, kwargs):
    """layer(inputs) on KerasTensors: build it, learn its output shapes from one zero batch, record a Node."""
    concrete = nest.map_structure(_zeros_like, (inputs, args, kwargs))
    with no_grad():
        out = layer._call_concrete(concrete[0], *concrete[1], training=False, **concrete[2])
    node = Node(layer, (inputs,) + tuple(args), dict(kwargs), None)
    node.outputs = nest.map_structure(lambda t: _symbolic_like(t, layer, node), out)
    layer._nodes.append(node)
    return node.outputs


def _zeros_like(x):
    if not isinstance(x, KerasTensor):
        return x
    shape = tuple(_DUMMY_BATCH if n is None else n for n in x.shape)
    return Tensor._make(np.zeros(shape, np.dtype(str(getattr(x.dtype, "name", x.dtype)))))


def _symbolic_like(t, layer, node):
    if not isinstance(t, Tensor):
        return t
    shape = (None,) + tuple(t.shape[1:]) if t.ndim else ()
    return KerasTensor(shape, t.dtype.name, name=layer.name, node=node)


def topological_nodes(inputs, outputs) -> list:
    """The nodes between inputs and outputs, each once, every node after the nodes it reads."""
    known = {id(k) for k in nest.flatten(inputs)}
    order, seen = [], set()

    def visit(k, path):
        if id(k) in known:
            return
        if k.node is None:
            raise ValueError(
                f"keras.Model: output depends on {k.name!r}, a keras.Input that is not among the model's inputs; "
                "pass every Input the outputs are computed from in inputs=[...]"
            )
        if id(k.node) in seen:
            return
        for parent in k.node.inputs():
            visit(parent, path)
        seen.add(id(k.node))
        order.append(k.node)

    for k in nest.flatten(outputs):
        visit(k, ())
    return order


def run(model, inputs, training):
    """The functional model's outputs for real inputs (a structure like model.inputs, or a list in order)."""
    given = nest.flatten(inputs) if not isinstance(inputs, dict) else _by_name(model, inputs)
    wanted = nest.flatten(model._fn_inputs)
    if len(given) != len(wanted):
        raise ValueError(f"{model.name}: the model has {len(wanted)} inputs but was called with {len(given)}")
    values = {id(k): _t(v) for k, v in zip(wanted, given)}

    def read(x):
        return values[id(x)] if isinstance(x, KerasTensor) else x

    for node in model._fn_nodes:
        args = nest.map_structure(read, node.args)
        kwargs = nest.map_structure(read, node.kwargs)
        out = node.layer(*args, training=training, **kwargs)
        for k, v in zip(nest.flatten(node.outputs), nest.flatten(out)):
            values[id(k)] = v
    return nest.map_structure(read, model._fn_outputs)


def _by_name(model, inputs: dict) -> list:
    structure = model._fn_inputs
    if isinstance(structure, dict):
        return [inputs[k] for k in sorted(structure)]  # nest.flatten orders dict values by sorted key
    return [inputs[k.name] for k in nest.flatten(structure)]


def output_names(model) -> list:
    return [k.name for k in nest.flatten(model._fn_outputs)]


def summary_rows(model) -> list:
    """(name (type), output shape, params, connected to) per input and layer, in execution order."""
    rows = [(f"{k.name} (InputLayer)", str(k.shape), 0, "") for k in nest.flatten(model._fn_inputs)]
    shown = set()
    for node in model._fn_nodes:
        layer = node.layer
        shapes = [k.shape for k in nest.flatten(node.outputs)]
        parents = ", ".join(k.name for k in node.inputs())
        if id(layer) in shown:  # a shared layer: one row per call, its weights counted once
            rows.append((f"{layer.name} ({type(layer).__name__})", _shape_text(shapes), 0, parents))
            continue
        shown.add(id(layer))
        rows.append((f"{layer.name} ({type(layer).__name__})", _shape_text(shapes), layer.count_params(), parents))
    return rows


def _shape_text(shapes) -> str:
    return str(shapes[0]) if len(shapes) == 1 else str(shapes)
