"""Kepler's autograd engine: the subset of PyTorch that chapter 5 of *Deep Learning with
PyTorch* uses, on numpy, with the same names and semantics, so that

    import engine as torch

runs the chapter's code. Only numpy and the standard library are imported here.
"""
from . import ops as _ops  # installs Tensor's operators
from ._grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .ops import (
    abs,
    clamp,
    exp,
    floor_divide,
    log,
    matmul,
    mean,
    pow,
    relu,
    sigmoid,
    sqrt,
    sum,
    tanh,
    where,
)
from .random import manual_seed, rand, randint, randn, randperm
from .tensor import (
    Size,
    Tensor,
    arange,
    as_tensor,
    bool_,
    cat,
    double,
    empty,
    float32,
    float64,
    from_numpy,
    full,
    full_like,
    get_default_dtype,
    int64,
    is_tensor,
    isfinite,
    isnan,
    linspace,
    long,
    numel,
    ones,
    ones_like,
    set_default_dtype,
    stack,
    tensor,
    zeros,
    zeros_like,
)
from .tensor import float as float  # noqa: PLC0414 - torch.float
from . import nn, optim  # noqa: E402

bool = bool_  # noqa: A001 - torch.bool

_ = _ops
# What `from engine import *` gives, as torch's names: written out, so that adding a name is a
# decision (the training application in engine.training and engine.lesson is not part of it).
__all__ = [
    "Size", "Tensor", "abs", "arange", "as_tensor", "bool", "cat", "clamp", "double", "empty",
    "enable_grad", "exp", "float", "float32", "float64", "floor_divide", "from_numpy", "full",
    "full_like", "get_default_dtype", "int64", "is_grad_enabled", "is_tensor", "isfinite", "isnan",
    "linspace", "log", "long", "manual_seed", "matmul", "mean", "nn", "no_grad", "numel", "ones",
    "ones_like", "optim", "pow", "rand", "randint", "randn", "randperm", "relu", "set_default_dtype",
    "set_grad_enabled", "sigmoid", "sqrt", "stack", "sum", "tanh", "tensor", "where", "zeros",
    "zeros_like",
]
