"""Optimizer: the base of SGD, Adam, ... Holds parameter groups and per-parameter state (tensors updated in
place, so that a tracer can capture a step), and speaks both idioms: PyTorch's zero_grad() / step() and
TensorFlow's apply_gradients(zip(grads, vars)) / minimize(loss_fn, var_list). Subclasses write _update().
"""

from __future__ import annotations

import copy

from ..autograd.grad_mode import enable_grad, no_grad
from ..errors import TapegradError
from ..tensor import Tensor


class _Required:
    """Marks a hyper-parameter without a default (lr of SGD)."""

    def __repr__(self):
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class: Optimizer(params, defaults) with params an iterable of tensors or of dicts (groups).

    params may be None (the TensorFlow idiom, opt = tg.optim.Adam(lr=1e-3)): the variables then join the
    first group the first time apply_gradients or minimize sees them.
    """

    def __init__(self, params, defaults: dict):
        self.defaults = defaults
        self.state: dict = {}
        self.param_groups: list = []
        if params is None:
            return
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of tensors or of dicts, got a single Tensor; "
                "pass [t] or model.parameters()"
            )
        groups = list(params)
        if not groups:
            raise ValueError(
                f"{type(self).__name__} got an empty parameter list: the model has no parameters, or the "
                "generator model.parameters() was already used up (pass list(model.parameters()) to reuse it)"
            )
        for group in groups if isinstance(groups[0], dict) else [{"params": groups}]:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyper-parameters (those not given take the defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"add_param_group: expected a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        for p in group["params"]:
            _check_param(type(self).__name__, p)
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"{type(self).__name__}: parameter group didn't specify a value of required "
                                 f"optimization parameter {name!r}")
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]) or len({id(p) for p in group["params"]}) < len(group["params"]):
            raise ValueError(
                f"{type(self).__name__}: some parameters appear in more than one parameter group (or twice in one); "
                "each parameter must be updated by exactly one group"
            )
        self.param_groups.append(group)

    # *** the PyTorch idiom ***

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear .grad of every parameter (None by default, as PyTorch)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:  # in place, as PyTorch: an inf gradient becomes 0, not inf * 0 = nan
                    p.grad = p.grad.detach()
                    p.grad.zero_()

    def step(self, closure=None):
        """Update every parameter that has a .grad; closure (optional) re-evaluates and returns the loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        self._check_grad(p)
                        self._update(p, p.grad, self.state.setdefault(p, {}), group)
        return loss

    def _update(self, p, grad, state, group) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define _update(param, grad, state, group)")

    def _check_grad(self, p):
        if p.grad.shape != p.shape:
            raise ValueError(
                f"{type(self).__name__}.step: a gradient of shape {tuple(p.grad.shape)} was given for a parameter of "
                f"shape {tuple(p.shape)}; they must match"
            )

    # *** the TensorFlow idiom, on the same object ***

    def apply_gradients(self, grads_and_vars) -> None:
        """Update each variable with the gradient paired with it: opt.apply_gradients(zip(grads, vars)).

        Pairs whose gradient is None are skipped. Variables not yet in a group join the first one.
        """
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        known = {id(p) for group in self.param_groups for p in group["params"]}
        new = [v for _, v in pairs if id(v) not in known]
        if new:
            self._adopt(new)
        saved = {id(p): (p, p.grad) for group in self.param_groups for p in group["params"]}
        try:
            for p, _ in saved.values():
                p.grad = None
            for g, v in pairs:
                v.grad = g if isinstance(g, Tensor) else Tensor(g)
            self.step()
        finally:  # the .grad fields are the user's: leave them as they were
            for p, grad in saved.values():
                p.grad = grad

    def minimize(self, loss, var_list, tape=None):
        """Compute d loss / d var_list and apply it; returns the loss value.

        loss is a zero-argument callable (recomputed here), or a tensor together with the GradientTape that
        recorded it. var_list may also be a callable returning the list.
        """
        from ..autograd import grad as autograd_grad

        var_list = list(var_list() if callable(var_list) else var_list)
        if callable(loss):
            with enable_grad():
                value = loss()
            grads = autograd_grad(value, var_list, allow_unused=True)
        elif tape is not None:
            value = loss
            grads = tape.gradient(loss, var_list)
        else:
            raise TypeError(
                "minimize: loss must be a zero-argument callable returning the loss (or a tensor, with tape= the "
                "GradientTape that recorded it)"
            )
        self.apply_gradients(zip(grads, var_list))
        return value.detach() if isinstance(value, Tensor) else value

    @property
    def learning_rate(self):
        """TensorFlow's name for the first group's lr (settable)."""
        return self.param_groups[0]["lr"] if self.param_groups else self.defaults["lr"]

    @learning_rate.setter
    def learning_rate(self, value):
        self.defaults["lr"] = value
        for group in self.param_groups:
            group["lr"] = value

    def _adopt(self, variables):
        for v in variables:
            _check_param(type(self).__name__, v)
        if not self.param_groups:
            self.add_param_group({"params": variables})
        else:
            self.param_groups[0]["params"].extend(variables)

    # *** state_dict ***

    def state_dict(self) -> dict:
        """{'state': {index: {name: tensor}}, 'param_groups': [{hyper-parameters, 'params': [index, ...]}]}.

        Parameters are numbered in group order, as PyTorch does, so the dict is independent of object identity.
        """
        index, groups = {}, []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: s for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyper-parameters and state saved by state_dict() from an optimizer over the same parameters.

        Checked first: the number of groups and their sizes must match, otherwise nothing changes.
        """
        groups = state_dict.get("param_groups") if isinstance(state_dict, dict) else None
        if groups is None or "state" not in state_dict:
            raise ValueError("load_state_dict: expected a dict with 'state' and 'param_groups' (from state_dict())")
        sizes, saved_sizes = [len(g["params"]) for g in self.param_groups], [len(g["params"]) for g in groups]
        if sizes != saved_sizes:
            raise OptimizerStateError(
                f"{type(self).__name__}.load_state_dict: the saved state has parameter groups of sizes {saved_sizes}, "
                f"this optimizer has {sizes}; build the optimizer over the same parameters in the same order"
            )
        by_index = {i: p for group, saved in zip(self.param_groups, groups)
                    for i, p in zip(saved["params"], group["params"])}
        new_state = {}
        for i, s in state_dict["state"].items():
            p = by_index.get(int(i))
            if p is not None:
                new_state[p] = {k: _state_value(p, k, v) for k, v in s.items()}
        for group, saved in zip(self.param_groups, groups):
            group.update({k: copy.deepcopy(v) for k, v in saved.items() if k != "params"})
        self.state = new_state


class OptimizerStateError(TapegradError):
    """load_state_dict got a state that does not fit this optimizer's parameters (nothing was changed)."""


def _check_param(owner, p):
    if not isinstance(p, Tensor):
        raise TypeError(f"{owner} can only optimize Tensors, got a {type(p).__name__}")
    if not p.is_leaf:
        raise ValueError(
            f"{owner} can't optimize a non-leaf Tensor (computed by {p.grad_fn.name()}): its value comes from "
            "other tensors. Optimize the leaves it is computed from, or detach it: t = t.detach().requires_grad_()"
        )


def _state_value(p, key, v):
    """A copy of a saved state entry; floating tensors take the parameter's dtype (except the step count)."""
    if not isinstance(v, Tensor):
        return copy.deepcopy(v)
    v = v.detach().clone()
    if key != "step" and v.dtype.is_floating_point and p.dtype.is_floating_point and v.dtype is not p.dtype:
        v = v.to(p.dtype)
    return v
