"""tf.keras: Keras' layers, models, optimizers and losses over tapegrad's nn functions and optimizers.

Layers are tf.Modules holding tf.Variables (so GradientTape watches them and `trainable_variables`
finds them); their computations are tapegrad.nn.functional / tf.nn calls in channels-last layout;
the optimizers are tapegrad.optim's with Keras' argument names; Model.fit runs a GradientTape step
per batch with a tqdm progress bar.
"""

from __future__ import annotations

from . import activations, initializers, layers, losses, metrics, optimizers  # noqa: F401
from .engine import Input, Model, Sequential  # noqa: F401
from . import models  # noqa: F401
from . import backend  # noqa: F401
