"""keras.losses: loss classes and functions with Keras' (y_true, y_pred) order.

The functions return one loss per example (the mean over the last axis); the classes reduce that
to the mean over the batch (Keras' "sum_over_batch_size"). Probability inputs are clipped to
[eps, 1 - eps] with eps = 1e-7, as Keras does, so log never sees 0.
"""

from __future__ import annotations

from ... import ops
from .. import nn as _nn
from ..names import convert_to_tensor as _t

_EPS = 1e-7


def _pair(y_true, y_pred):
    y_pred = _t(y_pred)
    y_true = _t(y_true)
    return (y_true.to(y_pred.dtype) if y_true.dtype is not y_pred.dtype else y_true), y_pred


def mean_squared_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return ops.mean(ops.square(y_pred - y_true), dim=-1)


def mean_absolute_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return ops.mean(ops.abs(y_pred - y_true), dim=-1)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        per = _nn.sigmoid_cross_entropy_with_logits(labels=y_true, logits=y_pred)
    else:
        p = ops.clamp(y_pred, _EPS, 1 - _EPS)
        per = -(y_true * ops.log(p) + (1 - y_true) * ops.log(1 - p))
    return ops.mean(per, dim=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1 - label_smoothing) + label_smoothing / y_pred.shape[axis]
    if from_logits:
        return _nn.softmax_cross_entropy_with_logits(y_true, y_pred, axis=axis)
    p = y_pred / ops.sum(y_pred, dim=axis, keepdim=True)
    return -ops.sum(y_true * ops.log(ops.clamp(p, _EPS, 1 - _EPS)), dim=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1, ignore_class=None):
    y_pred = _t(y_pred)
    labels = _t(y_true).long()
    if labels.ndim == y_pred.ndim:  # Keras accepts labels of shape (batch, 1)
        labels = labels.squeeze(-1)
    if from_logits:
        return _nn.sparse_softmax_cross_entropy_with_logits(labels, y_pred)
    p = ops.clamp(y_pred / ops.sum(y_pred, dim=-1, keepdim=True), _EPS, 1 - _EPS)
    return -ops.take_along_dim(ops.log(p), labels.unsqueeze(-1), dim=-1).squeeze(-1)


def huber(y_true, y_pred, delta=1.0):
    y_true, y_pred = _pair(y_true, y_pred)
    err = ops.abs(y_pred - y_true)
    quad = ops.clamp(err, max=delta)
    return ops.mean(0.5 * quad * quad + delta * (err - quad), dim=-1)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error


class Loss:
    """A loss object: __call__(y_true, y_pred, sample_weight=None) is the batch mean of fn's per-example losses."""

    fn = None

    def __init__(self, reduction="sum_over_batch_size", name=None, **options):
        self.reduction, self.name, self.options = reduction, name or type(self).__name__, options

    def call(self, y_true, y_pred):
        return type(self).fn(y_true, y_pred, **self.options)

    def __call__(self, y_true, y_pred, sample_weight=None):
        per = self.call(y_true, y_pred)
        if sample_weight is not None:
            per = per * _t(sample_weight).to(per.dtype)
        if self.reduction in ("none", None):
            return per
        if self.reduction == "sum":
            return ops.sum(per)
        return ops.mean(per)


class MeanSquaredError(Loss):
    fn = staticmethod(mean_squared_error)


class MeanAbsoluteError(Loss):
    fn = staticmethod(mean_absolute_error)


class Huber(Loss):
    fn = staticmethod(huber)

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss"):
        super().__init__(reduction, name, delta=delta)


class BinaryCrossentropy(Loss):
    fn = staticmethod(binary_crossentropy)

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_crossentropy"):
        super().__init__(reduction, name, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class CategoricalCrossentropy(Loss):
    fn = staticmethod(categorical_crossentropy)

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="categorical_crossentropy"):
        super().__init__(reduction, name, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(Loss):
    fn = staticmethod(sparse_categorical_crossentropy)

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 name="sparse_categorical_crossentropy"):
        super().__init__(reduction, name, from_logits=from_logits)


def get(identifier):
    if identifier is None or isinstance(identifier, Loss) or (callable(identifier) and not isinstance(identifier, str)):
        return identifier
    fn = globals().get(identifier)
    if fn is None or identifier.startswith("_"):
        raise ValueError(f"Unknown loss function: {identifier!r}")
    return fn
