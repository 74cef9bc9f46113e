"""gradcheck / gradgradcheck: compare analytical gradients with central finite differences.

Public API (as in PyTorch): use float64 inputs that require grad. Reports mismatches the way
PyTorch does: "Jacobian mismatch for output i with respect to input j, numerical ... analytical ...".
"""

from __future__ import annotations

import numpy as np

from ..errors import GradError


def _outputs(fn, inputs):
    out = fn(*inputs)
    return out if isinstance(out, tuple) else (out,)


def _diff_inputs(inputs):
    from ..tensor import Tensor

    return [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]


def numerical_jacobian(fn, inputs, j, eps):
    """d(all outputs, flattened)/d(inputs[j]) by central differences, as a list of numpy arrays (one per output)."""
    data = inputs[j]._data  # probes write into x's storage (restored after each one)
    cols = []
    # NOTE: indices, not a flat reshape: reshape copies a non-contiguous array, and writes would be lost.
    # fn runs with grad enabled: it may itself differentiate (gradgradcheck).
    for idx in np.ndindex(data.shape):
        orig = data[idx].copy()
        data[idx] = orig + eps
        plus = [o._data.astype(np.float64).copy() for o in _outputs(fn, inputs)]
        data[idx] = orig - eps
        minus = [o._data.astype(np.float64).copy() for o in _outputs(fn, inputs)]
        data[idx] = orig
        cols.append([(p - m).reshape(-1) / (2 * eps) for p, m in zip(plus, minus)])
    if not cols:  # a zero-size input: empty Jacobians
        return [np.zeros((o.numel(), 0)) for o in _outputs(fn, inputs)]
    return [np.stack([c[o] for c in cols], axis=1) for o in range(len(cols[0]))]


def analytical_jacobian(fn, inputs, j):
    from ..ops.creation import zeros_like
    from .api import grad

    outs = _outputs(fn, inputs)
    x = inputs[j]
    jacs = []
    for o in outs:
        rows = []
        for k in range(o.numel()):
            seed = zeros_like(o)
            seed._data.reshape(-1)[k] = 1
            if not o.requires_grad:
                rows.append(np.zeros(x.numel()))
                continue
            (g,) = grad(o, x, grad_outputs=seed, retain_graph=True, allow_unused=True)
            rows.append(np.zeros(x.numel()) if g is None else g._data.astype(np.float64).reshape(-1))
        jacs.append(np.stack(rows) if rows else np.zeros((0, x.numel())))
    return jacs


def gradcheck(fn, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True) -> bool:
    """True when fn's analytical Jacobians match finite differences for every differentiable input.

    >>> import tapegrad as tg
    >>> x = tg.randn(3, dtype=tg.float64, requires_grad=True)
    >>> tg.autograd.gradcheck(lambda t: (t * t).sin(), (x,))
    True
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    for j in _diff_inputs(inputs):
        if inputs[j].dtype.name != "float64":
            import warnings

            warnings.warn(f"gradcheck: input {j} is {inputs[j].dtype.name}; use float64 for reliable results")
        numeric = numerical_jacobian(fn, inputs, j, eps)
        analytic = analytical_jacobian(fn, inputs, j)
        for i, (n, a) in enumerate(zip(numeric, analytic)):
            if not np.allclose(a, n, atol=atol, rtol=rtol):
                if raise_exception:
                    raise GradError(
                        f"Jacobian mismatch for output {i} with respect to input {j},\n"
                        f"numerical:{n}\nanalytical:{a}\n"
                    )
                return False
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True) -> bool:
    """gradcheck of the vector-Jacobian product of fn (checks second derivatives)."""
    from ..ops.creation import randn
    from .api import grad

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    diff = _diff_inputs(inputs)
    outs = _outputs(fn, inputs)
    if grad_outputs is None:
        grad_outputs = tuple(randn(*o.shape, dtype=o.dtype) for o in outs)

    def vjp(*xs):
        os = _outputs(fn, xs)
        gs = grad(os, [xs[j] for j in diff], grad_outputs, create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(vjp, inputs, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception)
