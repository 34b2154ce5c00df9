"""The models Kepler trains, built from the engine's own modules.

- `Line`: the chapter's t_c = w * x + b, starting at w = 1, b = 0 as the book does.
- `Polynomial`: y = b + w_1 x + w_2 x^2 + ... + w_K x^K (more freedom than the data may support).
- `MLP`: 1-H-1 with tanh, PyTorch's default initialisation under a seed.

Every model maps a 1-d input of N readings to N predictions.
"""
from __future__ import annotations

import re
import numpy as np

from .. import ops
from ..nn import Linear, Module, Parameter, Tanh
from ..random import manual_seed
from ..tensor import Tensor


class Line(Module):
    """t_p = w * x + b: two parameters, one fused graph node."""

    def __init__(self, w: float = 1.0, b: float = 0.0, dtype=np.float32):
        super().__init__()
        self.w = Parameter(np.array(w, dtype=dtype))
        self.b = Parameter(np.array(b, dtype=dtype))

    def forward(self, x: Tensor) -> Tensor:
        return ops.scale_shift(x, self.w, self.b)


class Polynomial(Module):
    """y = b + sum_k w_k x^k for k = 1..degree, all coefficients starting at 0."""

    def __init__(self, degree: int, dtype=np.float32):
        super().__init__()
        self.degree = degree
        self.w = Parameter(np.zeros(degree, dtype=dtype))
        self.b = Parameter(np.zeros((), dtype=dtype))
        self._cache_key = None
        self._cache = None

    def features(self, x: Tensor) -> Tensor:
        """[N, degree] powers of x; the inputs never need gradients, so cache them."""
        if self._cache_key is not x:
            powers = np.arange(1, self.degree + 1)
            self._cache = Tensor(np.asarray(x.data[:, None] ** powers, dtype=x.data.dtype))
            self._cache_key = x
        return self._cache

    def forward(self, x: Tensor) -> Tensor:
        return ops.linear(self.features(x), self.w.unsqueeze(0), self.b.unsqueeze(0)).reshape(-1)


class MLP(Module):
    """1-H-1 multilayer perceptron with tanh, named as chapter 6 names it."""

    def __init__(self, hidden: int, seed: int = 0, dtype=np.float32):
        super().__init__()
        manual_seed(seed)
        self.hidden_linear = Linear(1, hidden, dtype=dtype)
        self.hidden_activation = Tanh()
        self.output_linear = Linear(hidden, 1, dtype=dtype)

    def forward(self, x: Tensor) -> Tensor:
        hidden = self.hidden_activation(self.hidden_linear(x.unsqueeze(1)))
        return self.output_linear(hidden).reshape(-1)


MODEL_PATTERN = re.compile(r"^(linear|poly:(\d+)|mlp:(\d+))$")
MAX_DEGREE = 12
MAX_HIDDEN = 512


def parse_model(spec: str) -> tuple[str, int]:
    """'linear' | 'poly:K' | 'mlp:H' -> (kind, size); ValueError with the allowed forms."""
    m = MODEL_PATTERN.match(spec.strip().lower())
    if not m:
        raise ValueError(f"model '{spec}' is not one of linear, poly:K (K = 1..{MAX_DEGREE}), mlp:H (H = 1..{MAX_HIDDEN})")
    if m.group(2):
        k = int(m.group(2))
        if not 1 <= k <= MAX_DEGREE:
            raise ValueError(f"polynomial degree {k} is outside 1..{MAX_DEGREE}")
        return "poly", k
    if m.group(3):
        h = int(m.group(3))
        if not 1 <= h <= MAX_HIDDEN:
            raise ValueError(f"hidden size {h} is outside 1..{MAX_HIDDEN}")
        return "mlp", h
    return "linear", 0


def build_model(spec: str, seed: int = 0, dtype=np.float32, line_start: tuple[float, float] = (1.0, 0.0)) -> Module:
    """The model `spec` names; `line_start` is the line's starting (w, b)."""
    kind, size = parse_model(spec)
    if kind == "poly":
        return Polynomial(size, dtype=dtype)
    if kind == "mlp":
        return MLP(size, seed=seed, dtype=dtype)
    return Line(*line_start, dtype=dtype)
