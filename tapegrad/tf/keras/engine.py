"""keras.Model and keras.Sequential: a Layer with compile / fit / evaluate / predict.

fit runs, per batch, the step TF users write by hand: a GradientTape over the forward pass and the
loss, tape.gradient over trainable_variables, optimizer.apply_gradients; a tqdm bar shows the running
loss and metrics (verbose=1), one line per epoch (verbose=2) or nothing (verbose=0).
"""

from __future__ import annotations

import numpy as np

from ...tensor import Tensor
from ..names import convert_to_tensor as _t
from ..tape import GradientTape
from . import layers as _layers
from . import losses as _losses
from . import metrics as _metrics
from . import optimizers as _optimizers


class History:
    def __init__(self):
        self.history: dict = {}
        self.epoch: list = []


class Model(_layers.Layer):
    """Subclass it (define call) or use Sequential; compile, then fit / evaluate / predict."""

    def __init__(self, *args, **kwargs):
        kwargs.pop("inputs", None), kwargs.pop("outputs", None)
        super().__init__(name=kwargs.pop("name", None), **{k: v for k, v in kwargs.items() if k in ("trainable", "dtype")})
        self.optimizer = self.loss = None
        self.compiled_metrics = []

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, run_eagerly=None,
                jit_compile=None, **kwargs):
        self.optimizer = _optimizers.get(optimizer)
        self.loss = _losses.get(loss)
        self.compiled_metrics = [_metrics.get(m, self.loss) for m in (metrics or [])]

    def _loss_value(self, y, y_pred):
        if self.loss is None:
            raise RuntimeError("You must call compile(optimizer=..., loss=...) before fit / evaluate")
        value = self.loss(y, y_pred)
        return value.mean() if value.ndim else value  # a per-example loss function: Keras averages it

    def train_step(self, x, y):
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self._loss_value(y, y_pred)
        variables = self.trainable_variables
        grads = tape.gradient(loss, variables)
        self.optimizer.apply_gradients(zip(grads, variables))
        return loss, y_pred

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose=1, callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, initial_epoch=0, steps_per_epoch=None, **kwargs):
        x, y = _numpy(x), _numpy(y)
        if validation_split and validation_data is None:
            cut = int(len(x) * (1 - validation_split))
            x, y, validation_data = x[:cut], y[:cut], (x[cut:], y[cut:])
        history = History()
        n, batch_size = len(x), batch_size or 32
        for epoch in range(initial_epoch, epochs):
            order = np.random.permutation(n) if shuffle else np.arange(n)
            batches = [order[i:i + batch_size] for i in range(0, n, batch_size)]
            logs = self._run_epoch(batches, x, y, train=True, verbose=verbose, desc=f"Epoch {epoch + 1}/{epochs}")
            if validation_data is not None:
                val = self.evaluate(*validation_data[:2], batch_size=batch_size, verbose=0, return_dict=True)
                logs.update({f"val_{k}": v for k, v in val.items()})
            if verbose == 2:
                print(f"Epoch {epoch + 1}/{epochs} - " + " - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
            history.epoch.append(epoch)
            for k, v in logs.items():
                history.history.setdefault(k, []).append(v)
        self.history = history
        return history

    def _run_epoch(self, batches, x, y, train, verbose, desc):
        from tqdm.auto import tqdm

        loss_mean = _metrics.Mean("loss")
        for m in self.compiled_metrics:
            m.reset_state()
        bar = tqdm(batches, desc=desc, disable=verbose != 1, leave=True, unit="batch")
        prev = _layers._LEARNING_PHASE[0]
        for idx in bar:
            xb, yb = _t(x[idx]), _t(y[idx])
            if train:
                loss, y_pred = self.train_step(xb, yb)
            else:
                y_pred = self(xb, training=False)
                loss = self._loss_value(yb, y_pred)
            loss_mean.total += float(loss.item()) * len(idx)
            loss_mean.count += len(idx)
            for m in self.compiled_metrics:
                m.update_state(yb, y_pred.detach())
            bar.set_postfix({k: f"{v:.4f}" for k, v in self._logs(loss_mean).items()})
        _layers._LEARNING_PHASE[0] = prev
        return self._logs(loss_mean)

    def _logs(self, loss_mean):
        logs = {"loss": float(loss_mean.result().item())}
        logs.update({m.name: float(m.result().item()) for m in self.compiled_metrics})
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose=1, return_dict=False, **kwargs):
        x, y = _numpy(x), _numpy(y)
        batch_size = batch_size or 32
        batches = [np.arange(i, min(i + batch_size, len(x))) for i in range(0, len(x), batch_size)]
        logs = self._run_epoch(batches, x, y, train=False, verbose=verbose, desc="evaluate")
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose=0, **kwargs):
        from tqdm.auto import tqdm

        x = _numpy(x)
        batch_size = batch_size or 32
        outs = [self(_t(x[i:i + batch_size]), training=False).detach().numpy()
                for i in tqdm(range(0, len(x), batch_size), disable=verbose != 1, desc="predict")]
        return np.concatenate(outs, 0)

    def __call__(self, inputs, *args, training=None, **kwargs):
        prev = _layers._LEARNING_PHASE[0]
        if training is not None:
            _layers._LEARNING_PHASE[0] = bool(training)  # inner layers called without training= see it
        try:
            return super().__call__(inputs, *args, training=training, **kwargs)
        finally:
            _layers._LEARNING_PHASE[0] = prev

    def summary(self, print_fn=print):
        print_fn(f'Model: "{self.name}"')
        for layer in self.submodules:
            if isinstance(layer, _layers.Layer):
                print_fn(f"  {layer.name:<24} {type(layer).__name__:<22} params: {layer.count_params()}")
        print_fn(f"Total params: {self.count_params()}")

    def save_weights(self, filepath, **kwargs):
        from ...serialization import save

        save({f"{i}": v.detach() for i, v in enumerate(self.weights)}, filepath)

    def load_weights(self, filepath, **kwargs):
        from ...serialization import load

        state = load(filepath)
        for i, v in enumerate(self.weights):
            v.assign(state[f"{i}"])


class Sequential(Model):
    def __init__(self, layers=None, name=None):
        super().__init__(name=name)
        self.layers = []
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        if isinstance(layer, _layers.InputLayer):
            self._input_shape = layer.input_shape_
            return
        self.layers.append(layer)

    def build(self, input_shape=None):
        """model.build((None, features)) creates the weights now; a first call does it by itself."""
        self.built = True  # first: the call below must not build again
        if input_shape is not None and getattr(self, "_called_build", False) is False:
            self._called_build = True
            x = Tensor._make(np.zeros((1,) + tuple(d or 1 for d in input_shape[1:]), np.float32))
            for layer in self.layers:
                x = layer(x, training=False)

    def call(self, inputs, training=None):
        x = inputs
        for layer in self.layers:
            x = layer(x, training=training)
        return x

    def pop(self):
        return self.layers.pop()


def Input(shape=None, batch_size=None, dtype=None, name=None, **kwargs):  # noqa: N802  (Keras' name)
    """An InputLayer for Sequential([keras.Input(shape=...), ...]); the functional API is not supported."""
    return _layers.InputLayer(shape=shape, name=name)


def _numpy(v):
    if v is None:
        return None
    if isinstance(v, Tensor):
        return v.detach().numpy()
    return np.asarray(v)
