"""tapegrad.random (`tg.random`, `from tapegrad import random`): TensorFlow's random ops (tf/random.py)
and JAX's explicit keys (func/prng.py) in one module.

The names differ except `normal` and `uniform`, which take TensorFlow's shape first and JAX's key first:
they go to JAX when the first argument is a key (a 0-d integer tensor, what random.key returns), else to
TensorFlow. A shape is a list, tuple, int or 1-D tensor, so the two never meet. tg.tf.random stays
TensorFlow's alone.
"""

from __future__ import annotations

from .func import prng as _jax
from .func.prng import *  # noqa: F401,F403
from .tf import random as _tf
from .tf.random import *  # noqa: F401,F403


def _either(name):
    tf_fn, jax_fn = getattr(_tf, name), getattr(_jax, name)

    def dispatch(*args, **kwargs):
        first = args[0] if args else kwargs.get("key", kwargs.get("shape"))
        return (jax_fn if _jax.is_key(first) else tf_fn)(*args, **kwargs)

    dispatch.__name__ = name
    dispatch.__doc__ = f"JAX's random.{name}(key, ...) for a key, else TensorFlow's tf.random.{name}(shape, ...).\n\n" \
                       f"JAX: {jax_fn.__doc__}\nTensorFlow: {tf_fn.__doc__}"
    return dispatch


normal, uniform = _either("normal"), _either("uniform")
