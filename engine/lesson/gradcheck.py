"""The gradient three ways: finite differences, the closed form, autograd.

The chapter's point: the derivative of the loss with respect to each parameter can be
estimated by nudging the parameter (a central finite difference,
(L(p + h) - L(p - h)) / 2h), worked out by hand (for the line and the mean squared error,
dL/dw = mean(2 (w x + b - y) x) and dL/db = mean(2 (w x + b - y))), or computed by autograd.
All three agree; autograd is the one that scales to any model.

Finite differences and the closed form are evaluated in float64, so the comparison shows
autograd's float32 rounding and not the estimate's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from .. import ops
from .._grad_mode import no_grad
from ..training.models import Line, build_model
from ..tensor import Tensor


@dataclass(frozen=True)
class GradientCheck:
    """One parameter element's gradient, three ways (analytic is None without a closed form).

    `parameter` is the parameter's name as the trainer's snapshot names it (e.g.
    `hidden_linear.weight`) and `index` the element's position in it (() for a number)."""

    parameter: str
    index: tuple
    shape: tuple  # the parameter's shape
    finite_difference: float
    analytic: float | None
    autograd: float
    step: float

    @property
    def name(self) -> str:
        """`w`, or `hidden_linear.weight[0, 0]` for an element of an array."""
        return self.parameter if not self.index else f"{self.parameter}[{', '.join(map(str, self.index))}]"

    @property
    def relative_error(self) -> float:
        """|autograd - reference| / max(|autograd|, |reference|), the reference being the
        closed form when there is one, the finite difference otherwise."""
        reference = self.analytic if self.analytic is not None else self.finite_difference
        scale = max(abs(self.autograd), abs(reference))
        return 0.0 if scale == 0 else abs(self.autograd - reference) / scale


@dataclass(frozen=True)
class GradientChecks:
    """The checks made, and how many parameter elements the model has in all: a big model
    is checked on a sample (each finite difference costs two forward passes)."""

    checks: tuple[GradientCheck, ...]
    total_elements: int

    def __iter__(self) -> Iterator[GradientCheck]:
        return iter(self.checks)

    def __len__(self) -> int:
        return len(self.checks)

    def __getitem__(self, i: int) -> GradientCheck:
        return self.checks[i]

    @property
    def is_sample(self) -> bool:
        return len(self.checks) < self.total_elements

    def describe(self) -> str:
        """'all 2 parameter elements', or 'a sample of 7 of the 73 parameter elements'."""
        if self.is_sample:
            return f"a sample of {len(self.checks)} of the {self.total_elements} parameter elements"
        return f"all {self.total_elements} parameter element{'s' if self.total_elements != 1 else ''}"


def check_gradients(trainer, step: float = 1e-3, max_elements: int = 8) -> GradientChecks:
    """Compare the three gradients of the training loss at the trainer's current parameters.

    For models with many parameters only the first `max_elements` elements of each
    parameter are checked; the result says how many of how many it checked."""
    if not (isinstance(step, (int, float)) and math.isfinite(step) and step > 0):
        raise ValueError(f"finite-difference step must be a positive number (got {step})")
    x_train, y_train = trainer.training_data()
    x = x_train.astype(np.float64)
    y = y_train.astype(np.float64)
    named = list(trainer.model.named_parameters())

    # autograd, on a detached copy so the run's own .grad is untouched
    shadow = build_model(trainer.setup.model, seed=trainer.setup.init_seed, dtype=trainer.dtype)
    shadow.load_state_dict(trainer.model.state_dict())
    loss = ops.mse_loss(shadow(Tensor(np.array(x_train))), Tensor(np.array(y_train)))
    loss.backward()
    auto = {name: p.grad.data.astype(np.float64) for name, p in shadow.named_parameters()}

    # a float64 twin for the finite differences
    twin = build_model(trainer.setup.model, seed=trainer.setup.init_seed, dtype=np.float64)
    twin.load_state_dict(trainer.model.state_dict())
    twin_params = dict(twin.named_parameters())
    x64, y64 = Tensor(x), Tensor(y)

    def loss64() -> float:
        with no_grad():
            return float(ops.mse_loss(twin(x64), y64).data)

    analytic = _line_gradient(trainer.model, x, y) if isinstance(trainer.model, Line) else None
    results = []
    for name, _ in named:
        p = twin_params[name]
        for index in list(np.ndindex(p.data.shape))[:max_elements]:
            original = p.data[index]
            p.data[index] = original + step
            up = loss64()
            p.data[index] = original - step
            down = loss64()
            p.data[index] = original
            results.append(GradientCheck(
                parameter=name,
                index=tuple(int(i) for i in index),
                shape=tuple(p.data.shape),
                finite_difference=(up - down) / (2 * step),
                analytic=None if analytic is None else analytic[name],
                autograd=float(auto[name][index]),
                step=step,
            ))
    total = sum(int(p.data.size) for _, p in named)
    return GradientChecks(tuple(results), total)


def _line_gradient(model: Line, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """The closed form for t_p = w x + b under the mean squared error."""
    w, b = float(model.w.data), float(model.b.data)
    residual = w * x + b - y
    return {"w": float(np.mean(2 * residual * x)), "b": float(np.mean(2 * residual))}
