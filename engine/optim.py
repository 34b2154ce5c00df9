"""Optimizers: how a gradient becomes a step (PyTorch's `torch.optim`, same formulas).

SGD, with g = grad + weight_decay * p:
    momentum buffer  b <- g (first step), then b <- momentum * b + (1 - dampening) * g
    direction        d = g + momentum * b if nesterov else b   (d = g without momentum)
    step             p <- p - lr * d

Adam, with g = grad + weight_decay * p and t the step count:
    m <- beta1 * m + (1 - beta1) * g          (first moment)
    v <- beta2 * v + (1 - beta2) * g^2        (second moment)
    p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

Hyperparameters live in `param_groups` (a list of dicts), so they can be changed between
steps without losing the optimizer's state, as in PyTorch.

A step changes each parameter in place, and counts as an in-place change (its version goes
up): a loss computed before the step cannot be differentiated after it, as in PyTorch.
"""
from __future__ import annotations

import math

import numpy as np

from .tensor import _STAMPS, Tensor, _box, _bump_all, _inplace_clock, _type_name


_STAMPS_KEPT = 4 * _STAMPS  # see tensor._bump


class Optimizer:
    defaults: dict = {}

    def __init__(self, params, defaults: dict):
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, "
                f"but got {_type_name(params)}"
            )
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        if isinstance(params[0], dict):
            groups = params
        else:
            groups = [{"params": params}]
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.state: dict = {}
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict) -> None:
        group = dict(group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        p.grad.data[...] = 0

    def state_dict(self) -> dict:
        index = {}
        for group in self.param_groups:
            for p in group["params"]:
                index.setdefault(id(p), len(index))
        return {
            "state": {index[k]: {n: (v.copy() if isinstance(v, np.ndarray) else v) for n, v in s.items()}
                      for k, s in self.state.items() if k in index},
            "param_groups": [dict(g, params=[index[id(p)] for p in g["params"]]) for g in self.param_groups],
        }

    def load_state_dict(self, state_dict: dict) -> None:
        params = [p for g in self.param_groups for p in g["params"]]
        self.state = {id(params[i]): {n: (v.copy() if isinstance(v, np.ndarray) else v) for n, v in s.items()}
                      for i, s in state_dict["state"].items()}
        for group, saved in zip(self.param_groups, state_dict["param_groups"]):
            group.update({k: v for k, v in saved.items() if k != "params"})

    def step(self):
        raise NotImplementedError


def _check(name: str, value: float, below: float | None = None) -> None:
    """PyTorch's checks: value >= 0 (and < below); stricter than PyTorch, also finite."""
    if not (isinstance(value, (int, float)) and math.isfinite(value)) or value < 0:
        raise ValueError(f"Invalid {name}: {value}")
    if below is not None and value >= below:
        raise ValueError(f"Invalid {name}: {value}")


class SGD(Optimizer):
    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        _check("learning rate", lr)
        _check("momentum value", momentum)
        _check("weight_decay value", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            lr = group["lr"]
            momentum = group["momentum"]
            dampening = group["dampening"]
            weight_decay = group["weight_decay"]
            nesterov = group["nesterov"]
            if not momentum and not weight_decay:
                # Plain gradient descent, the chapter's case: nothing but p <- p - lr * grad.
                lr_array = None
                clock = _inplace_clock[0] = _inplace_clock[0] + 1  # one tick for all (tensor._bump)
                for p in group["params"]:
                    grad = p.grad
                    if grad is None:
                        continue
                    # tensor._bump(p, clock), written out: this loop is most of a step's cost
                    box = p._version_box or _box(p)
                    box[0] += 1
                    box.append(clock)
                    if len(box) > _STAMPS_KEPT:
                        del box[1:-_STAMPS]
                    g = grad.data
                    data = p.data
                    if not data.ndim:
                        # A scalar parameter (the line's w and b): numpy's scalar arithmetic gives
                        # the same float32 result as the array ufuncs at a fifth of their cost.
                        data[()] = data[()] - lr * g[()]
                        continue
                    # lr as a 0-d array of the gradient's dtype gives the very product `lr * g`
                    # gives (numpy rounds a Python float to the array's dtype first) in half the
                    # time: mixing a Python float into a ufunc is the slow path.
                    if lr_array is None or lr_array.dtype != g.dtype:
                        lr_array = np.array(lr, dtype=g.dtype)
                    data -= g * lr_array
                continue
            _bump_all(group["params"])  # the parameters with a gradient change below
            for p in group["params"]:
                if p.grad is None:
                    continue
                data = p.data
                g = p.grad.data
                if weight_decay:
                    g = g + weight_decay * data
                if momentum:
                    state = self.state.setdefault(id(p), {})
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = np.array(g, copy=True)
                    elif not buf.ndim:
                        # scalar arithmetic on a scalar parameter, stored after each step as the
                        # in-place ops below do (same rounding, a third of the cost)
                        buf[()] = buf[()] * momentum
                        buf[()] = buf[()] + (1 - dampening) * g[()]
                    else:
                        buf *= momentum
                        buf += (1 - dampening) * g
                    g = g + momentum * buf if nesterov else buf
                if not data.ndim:
                    data[()] = data[()] - lr * g[()]
                else:
                    data -= lr * g
        return loss


class Adam(Optimizer):
    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False):
        _check("learning rate", lr)
        _check("epsilon value", eps)
        _check("beta parameter at index 0", betas[0], below=1.0)
        _check("beta parameter at index 1", betas[1], below=1.0)
        _check("weight_decay value", weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad))

    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            _bump_all(group["params"])  # the parameters with a gradient change below
            lr = group["lr"]
            beta1, beta2 = group["betas"]
            eps = group["eps"]
            weight_decay = group["weight_decay"]
            amsgrad = group["amsgrad"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                data = p.data
                g = p.grad.data
                if weight_decay:
                    g = g + weight_decay * data
                state = self.state.get(id(p))
                if state is None:
                    state = self.state[id(p)] = {
                        "step": 0,
                        "exp_avg": np.zeros_like(data),
                        "exp_avg_sq": np.zeros_like(data),
                    }
                    if amsgrad:
                        state["max_exp_avg_sq"] = np.zeros_like(data)
                state["step"] += 1
                t = state["step"]
                m, v = state["exp_avg"], state["exp_avg_sq"]
                if not data.ndim and not amsgrad:
                    _adam_scalar(data, g, m, v, lr, beta1, beta2, eps, t)
                    continue
                m += (g - m) * (1 - beta1)  # m.lerp_(g, 1 - beta1)
                v *= beta2
                v += (1 - beta2) * g * g
                bias_correction1 = 1 - beta1**t
                bias_correction2 = 1 - beta2**t
                second = v
                if amsgrad:
                    np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
                    second = state["max_exp_avg_sq"]
                denom = np.sqrt(second) / math.sqrt(bias_correction2) + eps
                data -= (lr / bias_correction1) * (m / denom)
        return loss


def _adam_scalar(data, g, m, v, lr, beta1, beta2, eps, t) -> None:
    """Adam's step for a scalar parameter (the line's w and b), the same formula as the array
    path in the same order, in numpy scalar arithmetic, which rounds exactly as the ufuncs do
    on 0-d arrays at a fraction of their cost (3x faster per step)."""
    m[()] = m[()] + (g[()] - m[()]) * (1 - beta1)
    v[()] = v[()] * beta2  # stored (rounded) between the two halves, as `v *= beta2` does
    v[()] = v[()] + (1 - beta2) * g[()] * g[()]
    second = v[()]
    # sqrt in double then rounded to the parameter's type: exactly the float32 sqrt
    # (a correctly rounded sqrt survives double rounding from a format this much wider).
    denom = type(second)(math.sqrt(second)) / math.sqrt(1 - beta2**t) + eps
    data[()] = data[()] - (lr / (1 - beta1**t)) * (m[()] / denom)
