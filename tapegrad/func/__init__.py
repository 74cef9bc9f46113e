"""tg.func: the JAX idiom. Composable transforms of functions on pytrees of tensors.

grad / value_and_grad / vjp / jacrev (reverse mode), jvp / linearize / jacfwd (forward mode), hessian and
hvp (forward over reverse), vmap (batching), checkpoint (rematerialisation), custom_vjp / custom_jvp, and
functional_call (a Module as a pure function of its parameters). All nest: grad(grad(f)), vmap(grad(f)),
jvp(grad(f)), jacfwd(jacrev(f)).
"""

from types import SimpleNamespace as _Namespace

from . import test_util, tree_util
from .checkpoint import checkpoint, remat
from .custom import custom_jvp, custom_vjp
from .flags import config, debug_infs, debug_nans
from .forward import DualTensor, ForwardMode, jvp
from .functional_call import functional_call
from .transforms import grad, hessian, hvp, jacfwd, jacrev, linearize, value_and_grad, vjp
from .vmap import BatchTensor, vmap
from ..trace import jit  # noqa: E402  (jax.jit: `from tapegrad import func as jax; jax.jit(f)`)

# jax.tree: the short names of tree_util
tree = _Namespace(map=tree_util.tree_map, leaves=tree_util.tree_leaves, structure=tree_util.tree_structure,
                  flatten=tree_util.tree_flatten, unflatten=tree_util.tree_unflatten, reduce=tree_util.tree_reduce,
                  all=tree_util.tree_all)


def make_jaxpr(f, static_argnums=()):
    """make_jaxpr(f)(*args): the graph tg.jit traces for these arguments (prints as tapegrad's IR)."""

    def trace(*args, **kwargs):
        return jit(f, static_argnums=static_argnums).lower(*args, **kwargs)

    return trace


def __getattr__(name):
    if name == "random":  # jax.random; imported late (it needs the whole package)
        from .. import random

        return random
    if name == "numpy":
        from .. import numpy

        return numpy
    raise AttributeError(f"module 'tapegrad.func' has no attribute {name!r}")

__all__ = [
    "BatchTensor",
    "DualTensor",
    "ForwardMode",
    "checkpoint",
    "config",
    "custom_jvp",
    "custom_vjp",
    "debug_infs",
    "debug_nans",
    "functional_call",
    "grad",
    "jit",
    "make_jaxpr",
    "test_util",
    "tree",
    "hessian",
    "hvp",
    "jacfwd",
    "jacrev",
    "jvp",
    "linearize",
    "remat",
    "tree_util",
    "value_and_grad",
    "vjp",
    "vmap",
]
