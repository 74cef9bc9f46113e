"""keras.optimizers: tapegrad.optim's optimizers with Keras' argument names and defaults.

They are created without variables and adopt them on the first apply_gradients (tapegrad.optim's TF
idiom). Adam's epsilon is added to sqrt(v) after bias correction (PyTorch's placement) where Keras adds
it before; with epsilon = 1e-7 the two differ by less than that in each step.
"""

from __future__ import annotations

from ... import optim as _optim


class _Keras:
    def _keras_init(self, learning_rate, name):
        self.name = name
        self._iterations = 0

    @property
    def learning_rate(self):
        return self.param_groups[0]["lr"] if self.param_groups else self.defaults["lr"]

    @learning_rate.setter
    def learning_rate(self, value):
        self.defaults["lr"] = float(value)
        for group in self.param_groups:
            group["lr"] = float(value)

    lr = learning_rate

    @property
    def iterations(self):
        return self._iterations

    def apply_gradients(self, grads_and_vars, name=None, **kwargs):
        super().apply_gradients(grads_and_vars)
        self._iterations += 1
        return self._iterations

    @property
    def variables(self):
        return [t for state in self.state.values() for t in state.values() if hasattr(t, "shape")]


class SGD(_Keras, _optim.SGD):
    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None, name="SGD", **kwargs):
        super().__init__(None, lr=learning_rate, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay or 0.0)
        self._keras_init(learning_rate, name)


class Adam(_Keras, _optim.Adam):
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 weight_decay=None, name="Adam", **kwargs):
        super().__init__(None, lr=learning_rate, betas=(beta_1, beta_2), eps=epsilon, amsgrad=amsgrad,
                         weight_decay=weight_decay or 0.0)
        self._keras_init(learning_rate, name)


class AdamW(_Keras, _optim.AdamW):
    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name="AdamW", **kwargs):
        super().__init__(None, lr=learning_rate, betas=(beta_1, beta_2), eps=epsilon, amsgrad=amsgrad,
                         weight_decay=weight_decay)
        self._keras_init(learning_rate, name)


class RMSprop(_Keras, _optim.RMSprop):
    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, name="RMSprop",
                 **kwargs):
        super().__init__(None, lr=learning_rate, alpha=rho, eps=epsilon, momentum=momentum, centered=centered)
        self._keras_init(learning_rate, name)


class Adagrad(_Keras, _optim.Adagrad):
    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, name="Adagrad", **kwargs):
        super().__init__(None, lr=learning_rate, initial_accumulator_value=initial_accumulator_value, eps=epsilon)
        self._keras_init(learning_rate, name)


_NAMES = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad}


def get(identifier):
    if isinstance(identifier, str):
        if identifier.lower() not in _NAMES:
            raise ValueError(f"Unknown optimizer: {identifier!r}; known: {', '.join(_NAMES)}")
        return _NAMES[identifier.lower()]()
    return identifier
