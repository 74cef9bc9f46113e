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
from . import functional as _functional
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
        inputs, outputs = kwargs.pop("inputs", None), kwargs.pop("outputs", None)
        if args:  # keras.Model(inputs, outputs)
            inputs, outputs = args[0], args[1] if len(args) > 1 else outputs
        super().__init__(name=kwargs.pop("name", None), **{k: v for k, v in kwargs.items() if k in ("trainable", "dtype")})
        self.optimizer = self.loss = None
        self.loss_weights = None
        self.compiled_metrics = []
        self._fn_nodes = None
        if inputs is not None or outputs is not None:
            self._init_functional(inputs, outputs)

    def _init_functional(self, inputs, outputs):
        """A functional model: the layer calls from inputs to outputs (keras.Input, layers on KerasTensors)."""
        if inputs is None or outputs is None or not _functional.is_symbolic(inputs):
            raise ValueError("keras.Model(inputs, outputs): inputs must be keras.Input(...) tensors and outputs the "
                             "KerasTensors computed from them by calling layers")
        self._fn_inputs, self._fn_outputs = inputs, outputs
        self._fn_nodes = _functional.topological_nodes(inputs, outputs)
        layers = []
        for node in self._fn_nodes:
            if all(node.layer is not seen for seen in layers):
                layers.append(node.layer)
        self.layers = layers  # tracked by tf.Module's walk: the weights of a shared layer count once
        self.built = True

    @property
    def inputs(self):
        return list(_functional.nest.flatten(self._fn_inputs)) if self._fn_nodes is not None else None

    @property
    def outputs(self):
        return list(_functional.nest.flatten(self._fn_outputs)) if self._fn_nodes is not None else None

    @property
    def output_names(self):
        return _functional.output_names(self) if self._fn_nodes is not None else None

    def call(self, inputs, training=None):
        if self._fn_nodes is None:
            raise NotImplementedError(f"{type(self).__name__}: subclass keras.Model and define call(), or build a "
                                      "functional model with keras.Model(inputs, outputs)")
        return _functional.run(self, inputs, training)

    def get_layer(self, name=None, index=None):
        layers = getattr(self, "layers", [])
        if index is not None:
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}")

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, run_eagerly=None,
                jit_compile=None, **kwargs):
        self.optimizer = _optimizers.get(optimizer)
        names = self.output_names
        if names is not None and len(names) > 1:  # several outputs: a loss (and the metrics) per output
            self.loss = _per_output(loss, names, "loss", _losses.get)
            self.loss_weights = _per_output(loss_weights if loss_weights is not None else 1.0, names, "loss_weights")
            self.compiled_metrics = [(i, _metrics.get(m, self.loss[i]), f"{n}_") for i, n in enumerate(names)
                                     for m in _per_output_list(metrics, names, i)]
            for _, m, prefix in self.compiled_metrics:
                m.name = prefix + m.name
            return
        self.loss = _losses.get(loss)
        self.compiled_metrics = [_metrics.get(m, self.loss) for m in (metrics or [])]

    def _loss_value(self, y, y_pred):
        if self.loss is None:
            raise RuntimeError("You must call compile(optimizer=..., loss=...) before fit / evaluate")
        if isinstance(self.loss, list):  # one loss per output, weighted and summed as Keras does
            ys = _functional.nest.flatten(y) if not isinstance(y, dict) else [y[n] for n in self.output_names]
            preds = _functional.nest.flatten(y_pred)
            total = 0.0
            for fn, w, yt, yp in zip(self.loss, self.loss_weights, ys, preds):
                if fn is not None:
                    total = total + w * _mean(fn(_t(yt), yp))
            return total
        return _mean(self.loss(y, y_pred))

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
            cut = int(_length(x) * (1 - validation_split))
            x, y, validation_data = _rows(x, slice(None, cut)), _rows(y, slice(None, cut)), (
                _rows(x, slice(cut, None)), _rows(y, slice(cut, None)))
        history = History()
        n, batch_size = _length(x), batch_size or 32
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
            (m[1] if isinstance(m, tuple) else m).reset_state()
        bar = tqdm(batches, desc=desc, disable=verbose != 1, leave=True, unit="batch")
        prev = _layers._LEARNING_PHASE[0]
        for idx in bar:
            xb, yb = _batch(x, idx), _batch(y, idx)
            if train:
                loss, y_pred = self.train_step(xb, yb)
            else:
                y_pred = self(xb, training=False)
                loss = self._loss_value(yb, y_pred)
            loss_mean.total += float(loss.item()) * len(idx)
            loss_mean.count += len(idx)
            for m in self.compiled_metrics:
                if isinstance(m, tuple):  # (output index, metric, name prefix) of a model with several outputs
                    i, m, _ = m
                    targets = _functional.nest.flatten(yb) if not isinstance(yb, dict) else [
                        yb[n] for n in self.output_names]
                    m.update_state(targets[i], _functional.nest.flatten(y_pred)[i].detach())
                else:
                    m.update_state(yb, y_pred.detach())
            bar.set_postfix({k: f"{v:.4f}" for k, v in self._logs(loss_mean).items()})
        _layers._LEARNING_PHASE[0] = prev
        return self._logs(loss_mean)

    def _logs(self, loss_mean):
        logs = {"loss": float(loss_mean.result().item())}
        for m in self.compiled_metrics:
            m = m[1] if isinstance(m, tuple) else m
            logs[m.name] = float(m.result().item())
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose=1, return_dict=False, **kwargs):
        x, y = _numpy(x), _numpy(y)
        batch_size, n = batch_size or 32, _length(x)
        batches = [np.arange(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]
        logs = self._run_epoch(batches, x, y, train=False, verbose=verbose, desc="evaluate")
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose=0, **kwargs):
        from tqdm.auto import tqdm

        x = _numpy(x)
        batch_size = batch_size or 32
        outs = [self(_batch(x, slice(i, i + batch_size)), training=False)
                for i in tqdm(range(0, _length(x), batch_size), disable=verbose != 1, desc="predict")]
        parts = [[o.detach().numpy() for o in _functional.nest.flatten(out)] for out in outs]
        joined = [np.concatenate(p, 0) for p in zip(*parts)]
        return _functional.nest.pack_as(outs[0], joined) if not isinstance(outs[0], Tensor) else joined[0]

    def __call__(self, inputs, *args, training=None, **kwargs):
        prev = _layers._LEARNING_PHASE[0]
        if training is not None:
            _layers._LEARNING_PHASE[0] = bool(training)  # inner layers called without training= see it
        try:
            return super().__call__(inputs, *args, training=training, **kwargs)
        finally:
            _layers._LEARNING_PHASE[0] = prev

    def summary(self, print_fn=print, line_length=None, **kwargs):
        if self._fn_nodes is not None:
            return self._functional_summary(print_fn)
        print_fn(f'Model: "{self.name}"')
        for layer in self.submodules:
            if isinstance(layer, _layers.Layer):
                print_fn(f"  {layer.name:<24} {type(layer).__name__:<22} params: {layer.count_params()}")
        print_fn(f"Total params: {self.count_params()}")

    def _functional_summary(self, print_fn):
        rows = _functional.summary_rows(self)
        head = ("Layer (type)", "Output Shape", "Param #", "Connected to")
        widths = [max(len(str(r[i])) for r in rows + [head]) + 2 for i in range(4)]
        line = "".join(str(v).ljust(w) for v, w in zip(head, widths))
        print_fn(f'Model: "{self.name}"')
        print_fn("_" * len(line))
        print_fn(line)
        print_fn("=" * len(line))
        for r in rows:
            print_fn("".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip())
        print_fn("=" * len(line))
        trainable = sum(v.numel() for v in self.trainable_variables)
        print_fn(f"Total params: {self.count_params()}")
        print_fn(f"Trainable params: {trainable}")
        print_fn(f"Non-trainable params: {self.count_params() - trainable}")

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
        if isinstance(layer, _functional.KerasTensor):  # Sequential([keras.Input(shape=(4,)), ...])
            self._input_shape = layer.shape[1:]
            return
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


Input = _functional.Input


def _numpy(v):
    """Arrays from tensors, lists of numbers and array-likes; lists, tuples and dicts of arrays (one per input
    or output of a functional model) keep their structure."""
    if v is None:
        return None
    if isinstance(v, Tensor):
        return v.detach().numpy()
    if isinstance(v, dict):
        return {k: _numpy(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)) and v and isinstance(v[0], (Tensor, np.ndarray)):
        return [_numpy(x) for x in v]
    return np.asarray(v)


def _length(v) -> int:
    return len(_functional.nest.flatten(v)[0])


def _rows(v, idx):
    return None if v is None else _functional.nest.map_structure(lambda a: a[idx], v)


def _batch(v, idx):
    return _functional.nest.map_structure(lambda a: _t(a[idx]), v)


def _mean(value):
    return value.mean() if value.ndim else value  # a per-example loss function: Keras averages it


def _per_output(value, names, what, convert=lambda v: v):
    """One entry per output from a single value (shared), a list in output order or a dict by output name."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"compile: {what} names {unknown}, which are not outputs of the model ({names})")
        return [convert(value.get(n)) if value.get(n) is not None else None for n in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(f"compile: {what} has {len(value)} entries for {len(names)} outputs ({names})")
        return [convert(v) for v in value]
    return [convert(value) for _ in names]


def _per_output_list(metrics, names, i) -> list:
    """The metrics of output i: a list applies to every output, a dict by output name (a name or a list)."""
    if not metrics:
        return []
    if isinstance(metrics, dict):
        m = metrics.get(names[i], [])
        return list(m) if isinstance(m, (list, tuple)) else [m]
    return list(metrics)
