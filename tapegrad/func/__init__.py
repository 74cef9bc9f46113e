"""tg.func: the JAX idiom. Composable transforms of functions on pytrees of tensors.

grad / value_and_grad / vjp / jacrev (reverse mode), jvp / linearize / jacfwd (forward mode), hessian and
hvp (forward over reverse), vmap (batching), checkpoint (rematerialisation), custom_vjp / custom_jvp, and
functional_call (a Module as a pure function of its parameters). All nest: grad(grad(f)), vmap(grad(f)),
jvp(grad(f)), jacfwd(jacrev(f)).
"""

from . import tree_util
from .checkpoint import checkpoint, remat
from .custom import custom_jvp, custom_vjp
from .forward import DualTensor, ForwardMode, jvp
from .functional_call import functional_call
from .transforms import grad, hessian, hvp, jacfwd, jacrev, linearize, value_and_grad, vjp
from .vmap import BatchTensor, vmap

__all__ = [
    "BatchTensor",
    "DualTensor",
    "ForwardMode",
    "checkpoint",
    "custom_jvp",
    "custom_vjp",
    "functional_call",
    "grad",
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
