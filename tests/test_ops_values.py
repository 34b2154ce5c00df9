"""Each op's result against a plain numpy formula, and its grad_fn name against PyTorch's.

test_gradients.py checks every backward against finite differences of the engine's own
forward: a forward that computes the wrong function consistently (relu giving 1 instead of 0
below zero) passes there. Here the forward is checked on its own, in float32, against the
numpy expression it is meant to be (exact: the same operations), and at the points where a
function is defined by convention (relu at 0, clamp at its edges), against PyTorch's values.
"""
from __future__ import annotations

import numpy as np
import pytest

import engine as torch
import engine.nn.functional as F

X = np.array([[-2.5, -1.0, -0.0, 0.0], [0.25, 1.0, 3.0, 1e-3]], dtype=np.float32)
Y = np.array([[1.5, 2.0, 0.5, -1.0], [4.0, -0.5, 2.0, 3.0]], dtype=np.float32)
POSITIVE = np.abs(X) + np.float32(0.5)


def t(values):
    return torch.tensor(values)


UNARY = {
    "neg": (lambda a: -a, lambda x: -x),
    "exp": (torch.exp, np.exp),
    "log": (lambda a: torch.log(a + 3.0), lambda x: np.log(x + np.float32(3.0))),
    "sqrt": (lambda a: torch.sqrt(a + 3.0), lambda x: np.sqrt(x + np.float32(3.0))),
    "abs": (torch.abs, np.abs),
    "tanh": (torch.tanh, np.tanh),
    "relu": (torch.relu, lambda x: np.where(x > 0, x, np.float32(0))),
    "leaky_relu": (F.leaky_relu, lambda x: np.where(x > 0, x, x * np.float32(0.01))),
    "leaky_relu 0.2": (lambda a: F.leaky_relu(a, 0.2), lambda x: np.where(x > 0, x, x * np.float32(0.2))),
    "clamp": (lambda a: a.clamp(-1.0, 1.0), lambda x: np.clip(x, -1, 1)),
    "clamp min": (lambda a: a.clamp(min=0.1), lambda x: np.maximum(x, np.float32(0.1))),
    "clamp max": (lambda a: a.clamp(max=0.1), lambda x: np.minimum(x, np.float32(0.1))),
    "square": (lambda a: a.square(), lambda x: x * x),
    "pow 3": (lambda a: a**3, lambda x: x**3),
    "pow 0.5": (lambda a: (a + 3.0) ** 0.5, lambda x: (x + np.float32(3.0)) ** np.float32(0.5)),
    "rpow": (lambda a: 2.0**a, lambda x: np.float32(2.0) ** x),
    "sum": (lambda a: a.sum(), lambda x: np.sum(x)),
    "sum dim": (lambda a: a.sum(dim=1), lambda x: np.sum(x, axis=1)),
    "sum keepdim": (lambda a: a.sum(dim=0, keepdim=True), lambda x: np.sum(x, axis=0, keepdims=True)),
    "mean": (lambda a: a.mean(), lambda x: np.add.reduce(x, axis=None) / np.float32(8)),
    "mean dim": (lambda a: a.mean(dim=-1), lambda x: np.add.reduce(x, axis=-1) / np.float32(4)),
    "max": (lambda a: a.max(), np.max),
    "min": (lambda a: a.min(), np.min),
    "max dim": (lambda a: a.max(dim=1)[0], lambda x: np.max(x, axis=1)),
    "min dim keepdim": (lambda a: a.min(dim=0, keepdim=True)[0], lambda x: np.min(x, axis=0, keepdims=True)),
    "reshape": (lambda a: a.reshape(4, 2), lambda x: x.reshape(4, 2)),
    "reshape tuple": (lambda a: a.reshape((8,)), lambda x: x.reshape(8)),
    "view -1": (lambda a: a.view(-1), lambda x: x.reshape(-1)),
    "transpose": (lambda a: a.transpose(0, 1), lambda x: x.T),
    "t": (lambda a: a.t(), lambda x: x.T),
    "T": (lambda a: a.T, lambda x: x.T),
    "unsqueeze": (lambda a: a.unsqueeze(-1), lambda x: x[..., None]),
    "index": (lambda a: a[1], lambda x: x[1]),
    "slice": (lambda a: a[:, 1:3], lambda x: x[:, 1:3]),
    "fancy": (lambda a: a[torch.tensor([1, 1, 0])], lambda x: x[[1, 1, 0]]),
    "expand": (lambda a: a[:, :1].expand(2, 3), lambda x: np.broadcast_to(x[:, :1], (2, 3))),
    "clone": (lambda a: a.clone(), lambda x: x.copy()),
}


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_results(name):
    op, reference = UNARY[name]
    got = op(t(X))
    expected = np.asarray(reference(X))
    assert got.dtype == torch.float32 and got.shape == expected.shape
    np.testing.assert_array_equal(got.detach().numpy(), expected)


BINARY = {
    "add": (lambda a, b: a + b, lambda x, y: x + y),
    "sub": (lambda a, b: a - b, lambda x, y: x - y),
    "mul": (lambda a, b: a * b, lambda x, y: x * y),
    "div": (lambda a, b: a / b, lambda x, y: x / y),
    "pow": (lambda a, b: (a.abs() + 0.5) ** b, lambda x, y: (np.abs(x) + np.float32(0.5)) ** y),
    "matmul": (lambda a, b: a @ b.T, lambda x, y: x @ y.T),
    "where": (lambda a, b: torch.where(a > b, a, b), lambda x, y: np.where(x > y, x, y)),
    "stack": (lambda a, b: torch.stack([a, b]), lambda x, y: np.stack([x, y])),
    "stack dim": (lambda a, b: torch.stack([a, b], dim=2), lambda x, y: np.stack([x, y], axis=2)),
    "cat": (lambda a, b: torch.cat([a, b]), lambda x, y: np.concatenate([x, y])),
    "cat dim": (lambda a, b: torch.cat([a, b], dim=1), lambda x, y: np.concatenate([x, y], axis=1)),
    "linear": (lambda a, b: F.linear(a, b), lambda x, y: x @ y.T),
    "linear bias": (lambda a, b: F.linear(a, b, a[0, :2]), lambda x, y: x @ y.T + x[0, :2]),
    "mse": (F.mse_loss, lambda x, y: (x - y).ravel().dot((x - y).ravel()) / np.float32(8)),
    "mse sum": (lambda a, b: F.mse_loss(a, b, reduction="sum"), lambda x, y: (x - y).ravel().dot((x - y).ravel())),
    "mse none": (lambda a, b: F.mse_loss(a, b, reduction="none"), lambda x, y: (x - y) ** 2),
    "l1": (F.l1_loss, lambda x, y: np.add.reduce(np.abs(x - y), axis=None) / np.float32(8)),
    "l1 sum": (lambda a, b: F.l1_loss(a, b, reduction="sum"), lambda x, y: np.sum(np.abs(x - y))),
    "l1 none": (lambda a, b: F.l1_loss(a, b, reduction="none"), lambda x, y: np.abs(x - y)),
}


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_results(name):
    op, reference = BINARY[name]
    got = op(t(X), t(Y))
    expected = np.asarray(reference(X, Y))
    assert got.dtype == torch.float32 and got.shape == expected.shape
    np.testing.assert_array_equal(got.detach().numpy(), expected)


def test_sigmoid_on_both_sides_of_zero_and_far_out():
    x = np.array([-100.0, -20.0, -1.0, -1e-3, 0.0, 1e-3, 0.5, 1.0, 20.0, 100.0], dtype=np.float32)
    got = torch.sigmoid(t(x)).numpy()
    # within float32 rounding, and within float32's smallest step where the result is subnormal
    np.testing.assert_allclose(got, 1 / (1 + np.exp(-x.astype(np.float64))), rtol=2e-7, atol=1.5e-45)
    assert got.dtype == np.float32 and got[4] == 0.5


def test_functions_at_their_kinks_follow_pytorch():
    # PyTorch: relu'(0) = 0, leaky_relu'(0) = slope, clamp passes the gradient at its edges,
    # |x|'(0) = 0; relu(-0.0) is 0.
    for fn, expected in [(torch.relu, [0.0, 1.0, 0.0]), (lambda a: F.leaky_relu(a, 0.1), [0.1, 1.0, 0.1]),
                         (lambda a: a.clamp(0.0, 1.0), [1.0, 1.0, 0.0]), (torch.abs, [0.0, 1.0, -1.0])]:
        x = torch.tensor([0.0, 1.0, -2.0], requires_grad=True)
        fn(x).sum().backward()
        assert x.grad.tolist() == pytest.approx(expected), fn


def test_squeeze_picks_the_dimension():
    x = torch.ones(1, 3, 1)
    assert x.squeeze(0).shape == (3, 1) and x.squeeze(-1).shape == (1, 3) and x.squeeze().shape == (3,)
    assert torch.ones(2, 1).squeeze(0).shape == (2, 1)  # not of size 1: unchanged
    assert torch.tensor(5.0).squeeze(0).shape == () and torch.tensor(5.0).squeeze().shape == ()


def test_transposing_three_dimensions():
    with pytest.raises(RuntimeError, match=r"^t\(\) expects a tensor with <= 2 dimensions, but self is 3D$"):
        torch.ones(2, 3, 4).t()
    x = torch.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    np.testing.assert_array_equal(x.T.detach().numpy(), np.arange(24.0).reshape(2, 3, 4).T)
    np.testing.assert_array_equal(x.mT.detach().numpy(), np.swapaxes(np.arange(24.0).reshape(2, 3, 4), -1, -2))
    assert torch.tensor([1.0, 2.0]).t().tolist() == [1.0, 2.0] and torch.tensor([1.0]).T.shape == (1,)


def test_where_takes_a_condition_of_any_type():
    assert torch.where(torch.tensor([1, 0, 2]), torch.tensor([1.0, 2.0, 3.0]), 0.0).tolist() == [1.0, 0.0, 3.0]
    assert torch.where(np.array([True, False]), 1.0, torch.tensor([5.0, 6.0])).tolist() == [1.0, 6.0]


def test_max_and_min_along_a_dimension_give_indices():
    x = torch.tensor([[1.0, 5.0, 3.0], [7.0, 2.0, 2.5]])
    values, indices = x.max(dim=1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0] and indices.dtype == torch.int64
    values, indices = x.min(dim=0, keepdim=True)
    assert values.tolist() == [[1.0, 2.0, 2.5]] and indices.tolist() == [[0, 1, 1]]
    assert x.max().item() == 7.0 and x.min().item() == 1.0
    assert x.max().shape == () and x.max(1)[0].shape == (2,)


def test_relu_and_leaky_relu_keep_float64():
    x = torch.tensor([-1.0, 2.0], dtype=torch.float64, requires_grad=True)
    for fn in (torch.relu, F.leaky_relu):
        y = fn(x)
        assert y.dtype == torch.float64
        y.sum().backward()
        assert x.grad.dtype == torch.float64
        x.grad = None


@pytest.mark.parametrize("make, name", [
    (lambda x, y, c: x + y, "AddBackward0"), (lambda x, y, c: x - y, "SubBackward0"),
    (lambda x, y, c: x * y, "MulBackward0"), (lambda x, y, c: x / y, "DivBackward0"),
    (lambda x, y, c: -x, "NegBackward0"), (lambda x, y, c: x**2, "PowBackward0"),
    (lambda x, y, c: y**x, "PowBackward1"), (lambda x, y, c: 2.0**x, "PowBackward2"),
    (lambda x, y, c: x @ y.T, "MmBackward0"), (lambda x, y, c: x.exp(), "ExpBackward0"),
    (lambda x, y, c: y.log(), "LogBackward0"), (lambda x, y, c: y.sqrt(), "SqrtBackward0"),
    (lambda x, y, c: x.abs(), "AbsBackward0"), (lambda x, y, c: x.tanh(), "TanhBackward0"),
    (lambda x, y, c: x.sigmoid(), "SigmoidBackward0"), (lambda x, y, c: x.relu(), "ReluBackward0"),
    (lambda x, y, c: F.leaky_relu(x), "LeakyReluBackward0"), (lambda x, y, c: x.clamp(0, 1), "ClampBackward1"),
    (lambda x, y, c: x.sum(), "SumBackward0"), (lambda x, y, c: x.sum(1), "SumBackward1"),
    (lambda x, y, c: x.mean(), "MeanBackward0"), (lambda x, y, c: x.mean(1), "MeanBackward1"),
    (lambda x, y, c: x.max(), "MaxBackward1"), (lambda x, y, c: x.max(1)[0], "MaxBackward0"),
    (lambda x, y, c: x.min(), "MinBackward1"), (lambda x, y, c: x.min(1)[0], "MinBackward0"),
    (lambda x, y, c: x.reshape(3), "ViewBackward0"), (lambda x, y, c: x.view(3), "ViewBackward0"),
    (lambda x, y, c: x.unsqueeze(0), "UnsqueezeBackward0"), (lambda x, y, c: x.squeeze(), "SqueezeBackward0"),
    (lambda x, y, c: x.squeeze(0), "SqueezeBackward1"), (lambda x, y, c: x.transpose(0, 1), "TransposeBackward0"),
    (lambda x, y, c: x.t(), "TBackward0"), (lambda x, y, c: x.T, "PermuteBackward0"),
    (lambda x, y, c: x.mT, "TransposeBackward0"), (lambda x, y, c: c.expand(2, 3), "ExpandBackward0"),
    (lambda x, y, c: x[0], "SelectBackward0"), (lambda x, y, c: x[:, [0, 2]], "IndexBackward0"),
    (lambda x, y, c: torch.stack([x, y]), "StackBackward0"), (lambda x, y, c: torch.cat([x, y]), "CatBackward0"),
    (lambda x, y, c: torch.where(x > 0, x, y), "WhereBackward0"), (lambda x, y, c: F.linear(x, y), "MmBackward0"),
    (lambda x, y, c: F.linear(x, y, torch.ones(1)), "AddmmBackward0"), (lambda x, y, c: F.mse_loss(x, y), "MseLossBackward0"),
    (lambda x, y, c: F.mse_loss(x, y, reduction="sum"), "MseLossBackward0"), (lambda x, y, c: F.l1_loss(x, y), "MeanBackward0"),
    (lambda x, y, c: x.clone(), "CloneBackward0"), (lambda x, y, c: x.to(torch.float64), "ToCopyBackward0"),
    (lambda x, y, c: x.double(), "ToCopyBackward0"), (lambda x, y, c: x.square(), "PowBackward0"),
    (lambda x, y, c: torch.ones(2, 3, 4, requires_grad=True).T, "PermuteBackward0"),
])
def test_grad_fn_names_are_pytorchs(make, name):
    x = torch.tensor([[0.5, -1.0, 2.0]], requires_grad=True)
    y = torch.tensor([[1.5, 2.0, 0.5]], requires_grad=True)
    c = torch.tensor([[1.0], [2.0]], requires_grad=True)
    out = make(x, y, c)
    assert out.grad_fn.name() == name and repr(out.grad_fn) == f"<{name} object>"


def test_comparisons_give_bool_tensors():
    a, b = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2.0, 2.0, 2.0])
    assert (a == b).tolist() == [False, True, False] and (a == b).dtype == torch.bool
    assert (a != b).tolist() == [True, False, True]
    assert (a < b).tolist() == [True, False, False] and (a <= b).tolist() == [True, True, False]
    assert (a > b).tolist() == [False, False, True] and (a >= b).tolist() == [False, True, True]
    assert (a == 2).tolist() == [False, True, False] and (2 >= a).tolist() == [True, True, False]
    assert a.gt(b).tolist() == [False, False, True] and a.le(2.0).tolist() == [True, True, False]
    assert (torch.tensor([1, 2, 3]) == 2).tolist() == [False, True, False]


def test_max_of_a_tensor_with_a_nan_is_the_nan():
    x = torch.tensor([1.0, float("nan"), 3.0], requires_grad=True)
    y = x.max()
    assert np.isnan(y.item())
    y.backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]  # PyTorch: the gradient goes to the nan
    values, indices = torch.tensor([[1.0, float("nan")], [3.0, 2.0]]).max(1)
    assert np.isnan(values.tolist()[0]) and values.tolist()[1] == 3.0 and indices.tolist() == [1, 0]


def test_tensor_powers_keep_the_wider_dtype():
    single = torch.tensor([2.0, 3.0])
    double = torch.tensor([2.0, 0.5], dtype=torch.float64)
    assert (double ** single).dtype == torch.float64 and (single ** double).dtype == torch.float64
    assert (single ** single).dtype == torch.float32
    assert (double ** single).tolist() == [4.0, 0.5**3]


def test_copying_into_a_tensor_that_requires_grad():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.copy_(x * x)  # the old value (x * 2) gets a zero gradient, x * x passes it on
    y.sum().backward()
    assert y.tolist() == [1.0, 4.0] and x.grad.tolist() == [2.0, 4.0]
    plain = torch.zeros(2)
    plain.copy_(np.array([3.0, 4.0]))
    plain.copy_(torch.tensor([5.0]))  # broadcast
    assert plain.tolist() == [5.0, 5.0]
