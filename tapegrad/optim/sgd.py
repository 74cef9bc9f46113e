"""SGD with momentum, dampening, Nesterov momentum, weight decay and maximize (PyTorch's update rule)."""

from __future__ import annotations

from .optimizer import Optimizer, required


class SGD(Optimizer):
    """Stochastic gradient descent.

    g = grad (+ weight_decay * p);  buf = g (first step), else momentum * buf + (1 - dampening) * g;
    g = g + momentum * buf (nesterov) or buf;  p -= lr * g.

    >>> import tapegrad as tg
    >>> w = tg.nn.Parameter(tg.tensor([1.0, 2.0]))
    >>> opt = tg.optim.SGD([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step()
    >>> w
    Parameter containing:
    tensor([0.8, 1.6], requires_grad=True)
    """

    def __init__(self, params=None, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, *,
                 maximize=False):
        _check_hyper("SGD", lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum > 0 and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))

    def _update(self, p, grad, state, group):
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad.add(p, alpha=group["weight_decay"])
        momentum = group["momentum"]
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.detach().clone()
            else:
                buf.mul_(momentum).add_(grad, alpha=1 - group["dampening"])
            grad = grad.add(buf, alpha=momentum) if group["nesterov"] else buf
        p.add_(grad, alpha=-group["lr"])


def _check_hyper(name, **values):
    for k, v in values.items():
        if v is not required and not (isinstance(v, (int, float)) and v >= 0):
            raise ValueError(f"{name}: invalid {k} {v!r}; it must be a number >= 0")
