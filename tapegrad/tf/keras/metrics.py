"""keras.metrics: the metrics compile(metrics=[...]) accepts, as running means over an epoch."""

from __future__ import annotations

from ... import ops
from ..names import convert_to_tensor as _t
from . import losses as _losses


def sparse_categorical_accuracy(y_true, y_pred):
    labels = _t(y_true).long().reshape(-1)
    return (ops.argmax(_t(y_pred).reshape(labels.shape[0], -1), dim=-1) == labels).float()


def categorical_accuracy(y_true, y_pred):
    return (ops.argmax(_t(y_pred), dim=-1) == ops.argmax(_t(y_true), dim=-1)).float()


def binary_accuracy(y_true, y_pred, threshold=0.5):
    return ((_t(y_pred) > threshold).float() == _t(y_true).float()).float()


class Mean:
    """A running (weighted) mean: update_state(values), result(), reset_state()."""

    def __init__(self, name="mean", fn=None):
        self.name, self.fn = name, fn
        self.reset_state()

    def reset_state(self):
        self.total, self.count = 0.0, 0

    reset_states = reset_state

    def update_state(self, *values, sample_weight=None):
        v = self.fn(*values) if self.fn is not None else _t(values[0])
        self.total += float(ops.sum(v.float()).item())
        self.count += int(v.numel())

    def result(self):
        return _t(self.total / max(self.count, 1))

    def __call__(self, *values):
        self.update_state(*values)
        return self.result()


class SparseCategoricalAccuracy(Mean):
    def __init__(self, name="sparse_categorical_accuracy"):
        super().__init__(name, sparse_categorical_accuracy)


class CategoricalAccuracy(Mean):
    def __init__(self, name="categorical_accuracy"):
        super().__init__(name, categorical_accuracy)


class BinaryAccuracy(Mean):
    def __init__(self, name="binary_accuracy"):
        super().__init__(name, binary_accuracy)


def get(identifier, loss=None):
    """A metric object; "accuracy" picks the kind of accuracy that fits the loss, as Keras does."""
    if isinstance(identifier, Mean):
        return identifier
    if callable(identifier):
        return Mean(getattr(identifier, "__name__", "metric"), identifier)
    if identifier in ("accuracy", "acc"):
        name = getattr(loss, "name", getattr(loss, "__name__", "")) or ""
        fn = (sparse_categorical_accuracy if "sparse" in name else
              binary_accuracy if "binary" in name else categorical_accuracy)
        return Mean("accuracy", fn)
    fn = {"mae": _losses.mean_absolute_error, "mse": _losses.mean_squared_error}.get(identifier) or globals().get(identifier)
    if fn is None:
        raise ValueError(f"Unknown metric: {identifier!r}")
    return Mean(identifier, fn)
