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

import numpy as np

from .. import ops
from .._grad_mode import no_grad
from ..training.models import Line, build_model
from ..tensor import Tensor


@dataclass(frozen=True)
class GradientCheck:
    """One parameter element's gradient, three ways (analytic is None without a closed form)."""

    name: str
    finite_difference: float
    analytic: float | None
    autograd: float
    step: float

    @property
    def relative_error(self) -> float:
        """|autograd - reference| / max(|autograd|, |reference|), the reference being the
        closed form when there is one, the finite difference otherwise."""
        reference = self.analytic if self.analytic is not None else self.finite_difference
        scale = max(abs(self.autograd), abs(reference))
        return 0.0 if scale == 0 else abs(self.autograd - reference) / scale


def check_gradients(trainer, step: float = 1e-3, max_elements: int = 8) -> list[GradientCheck]:
    """Compare the three gradients of the training loss at the trainer's current parameters.

    For models with many parameters only the first `max_elements` elements are checked
    (each finite difference costs two forward passes)."""
    if not (isinstance(step, (int, float)) and math.isfinite(step) and step > 0):
        raise ValueError(f"finite-difference step must be a positive number (got {step})")
    x = trainer._x_train.data.astype(np.float64)
    y = trainer._y_train.data.astype(np.float64)
    named = list(trainer.model.named_parameters())

    # autograd, on a detached copy so the run's own .grad is untouched
    shadow = build_model(trainer.setup.model, seed=trainer.setup.init_seed, dtype=trainer._dtype)
    shadow.load_state_dict(trainer.model.state_dict())
    loss = ops.mse_loss(shadow(Tensor(trainer._x_train.data)), Tensor(trainer._y_train.data))
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
            label = name if p.data.ndim == 0 else f"{name}[{', '.join(map(str, index))}]"
            results.append(GradientCheck(
                name=label,
                finite_difference=(up - down) / (2 * step),
                analytic=None if analytic is None else analytic[name],
                autograd=float(auto[name][index]),
                step=step,
            ))
    return results


def _line_gradient(model: Line, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """The closed form for t_p = w x + b under the mean squared error."""
    w, b = float(model.w.data), float(model.b.data)
    residual = w * x + b - y
    return {"w": float(np.mean(2 * residual * x)), "b": float(np.mean(2 * residual))}
