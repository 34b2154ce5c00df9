"""Random numbers from one seeded generator, as `torch.manual_seed` governs PyTorch's.

The streams differ from PyTorch's (different generators); what carries over is the
contract: the same seed gives the same numbers.
"""
from __future__ import annotations

import numpy as np

from .tensor import Tensor, _shape_args, get_default_dtype, int64

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    global _generator
    _generator = np.random.default_rng(int(seed))
    return _generator


def generator() -> np.random.Generator:
    return _generator


def _dtype(dtype):
    return get_default_dtype() if dtype is None else np.dtype(dtype)


def randn(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    values = _generator.standard_normal(_shape_args(size)).astype(_dtype(dtype))
    return Tensor(values, requires_grad=requires_grad)


def rand(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    values = _generator.random(_shape_args(size)).astype(_dtype(dtype))
    return Tensor(values, requires_grad=requires_grad)


def randint(low, high=None, size=(), dtype=None) -> Tensor:
    if high is None:
        low, high = 0, low
    return Tensor(_generator.integers(low, high, size=tuple(size)).astype(dtype or int64))


def randperm(n: int, dtype=None) -> Tensor:
    return Tensor(_generator.permutation(int(n)).astype(dtype or int64))


def uniform_(t: Tensor, a: float, b: float) -> Tensor:
    t.data[...] = _generator.uniform(a, b, size=t.data.shape)
    return t


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    t.data[...] = _generator.normal(mean, std, size=t.data.shape)
    return t
