"""How large a learning rate plain gradient descent can take, worked out from the data.

The line and the polynomial predict something linear in their parameters: y = Φ θ, with one
row of Φ per training point, (x, 1) for the line and (x, x², ..., 1) for the polynomial. Their
mean squared error is a quadratic bowl, L(θ) = mean((Φ θ - y)²), whose Hessian does not
depend on θ:

    H = (2 / n) Φᵀ Φ        (+ weight_decay · I when SGD adds weight_decay · θ to the gradient)

A step θ ← θ - lr ∇L multiplies the distance to the minimum along each eigenvector of H by
(1 - lr λ). It shrinks only while |1 - lr λ| < 1, for every eigenvalue: lr < 2 / λ_max, the
edge of stability. Exactly at the edge the stiffest direction flips sign every step without
shrinking (the loss sits still, a period-2 oscillation); above it, each overshoot is bigger
than the last and the loss overflows. lr = 1 / λ_max settles the stiffest direction in one
step and shrinks every other one by (1 - λ / λ_max) per step: the rate the fixes after a
divergence offer, rounded down to a number one would type (1, 2 or 5 times a power of 10).
Momentum only widens the stable range (heavy ball: lr < 2 (1 + β) / λ_max), so 1 / λ_max is
stable with it too.

An MLP's Hessian changes as it learns. `curvature_at_start` estimates its largest eigenvalue
where the run starts (power iteration on Hessian-vector products, each the difference of two
autograd gradients); `stable_rate` takes half the edge that gives, which is a guide, not a
guarantee, for a model whose curvature moves.
"""
from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..tensor import Tensor
from ..training.models import build_model, parse_model
from ..training.trainer import Setup, Split, Trainer


def design_matrix(model: str, x: np.ndarray) -> np.ndarray | None:
    """Φ for a model linear in its parameters (the line, a polynomial), in float64; None for
    an MLP."""
    kind, degree = parse_model(model)
    x = np.asarray(x, dtype=np.float64)
    if kind == "linear":
        degree = 1
    elif kind != "poly":
        return None
    powers = x[:, None] ** np.arange(1, degree + 1)
    return np.column_stack([powers, np.ones_like(x)])


def largest_curvature(model: str, x: np.ndarray, weight_decay: float = 0.0) -> float | None:
    """λ_max of the mean squared error's Hessian on inputs `x` (as the model sees them)."""
    phi = design_matrix(model, x)
    if phi is None or len(phi) == 0:
        return None
    with np.errstate(all="ignore"):
        hessian = 2.0 / len(phi) * (phi.T @ phi)
        top = float(np.linalg.eigvalsh(hessian)[-1]) if np.all(np.isfinite(hessian)) else math.inf
    return top + weight_decay


def round_down(value: float) -> float:
    """The largest of 1, 2 or 5 times a power of ten that is at most `value`: 0.0135 -> 0.01."""
    value *= 1 + 1e-9  # 0.49999999999999994 (1 / λ_max of a standardised line, computed) is 0.5
    exponent = math.floor(math.log10(value))
    for mantissa in (5, 2, 1):
        candidate = float(f"{mantissa}e{exponent}")
        if candidate <= value:
            return candidate
    return float(f"1e{exponent}")  # not reached: 1e{exponent} <= value by the choice of exponent


def model_inputs(setup: Setup, x: np.ndarray, split: Split) -> np.ndarray:
    """The training inputs as `setup`'s model sees them (its input transform fitted, as the
    trainer fits it, on the training points)."""
    x_train = np.asarray(x, dtype=np.float64)[split.train]
    return Trainer._make_transform(setup, x_train).apply(x_train)


def curvature_at_start(setup: Setup, x: np.ndarray, y: np.ndarray, split: Split, iterations: int = 60) -> float:
    """|λ| largest of the training loss's Hessian at the model's initial parameters, in float64:
    power iteration, H v ≈ (∇L(θ + εv) - ∇L(θ - εv)) / 2ε with the engine's autograd."""
    model = build_model(setup.model, seed=setup.init_seed, dtype=np.float64, line_start=(setup.init_w, setup.init_b))
    params = list(model.parameters())
    inputs = Tensor(model_inputs(setup, x, split))
    targets = Tensor(np.asarray(y, dtype=np.float64)[split.train])
    start = [p.data.copy() for p in params]

    def gradient_at(direction: np.ndarray, step: float) -> np.ndarray:
        offset = 0
        for p, p0 in zip(params, start):
            p.data = p0 + step * direction[offset:offset + p0.size].reshape(p0.shape)
            p.grad = None
            offset += p0.size
        ops.mse_loss(model(inputs), targets).backward()
        return np.concatenate([np.ravel(p.grad.data) for p in params])

    size = sum(p0.size for p0 in start)
    direction = np.random.default_rng(0).standard_normal(size)  # fixed: the same answer every time
    direction /= np.linalg.norm(direction)
    scale = max(1.0, float(np.max(np.abs(np.concatenate([np.ravel(p0) for p0 in start])))))
    epsilon = 1e-5 * scale
    top = 0.0
    with np.errstate(all="ignore"):
        for _ in range(iterations):
            product = (gradient_at(direction, epsilon) - gradient_at(direction, -epsilon)) / (2 * epsilon)
            norm = float(np.linalg.norm(product))
            if not math.isfinite(norm) or norm == 0:
                return norm if math.isfinite(norm) else math.inf
            top = abs(float(direction @ product))
            direction = product / norm
    return top


def edge_of_stability(setup: Setup, x: np.ndarray, split: Split, weight_decay: float = 0.0) -> float | None:
    """2 / λ_max: plain gradient descent at a learning rate below this converges on `setup`
    (None: an MLP, whose curvature moves, or no training point)."""
    top = largest_curvature(setup.model, model_inputs(setup, x, split), weight_decay)
    return None if top is None or not top > 0 else 2.0 / top


def stable_rate(setup: Setup, x: np.ndarray, split: Split, weight_decay: float = 0.0,
                y: np.ndarray | None = None) -> float | None:
    """1 / λ_max rounded down to a number one would type: half the edge of stability, or less.
    For an MLP (given the targets `y`), from its curvature where it starts."""
    edge = edge_of_stability(setup, x, split, weight_decay)
    if edge is None and y is not None and parse_model(setup.model)[0] == "mlp" and len(split.train):
        top = curvature_at_start(setup, x, y, split) + weight_decay
        edge = 2.0 / top if top > 0 else None
    if edge is None or not math.isfinite(edge) or edge <= 0:
        return None
    return round_down(edge / 2)
