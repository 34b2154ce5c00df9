"""Every fast path of the engine against its plain formula, at the sizes where it runs.

The engine takes shortcuts for speed: a blocked tanh backward above 4 * _BLOCK elements, an
outer product instead of a matmul of inner dimension 1 (einsum from 4096 elements), a BLAS
column sum from 1024 rows, a filled array instead of a broadcast view up to 4096 elements,
numpy-scalar arithmetic for 0-d parameters in the optimizers and in .grad accumulation, a
chain walk instead of the general graph walk. A shortcut that only runs above a size is tested
at that size, on both sides of its threshold; the thresholds are read from the code.

The plain formulas are computed here in numpy, in the same dtype and operation order as the
shortcut claims to follow, so the comparison is exact (`assert_array_equal`) where the
shortcut is meant to give the very same numbers.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import engine as torch
import engine.nn.functional as F
from engine import ops, optim
from engine.tensor import _unit_seed

BLOCKED = 4 * ops._BLOCK  # the blocked tanh backward runs from this many elements
RNG = np.random.default_rng(7)


def float32(*shape, low=-2.0, high=2.0):
    return RNG.uniform(low, high, size=shape).astype(np.float32)


# ---------------------------------------------------------------------- blocked tanh backward
@pytest.mark.parametrize("shape", [(BLOCKED - 1,), (BLOCKED,), (BLOCKED + ops._BLOCK // 2 + 3,), (600, 500)],
                         ids=["below", "at", "partial last block", "2-d"])
def test_tanh_backward_is_g_times_one_minus_t_squared(shape):
    x = torch.tensor(float32(*shape), requires_grad=True)
    weights = float32(*shape)
    y = torch.tanh(x)
    (y * torch.tensor(weights)).sum().backward()  # the chain walk: g is owned, may be reused
    t = np.tanh(x.data)
    np.testing.assert_array_equal(x.grad.numpy(), weights * (1 - t * t))


def test_tanh_backward_leaves_a_gradient_it_does_not_own_alone():
    # The gradient handed in by the caller is also the caller's: it must not be written into.
    shape = (BLOCKED + 5,)
    x = torch.tensor(float32(*shape), requires_grad=True)
    y = torch.tanh(x)
    seed = torch.tensor(float32(*shape))
    kept = seed.data.copy()
    y.backward(seed)
    np.testing.assert_array_equal(seed.data, kept)
    t = np.tanh(x.data)
    np.testing.assert_array_equal(x.grad.numpy(), kept * (1 - t * t))


def test_tanh_backward_when_the_gradient_is_shared_in_a_graph():
    # y = tanh(x) + b: add hands the same gradient array to both inputs; b's copy must not see
    # tanh's result written into it.
    shape = (BLOCKED,)
    x = torch.tensor(float32(*shape), requires_grad=True)
    b = torch.tensor(float32(*shape), requires_grad=True)
    (torch.tanh(x) + b).sum().backward()
    np.testing.assert_array_equal(b.grad.numpy(), np.ones(shape, dtype=np.float32))
    t = np.tanh(x.data)
    np.testing.assert_array_equal(x.grad.numpy(), 1 - t * t)
    # and in the general walk (two non-leaf inputs), with retain_grad on the shared node
    x.grad = None
    u = torch.tanh(x)
    v = torch.tanh(x * 1)
    s = u + v
    s.retain_grad()
    (s * 2).sum().backward()
    np.testing.assert_array_equal(s.grad.numpy(), np.full(shape, 2, dtype=np.float32))
    np.testing.assert_array_equal(x.grad.numpy(), 2 * (1 - t * t) + 2 * (1 - t * t))


def test_tanh_backward_on_other_layouts_and_dtypes():
    # Non-contiguous input, float64 gradient into a float32 result: the plain formula runs.
    base = float32(2 * BLOCKED // 1000, 1000)
    x = torch.tensor(base, requires_grad=True)
    y = torch.tanh(x.t())  # a transposed, non-contiguous view
    weights = float32(*y.shape)
    (y * torch.tensor(weights)).sum().backward()
    t = np.tanh(base)
    np.testing.assert_array_equal(x.grad.numpy(), (weights * (1 - t.T * t.T)).T)
    x64 = torch.tensor(float32(BLOCKED), requires_grad=True)
    (torch.tanh(x64) * torch.tensor(np.ones(BLOCKED), dtype=torch.float64)).sum().backward()
    t = np.tanh(x64.data)
    np.testing.assert_allclose(x64.grad.numpy(), 1 - t.astype(np.float64) ** 2, rtol=1e-6)


# ---------------------------------------------------------------------- linear: outer products
OUTER_SIZES = [(4095, 1), (4096, 1), (64, 63), (64, 64), (1, 13), (11, 13)]


@pytest.mark.parametrize("batch, out_features", OUTER_SIZES, ids=[f"{n}x{m}" for n, m in OUTER_SIZES])
def test_linear_with_one_input_feature_is_an_outer_product(batch, out_features):
    # x (batch, 1) @ W^T (1, out): each output is one product, so the numbers are exact.
    x = torch.tensor(float32(batch, 1), requires_grad=True)
    layer_w = torch.tensor(float32(out_features, 1), requires_grad=True)
    bias = torch.tensor(float32(out_features), requires_grad=True)
    y = F.linear(x, layer_w, bias)
    expected = x.data * layer_w.data[:, 0][None, :] + bias.data
    np.testing.assert_array_equal(y.detach().numpy(), expected)
    g = float32(batch, out_features)
    y.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), g @ layer_w.data, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer_w.grad.numpy(), g.T @ x.data, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("batch, in_features", [(4095, 1), (4096, 1), (64, 64), (64, 65), (11, 13)],
                         ids=["4095x1", "4096x1", "64x64", "64x65", "11x13"])
def test_linear_with_one_output_feature_passes_g_times_w_back(batch, in_features):
    # The input gradient of a one-output layer is g (batch, 1) times W (1, in): an outer product.
    x = torch.tensor(float32(batch, in_features), requires_grad=True)
    layer_w = torch.tensor(float32(1, in_features), requires_grad=True)
    y = F.linear(x, layer_w)
    g = float32(batch, 1)
    y.backward(torch.tensor(g))
    np.testing.assert_array_equal(x.grad.numpy(), g * layer_w.data)


def test_outer_on_both_sides_of_its_threshold():
    for n, m in [(64, 63), (64, 64), (4096, 1), (4095, 1), (3, 5)]:
        column, row = float32(n, 1), float32(1, m)
        np.testing.assert_array_equal(ops._outer(column, row), column * row)


# ---------------------------------------------------------------------- bias: column sums
@pytest.mark.parametrize("batch", [1023, 1024, 3000])
def test_bias_gradient_is_the_sum_over_the_batch(batch):
    # Integer-valued gradients: every order of summation gives the same exact sum.
    x = torch.tensor(float32(batch, 3))
    layer_w = torch.tensor(float32(2, 3))
    bias = torch.tensor(float32(2), requires_grad=True)
    g = RNG.integers(-8, 9, size=(batch, 2)).astype(np.float32)
    F.linear(x, layer_w, bias).backward(torch.tensor(g))
    np.testing.assert_array_equal(bias.grad.numpy(), g.sum(axis=0))
    np.testing.assert_array_equal(ops._sum_rows(g), g.sum(axis=0))


def test_linear_on_a_batch_of_batches():
    x = torch.tensor(float32(2, 5, 3), requires_grad=True)
    layer_w = torch.tensor(float32(4, 3), requires_grad=True)
    bias = torch.tensor(float32(4), requires_grad=True)
    g = RNG.integers(-4, 5, size=(2, 5, 4)).astype(np.float32)
    y = F.linear(x, layer_w, bias)
    np.testing.assert_allclose(y.detach().numpy(), x.data @ layer_w.data.T + bias.data, rtol=1e-6)
    y.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), g @ layer_w.data, rtol=1e-6)
    np.testing.assert_allclose(layer_w.grad.numpy(), np.einsum("bno,bni->oi", g, x.data), rtol=1e-5)
    np.testing.assert_array_equal(bias.grad.numpy(), g.sum(axis=(0, 1)))


# ---------------------------------------------------------------------- sum and mean backward
@pytest.mark.parametrize("n", [1, 11, 4096, 4097])
@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_full_reduction_gradient_of_a_vector(n, reduce):
    x = torch.tensor(float32(n), requires_grad=True)
    getattr(x, reduce)().backward()
    expected = np.float32(1) if reduce == "sum" else np.float32(1) / np.float32(n)
    np.testing.assert_array_equal(x.grad.numpy(), np.full(n, expected, dtype=np.float32))
    assert x.grad.numpy().flags.writeable  # an array of its own, not a read-only view


@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_full_reduction_gradient_of_a_matrix_and_a_scalar(reduce):
    x = torch.tensor(float32(3, 4), requires_grad=True)
    (getattr(x, reduce)() * 3).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((3, 4), 3 if reduce == "sum" else np.float32(3) / 12, np.float32))
    s = torch.tensor(2.5, requires_grad=True)
    (getattr(s, reduce)() * 3).backward()
    assert s.grad.item() == 3.0


def test_mean_on_other_dtypes_and_empty_tensors():
    half = torch.tensor(np.array([1.0, 2.0, 4.0], dtype=np.float16))
    assert half.mean().dtype == np.float16 and half.mean().item() == pytest.approx(7 / 3, rel=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(torch.tensor(np.zeros(0, dtype=np.float32)).mean().item())
        assert np.isnan(torch.zeros(0, 3).mean(dim=0)).all()
    with pytest.raises(RuntimeError, match="mean"):
        torch.tensor([1, 2]).mean()


# ---------------------------------------------------------------------- scale_shift and mse_loss
@pytest.mark.parametrize("param_shape", [(), (1,)], ids=["0-d", "(1,)"])
def test_scale_shift_gradients(param_shape):
    x = torch.tensor(RNG.integers(-9, 10, size=11).astype(np.float32), requires_grad=True)
    w = torch.tensor(np.full(param_shape, 3.0, dtype=np.float32), requires_grad=True)
    b = torch.tensor(np.full(param_shape, -1.0, dtype=np.float32), requires_grad=True)
    g = RNG.integers(-5, 6, size=11).astype(np.float32)
    y = ops.scale_shift(x, w, b)
    np.testing.assert_array_equal(y.detach().numpy(), x.data * np.float32(3) - 1)
    y.backward(torch.tensor(g))
    assert w.grad.shape == param_shape and b.grad.shape == param_shape
    assert w.grad.numpy().sum() == (g * x.data).sum() and b.grad.numpy().sum() == g.sum()
    np.testing.assert_array_equal(x.grad.numpy(), g * 3)


def test_scale_shift_with_non_leaf_parameters():
    # w and b computed from leaves: their gradients are arrays passed on, not numpy scalars.
    x = torch.tensor([1.0, 2.0, 3.0])
    w0 = torch.tensor(2.0, requires_grad=True)
    b0 = torch.tensor(1.0, requires_grad=True)
    ops.scale_shift(x, w0 * 5, b0 * 7).sum().backward()
    assert w0.grad.item() == 5 * 6.0 and b0.grad.item() == 7 * 3.0
    assert w0.grad.dtype == torch.float32


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_mse_loss_gradient_and_dtype(reduction):
    pred = torch.tensor([1.0, 2.0, 4.0], requires_grad=True)
    target = torch.tensor([0.5, 2.5, 1.0], requires_grad=True)
    loss = F.mse_loss(pred, target, reduction=reduction)
    n = 3 if reduction == "mean" else 1
    assert loss.item() == pytest.approx((0.25 + 0.25 + 9) / n)
    loss.backward()
    diff = np.array([0.5, -0.5, 3.0], dtype=np.float32)
    np.testing.assert_array_equal(pred.grad.numpy(), diff * np.float32(2.0 / n))
    np.testing.assert_array_equal(target.grad.numpy(), -diff * np.float32(2.0 / n))


def test_mse_loss_under_a_float64_upstream_gradient_stays_float32():
    pred = torch.tensor([1.0, 2.0, 4.0], requires_grad=True)
    loss = F.mse_loss(pred, torch.tensor([0.5, 2.5, 1.0])) * torch.tensor(3.0, dtype=torch.float64)
    loss.backward()
    assert pred.grad.dtype == torch.float32
    np.testing.assert_allclose(pred.grad.numpy(), np.array([0.5, -0.5, 3.0]) * 2 / 3 * 3, rtol=1e-6)
    # and a non-scalar upstream gradient (reduction none goes through pow and sub)
    p = torch.tensor([[1.0], [2.0]], requires_grad=True)
    F.mse_loss(p, torch.tensor([[0.0], [0.0]]), reduction="none").backward(torch.tensor([[1.0], [2.0]]))
    assert p.grad.tolist() == [[2.0], [8.0]]


# ---------------------------------------------------------------------- seeds and accumulation
def test_the_unit_seed_is_shared_read_only_and_typed():
    from engine.tensor import _UNIT_SEEDS

    _UNIT_SEEDS.clear()  # made on first use: start from there
    for dtype in (np.float32, np.float64):
        seed = _unit_seed(np.zeros((), dtype=dtype))
        assert seed.dtype == dtype and seed[()] == 1 and not seed.flags.writeable
        assert _unit_seed(np.zeros((), dtype=dtype)) is seed
    one_element = _unit_seed(np.zeros((1,), dtype=np.float32))
    assert one_element.shape == (1,) and one_element.flags.writeable and one_element[0] == 1
    assert one_element.dtype == np.float32


@pytest.mark.parametrize("shape", [(), (1,), (3,)])
def test_gradients_accumulate_exactly(shape):
    x = torch.tensor(np.full(shape, 1.5, dtype=np.float32), requires_grad=True)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    (x * 0.25).sum().backward()
    assert x.grad.shape == shape and x.grad.dtype == torch.float32
    np.testing.assert_array_equal(x.grad.numpy(), np.full(shape, 5.25, dtype=np.float32))
    # a float64 contribution into a float32 gradient is rounded into it
    (x * torch.tensor(1.0, dtype=torch.float64)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(shape, 6.25, dtype=np.float32))


def test_a_broadcast_gradient_into_a_leaf_is_a_writable_array():
    x = torch.tensor(np.ones((3, 2), dtype=np.float32), requires_grad=True)
    x.sum().backward()
    x.grad.data[0, 0] = 5.0  # its own memory
    assert x.grad.tolist() == [[5.0, 1.0], [1.0, 1.0], [1.0, 1.0]]


def test_chain_and_general_walks_agree():
    # The same function, once as a chain and once with a second path that forces the general
    # topological walk; the second path adds exactly zero.
    x_data = float32(5)
    x1 = torch.tensor(x_data, requires_grad=True)
    (torch.tanh(x1 * 3) * 2).sum().backward()
    x2 = torch.tensor(x_data, requires_grad=True)
    h = x2 * 3
    (torch.tanh(h) * 2 + h * 0).sum().backward()
    np.testing.assert_array_equal(x1.grad.numpy(), x2.grad.numpy())


# ---------------------------------------------------------------------- optimizer shortcuts
@pytest.mark.parametrize("make", [
    lambda p: optim.SGD(p, lr=0.1),
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.1),
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    lambda p: optim.Adam(p, lr=0.1),
    lambda p: optim.Adam(p, lr=0.1, weight_decay=0.1, betas=(0.8, 0.9)),
    lambda p: optim.Adam(p, lr=0.1, eps=0.5),
    lambda p: optim.Adam(p, lr=0.1, amsgrad=True, betas=(0.5, 0.9)),
], ids=["sgd", "momentum", "dampening+decay", "nesterov", "adam", "adam+decay", "adam large eps", "amsgrad"])
def test_scalar_parameters_step_as_one_element_vectors_do(make):
    # 0-d parameters take numpy-scalar shortcuts; they must round as the array path does.
    scalars = [torch.tensor(1.5, requires_grad=True), torch.tensor(-0.25, requires_grad=True)]
    vector = torch.tensor([1.5, -0.25], requires_grad=True)
    scalar_optimizer, vector_optimizer = make(scalars), make([vector])
    for step in range(6):
        grads = np.array([np.float32(0.7) * (step - 2.5), np.float32(1.3) / (step + 1)], dtype=np.float32)
        for p, g in zip(scalars, grads):
            p.grad = torch.tensor(g)
        vector.grad = torch.tensor(grads)
        scalar_optimizer.step()
        vector_optimizer.step()
        assert [p.item() for p in scalars] == vector.tolist(), f"step {step}"


def test_plain_sgd_on_parameters_of_two_dtypes():
    # The cached learning-rate array must follow the gradient's dtype.
    single = torch.tensor([1.0, 2.0], requires_grad=True)
    double = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    optimizer = optim.SGD([single, double, torch.tensor([3.0], requires_grad=True)], lr=0.1)
    single.grad = torch.tensor([0.3, 0.7])
    double.grad = torch.tensor([0.3, 0.7], dtype=torch.float64)
    optimizer.step()
    assert single.dtype == torch.float32 and double.dtype == torch.float64
    np.testing.assert_array_equal(single.detach().numpy(), np.array([1.0, 2.0], np.float32) - np.float32(0.1) * np.array([0.3, 0.7], np.float32))
    np.testing.assert_array_equal(double.detach().numpy(), np.array([1.0, 2.0]) - 0.1 * np.array([0.3, 0.7]))


def test_plain_sgd_rounds_in_the_parameters_dtype():
    # lr * g is rounded to float32 before the subtraction, as PyTorch computes it in float32;
    # a float64 product would round once instead of twice and differ in the last bit.
    values = float32(1000)
    grads = float32(1000)
    p = torch.tensor(values, requires_grad=True)
    p.grad = torch.tensor(grads)
    optim.SGD([p], lr=0.1).step()
    np.testing.assert_array_equal(p.detach().numpy(), values - grads * np.float32(0.1))
    in_float64 = (values.astype(np.float64) - grads.astype(np.float64) * 0.1).astype(np.float32)
    assert not np.array_equal(in_float64, p.detach().numpy())  # the test can tell the two apart


# ---------------------------------------------------------------------- the two graph walks
def test_a_result_used_twice_sums_both_paths():
    # h feeds two ops: the general walk adds what each path sends back before going on.
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    (h * h + h).sum().backward()  # d/dx (9x^2 + 3x) = 18x + 3
    assert x.grad.tolist() == [21.0, 39.0]


def test_a_constant_in_the_graph_gets_no_gradient():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    c = torch.tensor([5.0, 6.0])
    ((x * 2 + c) + x * 3).sum().backward()  # the general walk
    (x * 2 + c).sum().backward()  # the chain walk
    assert c.grad is None and x.grad.tolist() == [7.0, 7.0]


@pytest.mark.parametrize("shape", ["chain", "graph"])
def test_retain_grad_and_a_second_backward(shape):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.retain_grad()
    y = (h * 3).sum() if shape == "chain" else (h * 3 + h * h).sum()
    y.backward(retain_graph=True)
    first = h.grad.tolist()
    assert first == ([3.0, 3.0] if shape == "chain" else [7.0, 11.0])
    y.backward()  # retained: a second backward accumulates
    assert h.grad.tolist() == [2 * v for v in first]
    with pytest.raises(RuntimeError, match="^Trying to backward through the graph a second time"):
        y.backward()
    assert h.grad.tolist() == [2 * v for v in first]  # the refused call added nothing


def test_scale_shift_is_named_as_the_chapter_s_last_op():
    """w * x + b ends in an addition: PyTorch names that node AddBackward0, and so does the
    fused node (the backprop view and the graph a student prints read this name)."""
    w = torch.tensor(2.0, requires_grad=True)
    b = torch.tensor(1.0, requires_grad=True)
    y = ops.scale_shift(torch.tensor([1.0, 2.0]), w, b)
    assert y.grad_fn.name() == "AddBackward0"
