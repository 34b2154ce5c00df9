"""Every differentiable op's gradient against a central finite difference, in float64.

For an op f and inputs x_1..x_k, autograd computes the vector-Jacobian product of a fixed,
non-uniform upstream gradient w (so a transposed or misrouted gradient cannot pass by
symmetry) through f. The reference is the same quantity estimated numerically:

    d/dx_i sum(w * f(x)) ~ (L(x + h e_i) - L(x - h e_i)) / 2h,   h = 1e-6.

In float64 the estimate is good to ~1e-9, so a tolerance of 1e-5 separates rounding from a
wrong derivative, which is off by O(1). Hypothesis generates shapes and values, including
broadcasting pairs; inputs sit away from kinks (|x| at 0, clamp bounds, ties in max) where
the derivative is not defined and a finite difference straddles two slopes.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import engine
import engine.nn.functional as F
from engine import ops

# Small and derandomized: the suite is deterministic and runs in seconds. Under mutation
# testing (`make mutate`, which runs the tests once per mutant) fewer examples: the explicit
# @example cases and the first generated ones are what kill mutants, and a survivor runs all.
SETTINGS = settings(max_examples=8 if os.environ.get("MUTANT_UNDER_TEST") else 30,
                    deadline=None, derandomize=True, database=None)

STEP = 1e-6
RTOL = 1e-5
ATOL = 1e-6


# ---------------------------------------------------------------------- the check itself
def _as_leaf(value, requires_grad: bool) -> engine.Tensor:
    return engine.tensor(np.asarray(value, dtype=np.float64), dtype=engine.float64, requires_grad=requires_grad)


def _upstream(shape) -> np.ndarray:
    """A fixed upstream gradient with distinct entries of both signs."""
    return np.asarray(np.random.default_rng(7).uniform(-1.5, 1.5, size=shape))


def _weighted_output(fn, arrays, weights) -> float:
    with engine.no_grad():
        out = fn(*[_as_leaf(a, False) for a in arrays])
    return float(np.sum(np.asarray(out.numpy(), dtype=np.float64) * weights))


def finite_difference(fn, arrays, i: int, weights) -> np.ndarray:
    """Central difference of sum(weights * fn(...)) with respect to arrays[i], element by element."""
    x = np.array(arrays[i], dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[idx] += STEP
        minus[idx] -= STEP
        args_plus = list(arrays)
        args_plus[i] = plus
        args_minus = list(arrays)
        args_minus[i] = minus
        grad[idx] = (_weighted_output(fn, args_plus, weights) - _weighted_output(fn, args_minus, weights)) / (2 * STEP)
    return grad


def assert_gradients_match(fn, *arrays, rtol=RTOL, atol=ATOL):
    """Autograd's gradient of every input of `fn` equals the finite difference."""
    leaves = [_as_leaf(a, True) for a in arrays]
    out = fn(*leaves)
    assert out.dtype == np.float64, "float64 inputs must give a float64 result"
    assert out.requires_grad
    weights = _upstream(out.shape)
    out.backward(engine.tensor(weights, dtype=engine.float64))
    for i, leaf in enumerate(leaves):
        assert leaf.grad is not None, f"input {i} received no gradient"
        assert leaf.grad.shape == leaf.shape, f"input {i}: gradient shape {leaf.grad.shape} != {leaf.shape}"
        np.testing.assert_allclose(
            leaf.grad.numpy(), finite_difference(fn, arrays, i, weights), rtol=rtol, atol=atol,
            err_msg=f"gradient of input {i}",
        )


# ---------------------------------------------------------------------- input strategies
def values(low=-3.0, high=3.0):
    return st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)


def away_from_zero(low=0.1, high=3.0):
    return st.one_of(values(-high, -low), values(low, high))


shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
shapes_nonscalar = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


def arrays(elements=None, shape=shapes):
    return hnp.arrays(np.float64, shape, elements=elements if elements is not None else values())


@st.composite
def broadcast_pair(draw, left=None, right=None):
    """Two arrays whose shapes broadcast together (one may be 0-d or have fewer dims)."""
    pair = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4))
    a_shape, b_shape = pair.input_shapes
    a = draw(hnp.arrays(np.float64, a_shape, elements=left if left is not None else values()))
    b = draw(hnp.arrays(np.float64, b_shape, elements=right if right is not None else values()))
    return a, b


@st.composite
def distinct_values(draw, shape=shapes_nonscalar):
    """Values at least 0.37 apart, so max/min have a unique winner that a nudge cannot change."""
    s = draw(shape)
    n = int(np.prod(s))
    order = draw(st.permutations(range(n)))
    return (np.array(order, dtype=np.float64) - n / 2).reshape(s) * 0.37


@st.composite
def reduction_case(draw):
    """An array with a dim argument: None, an int, a negative int or a tuple of dims."""
    x = draw(arrays(shape=shapes_nonscalar))
    ndim = x.ndim
    kind = draw(st.sampled_from(["none", "int", "negative", "tuple"]))
    if kind == "none":
        dim = None
    elif kind == "int":
        dim = draw(st.integers(0, ndim - 1))
    elif kind == "negative":
        dim = draw(st.integers(-ndim, -1))
    else:
        axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
        dim = tuple(a - ndim if draw(st.booleans()) else a for a in axes)
    return x, dim, draw(st.booleans())


# ---------------------------------------------------------------------- arithmetic
BROADCAST_EXAMPLES = [
    (np.arange(3.0).reshape(3, 1) - 1.3, np.array([0.5, -1.25, 2.0, 1.5])),  # [3,1] with [4]
    (np.linspace(-2, 2, 6).reshape(2, 3), np.array(1.75)),  # [2,3] with []
    (np.array(-0.8), np.linspace(0.6, 2, 4).reshape(4, 1)),  # [] with [4,1]
]


def _with_examples(test):
    for a, b in BROADCAST_EXAMPLES:
        test = example(pair=(a, b))(test)
    return test


@pytest.mark.parametrize(
    "op",
    [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, ops.add, ops.sub, ops.mul],
    ids=["+", "-", "*", "ops.add", "ops.sub", "ops.mul"],
)
@SETTINGS
@_with_examples
@given(pair=broadcast_pair())
def test_add_sub_mul_with_broadcasting(op, pair):
    assert_gradients_match(op, *pair)


@SETTINGS
@_with_examples
@given(pair=broadcast_pair(right=away_from_zero(0.5)))
def test_div_with_broadcasting(pair):
    a, b = pair
    b = np.where(np.abs(b) < 0.5, 0.5, b)  # the examples' denominators too stay off zero
    assert_gradients_match(lambda x, y: x / y, a, b)


@SETTINGS
@given(pair=broadcast_pair(left=values(0.2, 3.0), right=values(-2.0, 2.0)))
@example(pair=(np.array([[0.5], [2.0], [1.5]]), np.array([0.5, -1.0, 2.0, 1.5])))
def test_pow_with_tensor_exponent_on_positive_bases(pair):
    # d(a^b)/da = b a^(b-1) and d(a^b)/db = a^b ln a: both inputs get a gradient.
    assert_gradients_match(lambda a, b: a**b, *pair)


SCALAR_CASES = {
    "x + 2.5": (lambda x: x + 2.5, values()),
    "2.5 + x": (lambda x: 2.5 + x, values()),
    "x - 1.5": (lambda x: x - 1.5, values()),
    "1.5 - x": (lambda x: 1.5 - x, values()),
    "x * -2": (lambda x: x * -2, values()),
    "3.0 * x": (lambda x: 3.0 * x, values()),
    "x / 4.0": (lambda x: x / 4.0, values()),
    "2.0 / x": (lambda x: 2.0 / x, away_from_zero(0.5)),
    "x ** 2": (lambda x: x**2, values()),
    "x ** 3": (lambda x: x**3, values()),
    "x ** 0.5": (lambda x: x**0.5, values(0.2, 4.0)),
    "x ** -1": (lambda x: x**-1, away_from_zero(0.5)),
    "pow(x, 2.5)": (lambda x: engine.pow(x, 2.5), values(0.2, 3.0)),
    "2.0 ** x": (lambda x: 2.0**x, values()),
    "0.5 ** x": (lambda x: 0.5**x, values()),
    "pow(3, x)": (lambda x: engine.pow(3, x), values()),
    "-x": (lambda x: -x, values()),
    "neg(x)": (lambda x: ops.neg(x), values()),
}


@pytest.mark.parametrize("case", list(SCALAR_CASES), ids=list(SCALAR_CASES))
@SETTINGS
@given(data=st.data())
def test_ops_with_python_numbers_and_reflected_operands(case, data):
    fn, elements = SCALAR_CASES[case]
    x = data.draw(arrays(elements))
    assert_gradients_match(fn, x)


@pytest.mark.parametrize(
    "op",
    [lambda x, c: x * c, lambda x, c: c * x, lambda x, c: x / c, lambda x, c: c / x,
     lambda x, c: x - c, lambda x, c: c - x, lambda x, c: c**x],
    ids=["x*c", "c*x", "x/c", "c/x", "x-c", "c-x", "c**x"],
)
@SETTINGS
@given(pair=broadcast_pair(left=away_from_zero(0.5), right=values(0.5, 3.0)))
def test_only_the_input_that_requires_grad_gets_one(op, pair):
    x, c = pair
    constant = engine.tensor(c, dtype=engine.float64)  # requires_grad=False
    assert_gradients_match(lambda t: op(t, constant), x)
    assert constant.grad is None


# ---------------------------------------------------------------------- matmul
MATMUL_SHAPES = [
    ((3,), (3,)),  # dot product
    ((2, 3), (3, 4)),
    ((2, 3), (3,)),  # matrix @ vector
    ((3,), (3, 4)),  # vector @ matrix
    ((2, 2, 3), (3, 4)),  # batched @ matrix
    ((2, 3), (5, 3, 4)),  # matrix @ batched
    ((2, 2, 3), (2, 3, 4)),  # batch @ batch
    ((2, 1, 2, 3), (3, 3, 2)),  # broadcast batch dims
    ((2, 2, 3), (3,)),
    ((3,), (2, 3, 4)),
]


@pytest.mark.parametrize("shape_a, shape_b", MATMUL_SHAPES, ids=[f"{a}@{b}" for a, b in MATMUL_SHAPES])
@SETTINGS
@given(data=st.data())
def test_matmul(shape_a, shape_b, data):
    a = data.draw(arrays(shape=st.just(shape_a)))
    b = data.draw(arrays(shape=st.just(shape_b)))
    assert_gradients_match(lambda x, y: x @ y, a, b)


@pytest.mark.parametrize("form", ["engine.matmul", "method", "constant right", "constant left"])
def test_matmul_forms(form):
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(3, 4))
    if form == "engine.matmul":
        assert_gradients_match(engine.matmul, a, b)
    elif form == "method":
        assert_gradients_match(lambda x, y: x.matmul(y), a, b)
    elif form == "constant right":
        assert_gradients_match(lambda x: x @ engine.tensor(b, dtype=engine.float64), a)
    else:
        assert_gradients_match(lambda y: engine.tensor(a, dtype=engine.float64) @ y, b)


# ---------------------------------------------------------------------- elementwise
UNARY_CASES = {
    "exp": (engine.exp, values()),
    "exp method": (lambda x: x.exp(), values()),
    "log": (engine.log, values(0.1, 5.0)),
    "sqrt": (engine.sqrt, values(0.1, 5.0)),
    "abs": (engine.abs, away_from_zero()),
    "abs()": (lambda x: abs(x), away_from_zero()),
    "tanh": (engine.tanh, values()),
    "sigmoid": (engine.sigmoid, values(-8.0, 8.0)),
    "sigmoid far out": (engine.sigmoid, st.one_of(values(-40.0, -20.0), values(20.0, 40.0))),
    "relu": (engine.relu, away_from_zero()),
    "F.relu": (F.relu, away_from_zero()),
    "leaky_relu": (F.leaky_relu, away_from_zero()),
    "leaky_relu 0.2": (lambda x: F.leaky_relu(x, 0.2), away_from_zero()),
    "clamp(-1, 1)": (lambda x: engine.clamp(x, -1.0, 1.0), values().filter(lambda v: min(abs(v - 1), abs(v + 1)) > 0.01)),
    "clamp(min=0.5)": (lambda x: x.clamp(min=0.5), values().filter(lambda v: abs(v - 0.5) > 0.01)),
    "clamp(max=-0.5)": (lambda x: x.clamp(max=-0.5), values().filter(lambda v: abs(v + 0.5) > 0.01)),
}


@pytest.mark.parametrize("case", list(UNARY_CASES), ids=list(UNARY_CASES))
@SETTINGS
@given(data=st.data())
def test_elementwise(case, data):
    fn, elements = UNARY_CASES[case]
    x = data.draw(arrays(elements))
    assert_gradients_match(fn, x)


@pytest.mark.parametrize("fn", [engine.relu, F.leaky_relu, lambda x: x.clamp(-1.0, 1.0)], ids=["relu", "leaky_relu", "clamp"])
def test_flat_regions_pass_the_documented_slope(fn):
    # Off the kink the slope is exact: 0 (relu), 0.01 (leaky_relu) or 0 (clamped) on the left,
    # 1 in the middle. This pins the constants, which a smooth-function check cannot see.
    x = engine.tensor([-2.0, 0.5], dtype=engine.float64, requires_grad=True)
    fn(x).sum().backward()
    left = {engine.relu: 0.0, F.leaky_relu: 0.01}.get(fn, 0.0)
    np.testing.assert_array_equal(x.grad.numpy(), [left, 1.0])


# ---------------------------------------------------------------------- reductions
@pytest.mark.parametrize("name", ["sum", "mean"])
@SETTINGS
@given(case=reduction_case())
def test_sum_and_mean_over_dims(name, case):
    x, dim, keepdim = case
    if dim is None:  # the whole tensor, as a method and as engine.sum / engine.mean
        assert_gradients_match(lambda t: getattr(t, name)(), x)
        assert_gradients_match(lambda t: getattr(engine, name)(t), x)
    else:
        assert_gradients_match(lambda t: getattr(t, name)(dim=dim, keepdim=keepdim), x)


@SETTINGS
@given(x=arrays(shape=shapes_nonscalar))
def test_sum_of_everything_keeping_dims(x):
    def fn(t):
        out = t.sum(dim=tuple(range(t.ndim)), keepdim=True)
        assert out.shape == (1,) * t.ndim
        return out

    assert_gradients_match(fn, x)


@pytest.mark.parametrize("name", ["max", "min"])
@SETTINGS
@given(x=distinct_values(), data=st.data())
def test_max_and_min(name, x, data):
    assert_gradients_match(lambda t: getattr(t, name)(), x)
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    keepdim = data.draw(st.booleans())
    assert_gradients_match(lambda t: getattr(t, name)(dim=dim, keepdim=keepdim)[0], x)


@pytest.mark.parametrize("name, expected", [("max", [0.5, 0.0, 0.5, 0.0]), ("min", [0.0, 0.5, 0.0, 0.5])])
def test_tied_max_and_min_share_the_gradient(name, expected):
    # At a tie the derivative is undefined; PyTorch's max()/min() split it evenly.
    x = engine.tensor([2.0, -1.0, 2.0, -1.0], requires_grad=True)
    getattr(x, name)().backward()
    np.testing.assert_array_equal(x.grad.numpy(), expected)


# ---------------------------------------------------------------------- shape
@st.composite
def reshape_case(draw):
    x = draw(arrays(shape=shapes))
    n = x.size
    divisors = [d for d in range(1, n + 1) if n % d == 0]
    first = draw(st.sampled_from(divisors))
    target = draw(st.sampled_from([(n,), (-1,), (first, n // first), (first, -1), (1, n, 1)]))
    return x, target


@SETTINGS
@given(case=reshape_case(), use_view=st.booleans())
def test_reshape_and_view(case, use_view):
    x, target = case
    assert_gradients_match(lambda t: t.view(*target) if use_view else t.reshape(target), x)


@SETTINGS
@given(x=arrays(shape=shapes), data=st.data())
def test_unsqueeze(x, data):
    dim = data.draw(st.integers(-x.ndim - 1, x.ndim))
    assert_gradients_match(lambda t: t.unsqueeze(dim), x)


@SETTINGS
@given(x=arrays(shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=3)), data=st.data())
def test_squeeze(x, data):
    assert_gradients_match(lambda t: t.squeeze(), x)
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    assert_gradients_match(lambda t: t.squeeze(dim), x)


@SETTINGS
@given(x=arrays(shape=hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=4)), data=st.data())
def test_transpose(x, data):
    dim0 = data.draw(st.integers(-x.ndim, x.ndim - 1))
    dim1 = data.draw(st.integers(-x.ndim, x.ndim - 1))
    assert_gradients_match(lambda t: t.transpose(dim0, dim1), x)


@SETTINGS
@given(x=arrays(shape=hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=4)))
def test_t_and_T(x):
    assert_gradients_match(lambda t: t.t(), x)
    assert_gradients_match(lambda t: t.T, x)
    # A non-square matrix makes a missing transpose in backward a shape error, not a pass.
    assert_gradients_match(lambda t: t.T @ engine.tensor(np.ones((t.shape[0], 2)) * [1.0, -2.0], dtype=engine.float64), x.reshape(x.shape[0], -1))


@SETTINGS
@given(pair=broadcast_pair())
@example(pair=(np.array([[1.0], [-2.0], [0.5]]), np.zeros((2, 3, 4))))
def test_expand(pair):
    a, b = pair
    target = np.broadcast_shapes(a.shape, b.shape)
    assert_gradients_match(lambda t: t.expand(*target), a)
    # -1 keeps a dimension as it is.
    keep = tuple(-1 if i >= len(target) - a.ndim and a.shape[i - len(target) + a.ndim] == target[i] else s
                 for i, s in enumerate(target))
    assert_gradients_match(lambda t: t.expand(keep), a)


# ---------------------------------------------------------------------- indexing
INDEXES = {
    "int": lambda t: t[1],
    "negative int": lambda t: t[-1],
    "two ints": lambda t: t[2, 1],
    "slice": lambda t: t[1:3],
    "strided slice": lambda t: t[::2],
    "column": lambda t: t[:, 0],
    "int and slice": lambda t: t[-2, 1:],
    "ellipsis and None": lambda t: t[..., None, 1],
    "index tensor with repeats": lambda t: t[engine.tensor([0, 2, 0, 0, 3])],
    "index tensor on columns": lambda t: t[:, engine.tensor([2, 2, 0])],
    "list with repeats": lambda t: t[[1, 1, 1]],
    "pair of index tensors": lambda t: t[engine.tensor([0, 3, 0]), engine.tensor([1, 2, 1])],
    # A fixed mask: one computed from t would change under the finite difference's nudges.
    "boolean mask": lambda t: t[engine.tensor(np.arange(12).reshape(4, 3) % 3 != 1)],
}


@pytest.mark.parametrize("case", list(INDEXES), ids=list(INDEXES))
@SETTINGS
@given(x=arrays(shape=st.just((4, 3))))
def test_indexing(case, x):
    assert_gradients_match(INDEXES[case], x)


def test_repeated_indices_add_up():
    # x[[0, 0, 0]].sum() uses x[0] three times: its gradient is 3, not 1 (last write wins).
    x = engine.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[engine.tensor([0, 0, 0, 2])].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0, 1.0])


# ---------------------------------------------------------------------- stack, cat, where
@st.composite
def same_shape_arrays(draw, count=3):
    shape = draw(shapes_nonscalar)
    return [draw(arrays(shape=st.just(shape))) for _ in range(count)], draw(st.integers(-len(shape) - 1, len(shape)))


@SETTINGS
@given(case=same_shape_arrays())
def test_stack(case):
    parts, dim = case
    assert_gradients_match(lambda *ts: engine.stack(ts, dim=dim), *parts)


@SETTINGS
@given(case=same_shape_arrays(), sizes=st.lists(st.integers(1, 3), min_size=3, max_size=3))
def test_cat(case, sizes):
    parts, dim = case
    dim = max(min(dim, parts[0].ndim - 1), -parts[0].ndim)  # cat joins along an existing dim
    # Different lengths along the joined dim, so the split in backward is actually tested.
    resized = [np.resize(p, p.shape[:dim % p.ndim] + (n,) + p.shape[dim % p.ndim + 1:]) for p, n in zip(parts, sizes)]
    assert_gradients_match(lambda *ts: engine.cat(ts, dim=dim), *resized)


@SETTINGS
@given(pair=broadcast_pair(), data=st.data())
def test_where(pair, data):
    a, b = pair
    shape = np.broadcast_shapes(a.shape, b.shape)
    condition = engine.tensor(data.draw(hnp.arrays(np.bool_, shape)))
    assert_gradients_match(lambda x, y: engine.where(condition, x, y), a, b)
    assert_gradients_match(lambda x: engine.where(condition, x, 0.0), a)
    # A condition with more dims than either branch broadcasts both up.
    wide = engine.tensor(data.draw(hnp.arrays(np.bool_, (2,) + shape)))
    assert_gradients_match(lambda x, y: engine.where(wide, x, y), a, b)


# ---------------------------------------------------------------------- fused ops
LINEAR_SHAPES = [((5, 3), 2, True), ((3,), 2, True), ((2, 4, 3), 2, True), ((5, 3), 4, False), ((1, 1), 1, True)]


@pytest.mark.parametrize("x_shape, out_features, bias", LINEAR_SHAPES, ids=[str(s) for s in LINEAR_SHAPES])
@SETTINGS
@given(data=st.data())
def test_linear(x_shape, out_features, bias, data):
    in_features = x_shape[-1]
    x = data.draw(arrays(shape=st.just(x_shape)))
    w = data.draw(arrays(shape=st.just((out_features, in_features))))
    if bias:
        b = data.draw(arrays(shape=st.just((out_features,))))
        assert_gradients_match(F.linear, x, w, b)
    else:
        assert_gradients_match(F.linear, x, w)


@pytest.mark.parametrize("param_shape", [(), (1,)])
@SETTINGS
@given(x=arrays(shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=6)), data=st.data())
def test_scale_shift(param_shape, x, data):
    w = data.draw(arrays(shape=st.just(param_shape)))
    b = data.draw(arrays(shape=st.just(param_shape)))
    assert_gradients_match(ops.scale_shift, x, w, b)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@SETTINGS
@given(pair=broadcast_pair())
@example(pair=(np.linspace(-1, 1, 4).reshape(4, 1), np.array([0.3, -0.7, 1.1, 2.0])))  # [N,1] vs [N]
def test_mse_loss(reduction, pair):
    assert_gradients_match(lambda p, t: F.mse_loss(p, t, reduction=reduction), *pair)


@SETTINGS
@given(pair=broadcast_pair())
def test_mse_loss_with_a_constant_target(pair):
    pred, target = pair
    constant = engine.tensor(target, dtype=engine.float64)
    assert_gradients_match(lambda p: F.mse_loss(p, constant), pred)
    assert_gradients_match(lambda p: engine.nn.MSELoss()(p, constant), pred)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@SETTINGS
@given(data=st.data())
def test_l1_loss(reduction, data):
    target = data.draw(arrays(shape=shapes))
    # pred - target stays away from 0, where |.| has its kink.
    offset = data.draw(arrays(away_from_zero(), shape=st.just(target.shape)))
    assert_gradients_match(lambda p, t: F.l1_loss(p, t, reduction=reduction), target + offset, target)


# ---------------------------------------------------------------------- composition
@SETTINGS
@given(x=arrays(shape=st.just((6, 1))), data=st.data())
def test_a_small_network_end_to_end(x, data):
    # Gradients through a chain of ops (linear -> tanh -> linear -> mse) compose correctly.
    w1 = data.draw(arrays(shape=st.just((4, 1))))
    b1 = data.draw(arrays(shape=st.just((4,))))
    w2 = data.draw(arrays(shape=st.just((1, 4))))
    y = engine.tensor(np.linspace(-1, 1, 6).reshape(6, 1), dtype=engine.float64)

    def net(w1_, b1_, w2_):
        hidden = engine.tanh(F.linear(engine.tensor(x, dtype=engine.float64), w1_, b1_))
        return F.mse_loss(F.linear(hidden, w2_), y)

    assert_gradients_match(net, w1, b1, w2)


def test_a_tensor_used_twice_gets_both_contributions():
    # y = x * x + x: dy/dx = 2x + 1, summed over every path through the graph.
    assert_gradients_match(lambda x: x * x + x, np.array([0.5, -1.5, 2.0]))
    assert_gradients_match(lambda x: (x.exp() * x.sum()).mean(), np.array([[0.5, -1.5], [2.0, 0.1]]))
