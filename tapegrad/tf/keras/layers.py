"""keras.layers: Layer (a tf.Module that builds its weights on first call) and the common layers.

Shapes and layouts are Keras': channels last, Dense kernels (in, out), Conv2D kernels
(h, w, in, out), LSTM gates in Keras' order (input, forget, cell, output).
"""

from __future__ import annotations

import inspect

from ... import ops
from .. import nn as _nn
from ..module import Module
from ..names import convert_to_tensor as _t
from ..variable import Variable
from . import activations, initializers

_LEARNING_PHASE = [False]  # Model.fit sets it: the `training` a layer sees when none is passed


class Layer(Module):
    """Keras' base layer: build(input_shape) once, then call(inputs, training=None)."""

    def __init__(self, trainable=True, name=None, dtype=None, **kwargs):
        super().__init__(name=name)
        self.trainable_flag = trainable
        self.built = False
        self.dtype_ = dtype or "float32"
        self._call_takes_training = "training" in inspect.signature(self.call).parameters
        self._nodes = []  # its calls on symbolic inputs (functional.py Node), for functional models

    def build(self, input_shape):
        self.built = True

    def call(self, inputs, *args, **kwargs):
        return inputs

    def __call__(self, inputs, *args, training=None, **kwargs):
        from . import functional

        if functional.is_symbolic((inputs, args, kwargs)):  # the functional API: record the call
            return functional.call_symbolic(self, inputs, args, kwargs)
        return self._call_concrete(inputs, *args, training=training, **kwargs)

    def _call_concrete(self, inputs, *args, training=None, **kwargs):
        if not self.built:
            shape = None if isinstance(inputs, (list, tuple)) else tuple(_t(inputs).shape)
            self.build(shape)
            self.built = True
        if self._call_takes_training:
            kwargs["training"] = _LEARNING_PHASE[0] if training is None else training
        return self.call(inputs, *args, **kwargs)

    def add_weight(self, name=None, shape=None, dtype=None, initializer="glorot_uniform", trainable=True, **kwargs):
        init = initializers.get(initializer or "glorot_uniform")
        v = Variable(init(tuple(shape or ()), dtype=dtype or self.dtype_), name=name, trainable=trainable)
        return v

    @property
    def weights(self):
        return list(self.variables)

    @property
    def trainable_weights(self):
        return list(self.trainable_variables)

    @property
    def non_trainable_weights(self):
        return list(self.non_trainable_variables)

    @property
    def trainable_variables(self):
        return super().trainable_variables if self.trainable_flag else ()

    @property
    def trainable(self):
        return self.trainable_flag

    @trainable.setter
    def trainable(self, value):
        self.trainable_flag = bool(value)

    def get_weights(self):
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights):
        for v, w in zip(self.weights, weights):
            v.assign(w)

    def count_params(self) -> int:
        return sum(v.numel() for v in self.weights)


class InputLayer(Layer):
    def __init__(self, input_shape=None, shape=None, batch_size=None, dtype=None, name=None, **kwargs):
        super().__init__(name=name)
        self.input_shape_ = tuple(shape if shape is not None else input_shape or ())


class Dense(Layer):
    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", input_shape=None, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.units, self.activation, self.use_bias = int(units), activations.get(activation), use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.input_shape_ = input_shape

    def build(self, input_shape):
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units), initializer=self.kernel_initializer)
        self.bias = self.add_weight("bias", (self.units,), initializer=self.bias_initializer) if self.use_bias else None
        self.built = True

    def call(self, inputs):
        out = ops.matmul(_t(inputs), self.kernel)
        return self.activation(out + self.bias if self.bias is not None else out)


class Activation(Layer):
    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)


class ReLU(Layer):
    def call(self, inputs):
        return _nn.relu(inputs)


class Softmax(Layer):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        return _nn.softmax(inputs, axis=self.axis)


class Flatten(Layer):
    def call(self, inputs):
        x = _t(inputs)
        return x.reshape((x.shape[0], -1))


class Reshape(Layer):
    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)

    def call(self, inputs):
        x = _t(inputs)
        return x.reshape((x.shape[0],) + self.target_shape)


class Dropout(Layer):
    """Zeroes a fraction `rate` of inputs (scaled by 1 / (1 - rate)) in training only."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate, self.noise_shape, self.seed = float(rate), noise_shape, seed

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        return _nn.dropout(inputs, self.rate, noise_shape=self.noise_shape)


def _pair(v, n=2):
    return (v,) * n if isinstance(v, int) else tuple(v)


class Conv2D(Layer):
    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1),
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", input_shape=None, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides = int(filters), _pair(kernel_size), _pair(strides)
        self.padding, self.dilation_rate, self.groups = padding.upper(), _pair(dilation_rate), groups
        self.data_format = "NCHW" if data_format == "channels_first" else "NHWC"
        self.activation, self.use_bias = activations.get(activation), use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer

    def build(self, input_shape):
        channels = input_shape[1] if self.data_format == "NCHW" else input_shape[-1]
        shape = self.kernel_size + (channels // self.groups, self.filters)
        self.kernel = self.add_weight("kernel", shape, initializer=self.kernel_initializer)
        self.bias = self.add_weight("bias", (self.filters,), initializer=self.bias_initializer) if self.use_bias else None
        self.built = True

    def call(self, inputs):
        out = _nn.convolution(inputs, self.kernel, self.strides, self.padding, self.data_format, self.dilation_rate)
        if self.bias is not None:
            out = _nn.bias_add(out, self.bias, data_format=self.data_format)
        return self.activation(out)


class _Pool2D(Layer):
    kind = "max"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _pair(pool_size)
        self.strides = _pair(strides) if strides is not None else self.pool_size
        self.padding = padding.upper()
        self.data_format = "NCHW" if data_format == "channels_first" else "NHWC"

    def call(self, inputs):
        fn = _nn.max_pool2d if self.kind == "max" else _nn.avg_pool2d
        return fn(inputs, self.pool_size, self.strides, self.padding, self.data_format)


class MaxPooling2D(_Pool2D):
    kind = "max"


class AveragePooling2D(_Pool2D):
    kind = "avg"


MaxPool2D, AvgPool2D = MaxPooling2D, AveragePooling2D


class GlobalAveragePooling2D(Layer):
    def call(self, inputs):
        return ops.mean(_t(inputs), dim=(1, 2))


class GlobalMaxPooling2D(Layer):
    def call(self, inputs):
        return ops.amax(_t(inputs), dim=(1, 2))


class BatchNormalization(Layer):
    """Normalises over every axis but `axis` with batch statistics in training and moving ones otherwise.

    Keras' update: moving = moving * momentum + batch * (1 - momentum), with the biased batch variance.
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, **kwargs):
        super().__init__(**kwargs)
        self.axis, self.momentum, self.epsilon, self.center, self.scale = axis, momentum, epsilon, center, scale

    def build(self, input_shape):
        n = input_shape[self.axis]
        self.gamma = self.add_weight("gamma", (n,), initializer="ones") if self.scale else None
        self.beta = self.add_weight("beta", (n,), initializer="zeros") if self.center else None
        self.moving_mean = self.add_weight("moving_mean", (n,), initializer="zeros", trainable=False)
        self.moving_variance = self.add_weight("moving_variance", (n,), initializer="ones", trainable=False)
        self.built = True

    def call(self, inputs, training=None):
        x = _t(inputs)
        axis = self.axis % x.ndim
        axes = [a for a in range(x.ndim) if a != axis]
        shape = [1] * x.ndim
        shape[axis] = x.shape[axis]
        if training and self.trainable_flag:
            mean, var = _nn.moments(x, axes)
            m = self.momentum
            self.moving_mean.assign(self.moving_mean * m + mean.detach() * (1 - m))
            self.moving_variance.assign(self.moving_variance * m + var.detach() * (1 - m))
        else:
            mean, var = self.moving_mean, self.moving_variance
        scale = self.gamma.reshape(shape) if self.gamma is not None else None
        offset = self.beta.reshape(shape) if self.beta is not None else None
        return _nn.batch_normalization(x, mean.reshape(shape), var.reshape(shape), offset, scale, self.epsilon)


class LayerNormalization(Layer):
    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, **kwargs):
        super().__init__(**kwargs)
        self.axis, self.epsilon, self.center, self.scale = axis, epsilon, center, scale

    def build(self, input_shape):
        n = input_shape[self.axis]
        self.gamma = self.add_weight("gamma", (n,), initializer="ones") if self.scale else None
        self.beta = self.add_weight("beta", (n,), initializer="zeros") if self.center else None
        self.built = True

    def call(self, inputs):
        mean, var = _nn.moments(inputs, [self.axis], keepdims=True)
        return _nn.batch_normalization(inputs, mean, var, self.beta, self.gamma, self.epsilon)


class Embedding(Layer):
    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", mask_zero=False, **kwargs):
        super().__init__(**kwargs)
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        init = "random_uniform" if embeddings_initializer == "uniform" else embeddings_initializer
        self.embeddings_initializer = init

    def build(self, input_shape):
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer)
        self.built = True

    def call(self, inputs):
        return _nn.embedding_lookup(self.embeddings, inputs)


class LSTM(Layer):
    """A one-layer LSTM over (batch, time, features), Keras' gate order i, f, c, o and unit forget bias."""

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 return_sequences=False, return_state=False, go_backwards=False, unit_forget_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", **kwargs):
        super().__init__(**kwargs)
        self.units, self.use_bias = int(units), use_bias
        self.activation, self.recurrent_activation = activations.get(activation), activations.get(recurrent_activation)
        self.return_sequences, self.return_state, self.go_backwards = return_sequences, return_state, go_backwards
        self.unit_forget_bias = unit_forget_bias
        self.kernel_initializer, self.recurrent_initializer = kernel_initializer, recurrent_initializer

    def build(self, input_shape):
        u = self.units
        self.kernel = self.add_weight("kernel", (input_shape[-1], 4 * u), initializer=self.kernel_initializer)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (u, 4 * u), initializer=self.recurrent_initializer)
        if self.use_bias:
            self.bias = self.add_weight("bias", (4 * u,), initializer="zeros")
            if self.unit_forget_bias:
                self.bias.assign(ops.cat([ops.zeros(u), ops.ones(u), ops.zeros(2 * u)]))
        else:
            self.bias = None
        self.built = True

    def call(self, inputs, initial_state=None):
        x = _t(inputs)
        batch, steps = x.shape[0], x.shape[1]
        h, c = initial_state if initial_state is not None else (ops.zeros(batch, self.units), ops.zeros(batch, self.units))
        xs = ops.matmul(x, self.kernel)  # all input projections at once
        if self.bias is not None:
            xs = xs + self.bias
        outputs = []
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        for t in order:
            z = xs[:, t] + ops.matmul(h, self.recurrent_kernel)
            i, f, g, o = ops.chunk(z, 4, dim=-1)
            i, f, o = self.recurrent_activation(i), self.recurrent_activation(f), self.recurrent_activation(o)
            c = f * c + i * self.activation(g)
            h = o * self.activation(c)
            outputs.append(h)
        out = ops.stack(outputs, 1) if self.return_sequences else h
        return [out, h, c] if self.return_state else out


class SimpleRNN(Layer):
    def __init__(self, units, activation="tanh", use_bias=True, return_sequences=False, **kwargs):
        super().__init__(**kwargs)
        self.units, self.activation, self.use_bias = int(units), activations.get(activation), use_bias
        self.return_sequences = return_sequences

    def build(self, input_shape):
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units))
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, self.units), initializer="orthogonal")
        self.bias = self.add_weight("bias", (self.units,), initializer="zeros") if self.use_bias else None
        self.built = True

    def call(self, inputs):
        x = _t(inputs)
        h = ops.zeros(x.shape[0], self.units)
        outs = []
        for t in range(x.shape[1]):
            z = ops.matmul(x[:, t], self.kernel) + ops.matmul(h, self.recurrent_kernel)
            h = self.activation(z + self.bias if self.bias is not None else z)
            outs.append(h)
        return ops.stack(outs, 1) if self.return_sequences else h


class Add(Layer):
    def call(self, inputs):
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out


class Concatenate(Layer):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        return ops.cat(list(inputs), dim=self.axis)


class Lambda(Layer):
    def __init__(self, function, **kwargs):
        super().__init__(**kwargs)
        self.function = function

    def call(self, inputs):
        return self.function(inputs)
