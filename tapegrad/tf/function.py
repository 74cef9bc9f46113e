"""tf.function: tapegrad's tracer (trace/function.py) with TensorFlow's options.

autograph=True (TF's default) rewrites the Python function's `if` / `while` / `for` on tensors into
cond / while_loop before tracing (autograph.py); tf.config.run_functions_eagerly(True) calls the
Python function itself, for debugging.
"""

from __future__ import annotations

import functools

from ..trace.function import Function as _Function
from . import config


class Function(_Function):
    """A tf.function: traced per input signature; `python_function` is the original."""

    def __init__(self, fn, autograph=True, experimental_autograph_options=None, **kw):
        from . import autograph as _ag

        self.python_function = fn
        super().__init__(_ag.convert_function(fn) if autograph else fn, **kw)
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        if config.functions_run_eagerly():
            return self.python_function(*args, **kwargs)
        return super().__call__(*args, **kwargs)

    def __get__(self, obj, objtype=None):  # a method: bind self (a static, hashed-by-identity argument)
        if obj is None:
            return self
        return functools.partial(self.__call__, obj)


def function(
    func=None,
    input_signature=None,
    autograph=True,
    jit_compile=None,
    reduce_retracing=False,
    experimental_implements=None,
    experimental_autograph_options=None,
    experimental_attributes=None,
    experimental_relax_shapes=None,
    experimental_compile=None,
    experimental_follow_type_hints=None,
):
    """Compile func into a graph on its first call per input signature, as TensorFlow's tf.function.

    >>> import tapegrad.tf as tf
    >>> @tf.function
    ... def f(x):
    ...     if tf.reduce_sum(x) > 0:
    ...         x = x * 2
    ...     return x
    >>> f(tf.constant([1.0, 2.0]))
    tensor([2., 4.])
    """
    options = dict(input_signature=input_signature, reduce_retracing=bool(reduce_retracing or experimental_relax_shapes))

    def wrap(f):
        return Function(f, autograph=autograph, **options)

    return wrap if func is None else wrap(func)
