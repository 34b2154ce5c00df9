"""Every differentiable operation, each next to its derivative.

An op computes its result with numpy and hands `Tensor._make` a backward function that maps
g = dL/d(out) to dL/d(input) for each input. Broadcasting is PyTorch's (and numpy's): an input
that was stretched to the output's shape receives the gradient summed back over the stretched
dimensions (`unbroadcast`).

Python numbers are "weak" scalars as in PyTorch: `float32_tensor * 0.5` stays float32.

Each op passes `_make` the tensors its backward function reads (`saved`, None for its own
result), the ones PyTorch saves for the same op: an in-place change to one of them before
backward() is then an error, as in PyTorch, instead of a silently wrong gradient. Ops whose
result is a view of their input (reshape, indexing, ...) share the input's version counter.

log 0, 1/0, 0/0, exp(1000) and the like give -inf, inf or nan as in PyTorch, without numpy's
RuntimeWarnings (see `_quiet_set` in tensor.py).

Backward functions only read g. The one exception is opt-in, for memory on large batches: a
backward function marked `reuses_gradient` also takes `owned`, which the engine sets when
nothing else holds g, and may then write its result into g (tanh does).
"""
from __future__ import annotations

import numpy as np

from .tensor import Tensor, _index_to_numpy, _quiet_reset, _quiet_set, float64, get_default_dtype, int64

_make = Tensor._make


def unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum `g` back down to `shape`, undoing numpy/PyTorch broadcasting."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g


def _fix_dtype(result, *operands):
    """numpy promotes int/int division and int*float to float64; PyTorch gives float32."""
    if isinstance(result, np.ndarray) or isinstance(result, np.generic):
        if result.dtype == float64 and not any(
            isinstance(o, np.ndarray) and o.dtype == float64 for o in operands
        ):
            return np.asarray(result, dtype=get_default_dtype())
        return result
    return np.asarray(result)


def _arr(x):
    return x.data if isinstance(x, Tensor) else x



def _quiet(backward):
    """Run a backward function without numpy's warnings (1/x at 0 is inf, as in PyTorch)."""
    def quiet_backward(g):
        token = _quiet_set()
        try:
            return backward(g)
        finally:
            _quiet_reset(token)

    return quiet_backward


# ---------------------------------------------------------------------- arithmetic
def add(a, b) -> Tensor:
    a_d, b_d = _arr(a), _arr(b)
    out = _fix_dtype(a_d + b_d, a_d, b_d)
    a, b = _tensors(a, b)

    def backward(g):  # d(a+b)/da = 1, d(a+b)/db = 1
        return unbroadcast(g, a.data.shape), unbroadcast(g, b.data.shape)

    return _make(out, (a, b), backward, "AddBackward0")


def sub(a, b) -> Tensor:
    a_d, b_d = _arr(a), _arr(b)
    out = _fix_dtype(a_d - b_d, a_d, b_d)
    a, b = _tensors(a, b)

    def backward(g):  # d(a-b)/da = 1, d(a-b)/db = -1
        return unbroadcast(g, a.data.shape), unbroadcast(-g, b.data.shape)

    return _make(out, (a, b), backward, "SubBackward0")


def mul(a, b) -> Tensor:
    a_d, b_d = _arr(a), _arr(b)
    out = _fix_dtype(a_d * b_d, a_d, b_d)
    a, b = _tensors(a, b)

    def backward(g):  # d(ab)/da = b, d(ab)/db = a
        ga = unbroadcast(g * b.data, a.data.shape) if a.requires_grad else None
        gb = unbroadcast(g * a.data, b.data.shape) if b.requires_grad else None
        return ga, gb

    # a's gradient reads b and b's reads a: keep what is needed, as PyTorch does
    saved = ((b, a) if b.requires_grad else (b,)) if a.requires_grad else (a,)
    return _make(out, (a, b), backward, "MulBackward0", saved)


def div(a, b) -> Tensor:
    a_d, b_d = _arr(a), _arr(b)
    token = _quiet_set()
    try:
        out = _fix_dtype(a_d / b_d, a_d, b_d)
    finally:
        _quiet_reset(token)
    a, b = _tensors(a, b)

    @_quiet
    def backward(g):  # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
        ga = unbroadcast(g / b.data, a.data.shape) if a.requires_grad else None
        gb = unbroadcast(-g * a.data / (b.data * b.data), b.data.shape) if b.requires_grad else None
        return ga, gb

    return _make(out, (a, b), backward, "DivBackward0", (a, b) if b.requires_grad else (b,))


def neg(a: Tensor) -> Tensor:
    def backward(g):  # d(-a)/da = -1
        return (-g,)

    return _make(-a.data, (a,), backward, "NegBackward0")


def pow(a, exponent) -> Tensor:  # noqa: A001 - PyTorch name
    if not isinstance(a, Tensor):  # number ** tensor
        return _rpow(a, exponent)
    if isinstance(exponent, Tensor):
        return _pow_tensor(a, exponent)
    x = a.data
    if exponent == 2:  # the squared error: finite in, finite (or overflowed) out
        def square_backward(g):  # d(x^2)/dx = 2x
            return (g * (2 * x),)

        return _make(_fix_dtype(x**2, x), (a,), square_backward, "PowBackward0", (a,))
    token = _quiet_set()
    try:
        out = _fix_dtype(x**exponent, x)
    finally:
        _quiet_reset(token)

    @_quiet
    def backward(g):  # d(x^p)/dx = p x^(p-1); 0 for p = 0, even at x = 0 (PyTorch's rule)
        if exponent == 0:
            return (np.zeros_like(g),)
        return (g * (exponent * x ** (exponent - 1)),)

    return _make(out, (a,), backward, "PowBackward0", (a,))


def _pow_tensor(a: Tensor, b: Tensor) -> Tensor:
    token = _quiet_set()
    try:
        out = _fix_dtype(a.data**b.data, a.data, b.data)
    finally:
        _quiet_reset(token)

    @_quiet
    def backward(g):
        # d(a^b)/da = b a^(b-1), 0 where b = 0; d(a^b)/db = a^b ln a, 0 where a = 0 and b >= 0
        # (PyTorch's rules: the limits, where the formula would say 0 * inf = nan)
        ga = gb = None
        if a.requires_grad:
            slope = b.data * a.data ** (b.data - 1)
            ga = unbroadcast(g * np.where(b.data == 0, 0, slope), a.data.shape)
        if b.requires_grad:
            slope = out * np.log(a.data)
            gb = unbroadcast(g * np.where((a.data == 0) & (b.data >= 0), 0, slope), b.data.shape)
        return ga, gb

    return _make(out, (a, b), backward, "PowBackward1", (a, b, None))


def _rpow(base, e: Tensor) -> Tensor:
    token = _quiet_set()
    try:
        out = _fix_dtype(base**e.data, e.data)
    finally:
        _quiet_reset(token)

    @_quiet
    def backward(g):  # d(c^e)/de = c^e ln c; 0 for c = 0 where e >= 0 (PyTorch's rule)
        slope = out * np.log(base)
        if base == 0:
            slope = np.where(e.data >= 0, 0, slope)
        return (g * slope,)

    return _make(out, (e,), backward, "PowBackward2", (e, None))


_INTEGER_KINDS = frozenset("iub")  # numpy's dtype kinds of integers and booleans


def floor_divide(a, b) -> Tensor:
    """a // b, rounded toward minus infinity (Python's and PyTorch's `//`). No gradient: as in
    PyTorch, the result of float inputs that require grad does too, but backward refuses."""
    a_d, b_d = _arr(a), _arr(b)
    if np.asarray(a_d).dtype.kind in _INTEGER_KINDS and np.asarray(b_d).dtype.kind in _INTEGER_KINDS \
            and np.any(np.asarray(b_d) == 0):
        raise RuntimeError("ZeroDivisionError")
    token = _quiet_set()
    try:
        out = _fix_dtype(np.floor_divide(a_d, b_d), a_d, b_d)
    finally:
        _quiet_reset(token)
    a, b = _tensors(a, b)

    def backward(g):
        raise RuntimeError("derivative for aten::floor_divide is not implemented")

    return _make(out, (a, b), backward, "torch::autograd::NotImplemented")


def matmul(a, b) -> Tensor:
    a, b = _tensors(a, b)
    x, y = a.data, b.data
    out = np.matmul(x, y)

    def backward(g):
        # out = x @ y  =>  dx = g @ y^T, dy = x^T @ g  (with 1-d and batched cases)
        ga = gb = None
        if x.ndim == 1 and y.ndim == 1:  # dot product
            ga = g * y if a.requires_grad else None
            gb = g * x if b.requires_grad else None
            return ga, gb
        xm = x[None, :] if x.ndim == 1 else x
        ym = y[:, None] if y.ndim == 1 else y
        gm = g
        if x.ndim == 1:
            gm = np.expand_dims(gm, -2)
        if y.ndim == 1:
            gm = np.expand_dims(gm, -1)
        if a.requires_grad:
            ga = np.matmul(gm, np.swapaxes(ym, -1, -2))
            ga = unbroadcast(ga, xm.shape).reshape(x.shape) if ga.shape != xm.shape else ga.reshape(x.shape)
        if b.requires_grad:
            gb = np.matmul(np.swapaxes(xm, -1, -2), gm)
            gb = unbroadcast(gb, ym.shape).reshape(y.shape) if gb.shape != ym.shape else gb.reshape(y.shape)
        return ga, gb

    saved = ((b, a) if b.requires_grad else (b,)) if a.requires_grad else (a,)
    return _make(out, (a, b), backward, "MmBackward0", saved)


def _tensors(a, b):
    if not isinstance(a, Tensor):
        a = Tensor(np.asarray(a, dtype=b.data.dtype) if _is_number(a) else np.asarray(a))
    if not isinstance(b, Tensor):
        b = Tensor(np.asarray(b, dtype=a.data.dtype) if _is_number(b) else np.asarray(b))
    return a, b


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


# ---------------------------------------------------------------------- elementwise
def exp(a: Tensor) -> Tensor:
    token = _quiet_set()
    try:
        out = np.exp(a.data)
    finally:
        _quiet_reset(token)

    def backward(g):  # d e^x = e^x
        return (g * out,)

    return _make(out, (a,), backward, "ExpBackward0", (None,))


def log(a: Tensor) -> Tensor:
    x = a.data
    token = _quiet_set()
    try:
        out = np.log(x)
    finally:
        _quiet_reset(token)

    @_quiet
    def backward(g):  # d ln x = 1/x
        return (g / x,)

    return _make(out, (a,), backward, "LogBackward0", (a,))


def sqrt(a: Tensor) -> Tensor:
    token = _quiet_set()
    try:
        out = np.sqrt(a.data)
    finally:
        _quiet_reset(token)

    @_quiet
    def backward(g):  # d sqrt(x) = 1 / (2 sqrt(x))
        return (g / (2 * out),)

    return _make(out, (a,), backward, "SqrtBackward0", (None,))


def abs(a: Tensor) -> Tensor:  # noqa: A001 - PyTorch name
    x = a.data

    def backward(g):  # d|x| = sign(x) (0 at 0, as PyTorch)
        return (g * np.sign(x),)

    return _make(np.abs(x), (a,), backward, "AbsBackward0", (a,))


def tanh(a: Tensor) -> Tensor:
    out = np.tanh(a.data)

    def backward(g, owned=False):  # d tanh = 1 - tanh^2
        if (out.size < 4 * _BLOCK or g.dtype != out.dtype or g.shape != out.shape
                or not (out.flags.c_contiguous and g.flags.c_contiguous)):
            return (g * (1 - out * out),)
        # A large batch: the same three operations block by block, so each block stays in
        # cache between them, written into g itself when the engine says nothing else holds
        # it (`owned`, see tensor._backward_chain) or else into one fresh array: 2x faster at
        # 10,000 x 64 than three fresh arrays, and one large allocation fewer when owned.
        result = g if owned else np.empty(out.shape, dtype=out.dtype)
        scratch = np.empty(_BLOCK, dtype=out.dtype)
        flat_out, flat_g, flat_result = out.reshape(-1), g.reshape(-1), result.reshape(-1)
        for start in range(0, flat_out.size, _BLOCK):
            out_block = flat_out[start:start + _BLOCK]
            factor = scratch[:out_block.size]
            np.multiply(out_block, out_block, out=factor)
            np.subtract(1, factor, out=factor)
            np.multiply(flat_g[start:start + _BLOCK], factor, out=flat_result[start:start + _BLOCK])
        return (result,)

    if out.size >= 4 * _BLOCK:
        backward.reuses_gradient = True  # tells the engine to say when g is owned
    return _make(out, (a,), backward, "TanhBackward0", (None,))


def sigmoid(a: Tensor) -> Tensor:
    x = a.data
    out = np.empty_like(x)
    # Split by sign so exp never overflows.
    pos = x >= 0
    out[pos] = 1 / (1 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1 + ex)

    def backward(g):  # d sigmoid = s (1 - s)
        return (g * out * (1 - out),)

    return _make(out, (a,), backward, "SigmoidBackward0", (None,))


def relu(a: Tensor) -> Tensor:
    x = a.data
    mask = x > 0
    out = np.where(mask, x, 0).astype(x.dtype)

    def backward(g):  # d relu = 1 where x > 0, else 0
        return (g * mask,)

    return _make(out, (a,), backward, "ReluBackward0", (None,))


def leaky_relu(a: Tensor, negative_slope: float = 0.01) -> Tensor:
    x = a.data
    mask = x > 0
    out = np.where(mask, x, x * negative_slope).astype(x.dtype)

    def backward(g):  # slope 1 for x > 0, negative_slope otherwise
        return (np.where(mask, g, g * negative_slope).astype(g.dtype),)

    return _make(out, (a,), backward, "LeakyReluBackward0", (a,))


def clamp(a: Tensor, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch names
    x = a.data
    out = np.clip(x, min, max)
    inside = np.ones(x.shape, dtype=bool) if min is None else x >= min
    if max is not None:
        inside &= x <= max

    def backward(g):  # passes gradient only where not clipped
        return (g * inside,)

    return _make(out, (a,), backward, "ClampBackward1", (a,))


# ---------------------------------------------------------------------- reductions
def _axes(dim, ndim):
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        return tuple(d % ndim if ndim else 0 for d in dim)
    return (dim % ndim,) if ndim else None


def _expand_back(g, shape, axes, keepdim):
    """Broadcast a reduced gradient back to the input's shape."""
    if axes is None:
        if len(shape) == 1 and shape[0] <= 4096:
            # A short vector (the chapter's 11 points): filling a fresh array costs a tenth of
            # np.broadcast_to's Python-level machinery; large inputs keep the free view.
            full = np.empty(shape, dtype=g.dtype)
            full[...] = g
            return full
        return np.broadcast_to(g.reshape((1,) * len(shape)) if len(shape) else g, shape)
    if not keepdim:
        g = np.expand_dims(g, axes)
    return np.broadcast_to(g, shape)


def sum(a: Tensor, dim=None, keepdim: bool = False, dtype=None) -> Tensor:  # noqa: A001
    x = a.data
    axes = _axes(dim, x.ndim)
    out = np.asarray(x.sum(axis=axes, keepdims=keepdim, dtype=dtype))
    if x.dtype.kind in "biu" and dtype is None:
        out = out.astype(int64)

    def backward(g):  # every input element contributes with slope 1
        return (_expand_back(g, x.shape, axes, keepdim),)

    return _make(out, (a,), backward, "SumBackward0" if dim is None else "SumBackward1")


def mean(a: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    x = a.data
    if x.dtype.kind != "f":
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be floating point, got {x.dtype}")
    axes = _axes(dim, x.ndim)
    count = x.size if axes is None else int(np.prod([x.shape[i] for i in axes]))
    if count and (x.dtype == float64 or x.dtype == np.float32):
        # What ndarray.mean computes for these dtypes (a float32 or float64 sum, then one
        # division), without its Python-level wrapper, which costs more than the sum itself.
        out = np.asarray(np.add.reduce(x, axis=axes, keepdims=keepdim) / count)
    elif not count:  # the mean of nothing is nan (PyTorch), without ndarray.mean's warning
        out = np.full(np.add.reduce(x, axis=axes, keepdims=keepdim).shape, np.nan, dtype=x.dtype)
    else:
        out = np.asarray(x.mean(axis=axes, keepdims=keepdim))

    def backward(g):  # d mean / dx_i = 1/n
        return (_expand_back(g / count, x.shape, axes, keepdim),)

    return _make(out, (a,), backward, "MeanBackward0" if dim is None else "MeanBackward1")


def _reduce_select(a: Tensor, dim, keepdim, fn, name):
    x = a.data
    if dim is None:
        out = np.asarray(fn(x))

        def backward(g):  # gradient flows to the selected element; tied ones share it, as in PyTorch
            mask = (x == out) | (np.isnan(x) & np.isnan(out))
            return (mask * (g / mask.sum()).astype(x.dtype),)

        return _make(out, (a,), backward, name + "Backward1", (a, None))
    idx = np.expand_dims((np.argmax if fn is np.max else np.argmin)(x, axis=dim), dim)
    vals = np.take_along_axis(x, idx, axis=dim)
    out = vals if keepdim else np.squeeze(vals, axis=dim)

    def backward_dim(g):
        gk = g if keepdim else np.expand_dims(g, dim)
        full = np.zeros(x.shape, dtype=x.dtype)
        np.put_along_axis(full, idx, gk, axis=dim)
        return (full,)

    values = _make(out, (a,), backward_dim, name + "Backward0")
    return values, Tensor(idx if keepdim else np.squeeze(idx, axis=dim))


def max(a: Tensor, dim=None, keepdim: bool = False):  # noqa: A001
    return _reduce_select(a, dim, keepdim, np.max, "Max")


def min(a: Tensor, dim=None, keepdim: bool = False):  # noqa: A001
    return _reduce_select(a, dim, keepdim, np.min, "Min")


# ---------------------------------------------------------------------- shape
def reshape(a: Tensor, *shape) -> Tensor:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    x = a.data

    def backward(g):  # reshape is a relabelling: reshape the gradient back
        return (g.reshape(x.shape),)

    return _make(x.reshape(shape), (a,), backward, "ViewBackward0")._view_of(a)


def unsqueeze(a: Tensor, dim: int) -> Tensor:
    x = a.data
    dim = dim if dim >= 0 else dim + x.ndim + 1

    def backward(g):
        return (g.reshape(x.shape),)

    return _make(np.expand_dims(x, dim), (a,), backward, "UnsqueezeBackward0")._view_of(a)


def squeeze(a: Tensor, dim=None) -> Tensor:
    x = a.data
    if dim is None:
        out = np.squeeze(x)
    else:
        dim = dim % x.ndim if x.ndim else 0
        out = np.squeeze(x, axis=dim) if x.ndim and x.shape[dim] == 1 else x

    def backward(g):
        return (g.reshape(x.shape),)

    return _make(out, (a,), backward, "SqueezeBackward0" if dim is None else "SqueezeBackward1")._view_of(a)


def transpose(a: Tensor, dim0: int, dim1: int) -> Tensor:
    return _swap(a, dim0, dim1, "TransposeBackward0")


def _swap(a: Tensor, dim0: int, dim1: int, name: str) -> Tensor:
    def backward(g):  # transposing back
        return (np.swapaxes(g, dim0, dim1),)

    return _make(np.swapaxes(a.data, dim0, dim1), (a,), backward, name)._view_of(a)


def t(a: Tensor) -> Tensor:
    if a.data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {a.data.ndim}D")
    if a.data.ndim < 2:
        return a
    return _swap(a, 0, 1, "TBackward0")


def expand(a: Tensor, *sizes) -> Tensor:
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    x = a.data
    lead = len(sizes) - x.ndim
    shape = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))

    def backward(g):
        return (unbroadcast(g, x.shape),)

    return _make(np.broadcast_to(x, shape), (a,), backward, "ExpandBackward0")._view_of(a)


def getitem(a: Tensor, index) -> Tensor:
    x = a.data
    if type(index) is int:  # the common case (unpacking a params tensor), without the checks
        idx, advanced = index, False
    else:
        idx = _index_to_numpy(index)
        advanced = _is_advanced(idx)
    out = x[idx]

    def backward(g):
        full = np.zeros(x.shape, dtype=g.dtype)
        if advanced:
            np.add.at(full, idx, g)  # repeated indices add up, as in PyTorch
        else:
            full[idx] = g
        return (full,)

    result = _make(np.asarray(out) if not isinstance(out, np.ndarray) else out, (a,), backward,
                   "IndexBackward0" if advanced else "SelectBackward0")
    # basic indexing gives a view in PyTorch, which shares the version counter (numpy copies
    # one element of a vector; the counter is shared all the same, as PyTorch's strictness is)
    return result if advanced else result._view_of(a)


def _is_advanced(idx) -> bool:
    items = idx if isinstance(idx, tuple) else (idx,)
    return any(isinstance(i, (np.ndarray, list)) for i in items)


def stack(tensors, dim: int = 0) -> Tensor:
    tensors = tuple(tensors)
    out = np.stack([t.data for t in tensors], axis=dim)

    def backward(g):
        return tuple(np.take(g, i, axis=dim) for i in range(len(tensors)))

    return _make(out, tensors, backward, "StackBackward0")


def cat(tensors, dim: int = 0) -> Tensor:
    tensors = tuple(tensors)
    out = np.concatenate([t.data for t in tensors], axis=dim)
    splits = np.cumsum([t.data.shape[dim] for t in tensors])[:-1]

    def backward(g):
        return tuple(np.split(g, splits, axis=dim))

    return _make(out, tensors, backward, "CatBackward0")


# ---------------------------------------------------------------------- comparisons (no grad)
def _compare(ufunc):
    def op(a, b):
        return Tensor(np.asarray(ufunc(_arr(a), _arr(b))))

    return op


eq, ne, lt, le, gt, ge = (_compare(f) for f in (np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal))


def where(condition, a, b) -> Tensor:
    cond = _arr(condition).astype(bool)
    a, b = _tensors(a, b)
    out = np.where(cond, a.data, b.data)

    def backward(g):
        ga = unbroadcast(np.where(cond, g, 0), a.data.shape) if a.requires_grad else None
        gb = unbroadcast(np.where(cond, 0, g), b.data.shape) if b.requires_grad else None
        return ga, gb

    return _make(out, (a, b), backward, "WhereBackward0")


# ---------------------------------------------------------------------- fused (speed)
def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b in one node (PyTorch's F.linear)."""
    xd, wd = x.data, weight.data
    # One input feature (a 1-d regression's first layer): x W^T is an outer product.
    one_feature = wd.ndim == 2 and wd.shape[1] == 1 and xd.ndim == 2 and xd.shape[1] == 1
    out = _outer(xd, wd.T) if one_feature else xd @ wd.T
    if bias is not None:
        out += bias.data

    def backward(g):
        # dy/dx = W, dy/dW = x (summed over the batch), dy/db = 1 (summed over the batch)
        gx = None
        if x.requires_grad:
            # one output feature (a regression's last layer): g W is an outer product
            gx = _outer(g, wd) if wd.shape[0] == 1 and g.ndim == 2 else g @ wd
        # the batch dimensions flattened into one (no-op for the usual 2-d batch)
        g2 = g if g.ndim == 2 else g.reshape(-1, g.shape[-1])
        if weight.requires_grad:
            gw = g2.T @ (xd if xd.ndim == 2 else xd.reshape(-1, xd.shape[-1]))
        else:
            gw = None
        if bias is None:
            return gx, gw
        gb = _sum_rows(g2) if bias.requires_grad else None
        return gx, gw, gb

    parents = (x, weight) if bias is None else (x, weight, bias)
    saved = ((x, weight) if weight.requires_grad else (weight,)) if x.requires_grad else (x,)
    return _make(out, parents, backward, "MmBackward0" if bias is None else "AddmmBackward0", saved)


# Elements per block when an elementwise formula runs block by block: 64K float32 = 256 KB,
# so a block of each operand fits in a core's L2 cache.
_BLOCK = 65536


def _outer(column: np.ndarray, row: np.ndarray) -> np.ndarray:
    """`column @ row` for an (n, 1) column and a (1, m) row: a matmul of inner dimension 1.

    BLAS is slow at that shape (3-4x). A broadcast product (small arrays) or einsum (large
    ones, where its loop beats broadcasting's many short rows) gives the very same numbers,
    each a single multiplication."""
    if column.shape[0] * row.shape[1] >= 4096:
        return np.einsum("ij,jk->ik", column, row)
    return column * row


def _sum_rows(m: np.ndarray) -> np.ndarray:
    """Column sums of a 2-d array (a bias gradient summed over the batch)."""
    if m.shape[0] >= 1024:
        # A ones-vector product runs in BLAS, 3x faster than numpy's reduction along axis 0 on
        # a large batch; float32 accumulation either way (as the weight gradient's matmul).
        return np.ones(m.shape[0], dtype=m.dtype) @ m
    return np.add.reduce(m, axis=0)


def scale_shift(x: Tensor, w: Tensor, b: Tensor) -> Tensor:
    """y = w * x + b for scalar w and b, in one node: the chapter's line model."""
    xd, wd, bd = x.data, w.data, b.data
    out = xd * wd + bd

    def backward(g):  # dy/dw = x, dy/db = 1, dy/dx = w, each summed over the data
        gx = g * wd if x.requires_grad else None
        gw = gb = None
        # This runs every epoch of the chapter's loop. ufunc.reduce is what .sum() calls, minus
        # its Python dispatch layer. w's gradient is the sum of the products g * x, added in
        # the order the unfused graph (MulBackward0, then the sum back to w's shape) adds
        # them, not a dot product (BLAS adds in another order): so the trainer's gradient is
        # the chapter graph's to the last bit, which the backprop view shows. A scalar leaf parameter
        # (the usual case) takes its gradient as a numpy scalar, since all that happens to it
        # is being copied into .grad; anything else gets an array of its own shape.
        if w.requires_grad:
            gw = np.add.reduce(g * xd, axis=None)
            if wd.ndim or w._backward is not None:
                gw = np.asarray(gw).reshape(wd.shape)
        if b.requires_grad:
            gb = np.add.reduce(g, axis=None)
            if bd.ndim or b._backward is not None:
                gb = np.asarray(gb).reshape(bd.shape)
        return gx, gw, gb

    saved = ((x, w) if w.requires_grad else (w,)) if x.requires_grad else (x,)
    return _make(out, (x, w, b), backward, "AddBackward0", saved)


def mse_loss(pred: Tensor, target, reduction: str = "mean") -> Tensor:
    """mean((pred - target)^2) in one node (PyTorch's F.mse_loss, broadcasting included)."""
    if reduction == "none":
        return pow(sub(pred, target), 2)
    pd = pred.data
    target_t = target if isinstance(target, Tensor) else None
    td = target if target_t is None else target.data
    diff = pd - td
    n = diff.size if reduction == "mean" else 1
    sq = diff.ravel()
    # float32 accumulation, as PyTorch: a sum of squares past 3.4e38 is inf in float32.
    # (ndarray.dot is np.dot without its dispatch layer.)
    total = sq.dot(sq)
    out = np.asarray(total / n if reduction == "mean" else total, dtype=diff.dtype)

    def backward(g):  # d/dpred mean((p - t)^2) = 2 (p - t) / n
        # The loss is a scalar: numpy's scalar arithmetic is several times cheaper than a ufunc
        # on a 0-d array and rounds the same.
        scale = (g[()] if g.ndim == 0 else g) * (2.0 / n)
        if scale.dtype != diff.dtype:  # a float64 upstream gradient stays out of a float32 loss
            scale = scale.astype(diff.dtype)
        gd = diff * scale
        gp = unbroadcast(gd, pd.shape) if pred.requires_grad else None
        if target_t is not None and target_t.requires_grad:
            return gp, unbroadcast(-gd, target_t.data.shape)
        return gp, None

    parents = (pred, target_t) if target_t is not None else (pred, Tensor(np.asarray(td)))
    return _make(out, parents, backward, "MseLossBackward0", parents)


def l1_loss(pred: Tensor, target, reduction: str = "mean") -> Tensor:
    diff = sub(pred, target)
    a = abs(diff)
    if reduction == "none":
        return a
    return mean(a) if reduction == "mean" else sum(a)


# ---------------------------------------------------------------------- Tensor methods
# (mutmut 3 tries a mutant by switching it on in an already imported engine; this runs once,
# at import, so no mutant of it could ever run: it is left out of `make mutate`. Every test
# that uses an operator exercises it.)
def _install_methods() -> None:  # pragma: no mutate block
    """Give Tensor its operators and methods, all defined above."""
    T = Tensor
    T.__add__ = add
    T.__radd__ = lambda a, b: add(b, a)
    T.__sub__ = sub
    T.__rsub__ = lambda a, b: sub(b, a)
    T.__mul__ = mul
    T.__rmul__ = lambda a, b: mul(b, a)
    T.__truediv__ = div
    T.__rtruediv__ = lambda a, b: div(b, a)
    T.__pow__ = pow
    T.__rpow__ = lambda a, b: _rpow(b, a)
    T.__matmul__ = matmul
    T.__rmatmul__ = lambda a, b: matmul(b, a)
    T.__floordiv__ = floor_divide
    T.__rfloordiv__ = lambda a, b: floor_divide(b, a)
    T.__ifloordiv__ = lambda a, b: a.copy_(floor_divide(a, b))
    T.__neg__ = neg
    T.__pos__ = lambda a: a
    T.__abs__ = abs
    T.__getitem__ = getitem
    T.__eq__ = eq
    T.__ne__ = ne
    T.__lt__ = lt
    T.__le__ = le
    T.__gt__ = gt
    T.__ge__ = ge
    for name, fn in {
        "add": add, "sub": sub, "mul": mul, "div": div, "floor_divide": floor_divide, "pow": pow, "matmul": matmul, "neg": neg,
        "exp": exp, "log": log, "sqrt": sqrt, "abs": abs, "tanh": tanh, "sigmoid": sigmoid,
        "relu": relu, "clamp": clamp, "sum": sum, "mean": mean, "max": max, "min": min,
        "reshape": reshape, "view": reshape, "unsqueeze": unsqueeze, "squeeze": squeeze,
        "transpose": transpose, "t": t, "expand": expand, "eq": eq, "ne": ne, "lt": lt,
        "le": le, "gt": gt, "ge": ge,
    }.items():
        setattr(T, name, fn)
    T.T = property(lambda a: a if a.data.ndim < 2 else _swap(a, 0, 1, "PermuteBackward0") if a.data.ndim == 2 else
                   _make(a.data.T, (a,), lambda g: (g.T,), "PermuteBackward0")._view_of(a))
    T.mT = property(lambda a: transpose(a, -2, -1))
    T.clone = lambda a: _make(a.data.copy(), (a,), lambda g: (g,), "CloneBackward0")
    T.float = lambda a: a.to(np.float32)
    T.double = lambda a: a.to(np.float64)
    T.long = lambda a: Tensor(a.data.astype(np.int64))
    T.to = _to
    T.type = lambda a, dtype=None: a.data.dtype.name if dtype is None else a.to(dtype)
    T.norm = lambda a: sqrt(sum(mul(a, a)))
    T.argmax = lambda a, dim=None: Tensor(np.asarray(np.argmax(a.data, axis=dim)))
    T.argmin = lambda a, dim=None: Tensor(np.asarray(np.argmin(a.data, axis=dim)))
    T.square = lambda a: pow(a, 2)
    T.isfinite = lambda a: Tensor(np.isfinite(a.data))
    T.all = lambda a: Tensor(np.asarray(np.all(a.data)))
    T.any = lambda a: Tensor(np.asarray(np.any(a.data)))
    T.cpu = lambda a: a
    T.contiguous = lambda a: a


def _to(a: Tensor, dtype=None, *args, **kwargs) -> Tensor:
    if dtype is None or isinstance(dtype, str) and dtype in ("cpu",):
        return a
    dtype = np.dtype(dtype)
    if a.data.dtype == dtype:
        return a
    x = a.data

    def backward(g):  # a cast passes the gradient through, cast back
        return (g.astype(x.dtype),)

    return _make(x.astype(dtype), (a,), backward, "ToCopyBackward0")


_install_methods()
