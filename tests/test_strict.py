"""Where PyTorch refuses or defines a value, the engine does the same.

Every expected value and message below is what PyTorch 2.13 (CPU) returned or raised for the
same code, run by hand; the messages are matched on PyTorch's own wording.
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import engine as torch
from engine import ops, optim

INPLACE = "one of the variables needed for gradient computation has been modified by an inplace operation"
INF = float("inf")


def grads(*tensors):
    return [t.grad.tolist() for t in tensors]


# ---------------------------------------------------------------------- pow at zero
def test_zero_power_has_zero_gradient_even_at_zero():
    # d(x^0)/dx = 0 everywhere; the formula 0 * x^-1 would say 0 * inf = nan at x = 0
    x = torch.tensor([0.0, 1.0], requires_grad=True)
    (x**0).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]


def test_a_nan_at_zero_does_not_poison_the_leaf():
    # The leaf is used twice; a nan from one use would spread through the accumulated sum.
    x = torch.tensor([0.0, 2.0, -3.0], requires_grad=True)
    (x**0 + 3 * x).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0, 3.0]


def test_powers_of_zero_keep_their_natural_gradients():
    for exponent, expected in [(1, 1.0), (3, 0.0), (-1, -INF), (0.5, INF)]:
        x = torch.tensor([0.0], requires_grad=True)
        (x**exponent).sum().backward()
        assert x.grad.tolist() == [expected], exponent


def test_tensor_power_at_zero_base_follows_pytorch():
    base = torch.tensor([0.0, 0.0, 0.0, 2.0], requires_grad=True)
    exponent = torch.tensor([0.0, 2.0, -1.0, 0.5], requires_grad=True)
    (base**exponent).sum().backward()
    # d/dbase: exponent * base^(exponent - 1), 0 where exponent == 0
    assert base.grad.tolist() == [0.0, 0.0, -INF, pytest.approx(0.35355339)]
    # d/dexponent: base^exponent * ln(base), 0 where base == 0 and exponent >= 0
    assert exponent.grad.tolist() == [0.0, 0.0, -INF, pytest.approx(0.98025814)]


def test_constant_tensor_exponent_at_zero_base():
    base = torch.tensor([0.0, 0.0, 0.0], requires_grad=True)
    (base ** torch.tensor([0.0, -1.0, 0.5])).sum().backward()
    assert base.grad.tolist() == [0.0, -INF, INF]


@pytest.mark.parametrize("zero", [0.0, 0, "tensor"])
def test_zero_to_a_tensor_power(zero):
    exponent = torch.tensor([0.0, 2.0, -1.0, 0.5], requires_grad=True)
    base = torch.tensor(0.0) if zero == "tensor" else zero
    (base**exponent).sum().backward()
    assert exponent.grad.tolist() == [0.0, 0.0, -INF, 0.0]


def test_number_to_a_tensor_power_elsewhere():
    exponent = torch.tensor([0.0, 2.0, -1.0, 0.5], requires_grad=True)
    (2.0**exponent).sum().backward()
    np.testing.assert_allclose(exponent.grad.numpy(), [0.6931472, 2.7725887, 0.3465736, 0.9802581], rtol=1e-6)
    negative = torch.tensor([0.0, 2.0], requires_grad=True)
    ((-2.0) ** negative).sum().backward()
    assert np.isnan(negative.grad.numpy()).all()  # ln of a negative base


# ---------------------------------------------------------------------- version counter
def test_inplace_ops_bump_the_version_and_data_writes_do_not():
    t = torch.tensor([1.0, 2.0])
    versions = [t._version]
    for change in (lambda: t.__iadd__(1), lambda: t.zero_(), lambda: t.__setitem__(0, 3.0),
                   lambda: t.copy_(torch.ones(2)), lambda: t.__isub__(1), lambda: t.__imul__(2),
                   lambda: t.__itruediv__(2), lambda: t.fill_(1.0), lambda: t.clamp_(0.0, 0.5),
                   lambda: t.add_(1.0, alpha=2), lambda: t.sub_(1.0), lambda: t.mul_(2), lambda: t.div_(2)):
        change()
        versions.append(t._version)
    assert versions == list(range(14))
    t.data[0] = 5.0
    t.data += 1
    assert t._version == 13  # `.data` is not tracked, as in PyTorch


def test_views_and_detach_share_the_version_counter():
    t = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    detached = t.detach()
    detached += 1
    assert t._version == 1
    for view in (t[0], t.reshape(4), t.view(4), t.unsqueeze(0), t.transpose(0, 1), t.T, t[:, 1],
                 t.unsqueeze(0).squeeze(0), t.expand(3, 2, 2)):
        before = t._version
        view._version_box[0] += 1  # what an in-place op on the view does
        assert t._version == before + 1
    copy = t[torch.tensor([0, 1])]  # advanced indexing copies: its own counter
    copy += 1
    assert copy._version == 1 and t._version == before + 1


def test_changing_an_intermediate_result_before_backward_raises():
    # The case: the gradient would silently be 28 instead of 24.
    x = torch.tensor(3.0, requires_grad=True)
    y = x * 2
    z = y * y
    y += 1
    with pytest.raises(RuntimeError, match=re.escape(INPLACE)) as error:
        z.backward()
    assert "[torch.FloatTensor []], which is output 0 of Add, is at version 1; expected version 0 instead" in str(error.value)


def test_message_names_shape_dtype_and_versions():
    x = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    y = x.exp()
    y += 1
    y += 1
    with pytest.raises(RuntimeError, match=re.escape(
            f"{INPLACE}: [torch.DoubleTensor [3]], which is output 0 of Exp, is at version 2; expected version 0 instead")):
        y.sum().backward()


def test_changing_a_leaf_under_no_grad_before_backward_raises():
    w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    with torch.no_grad():
        w -= 0.1 * w.grad
    with pytest.raises(RuntimeError, match=re.escape(f"{INPLACE}: [torch.FloatTensor [3]] is at version 1; expected version 0")):
        loss.backward()


def test_an_optimizer_step_counts_as_a_change():
    w = torch.tensor(2.0, requires_grad=True)
    optimizer = optim.SGD([w], lr=0.1)
    loss = w * w
    w.grad = torch.tensor(1.0)
    optimizer.step()
    assert w._version == 1
    with pytest.raises(RuntimeError, match=re.escape(INPLACE)):
        loss.backward()


@pytest.mark.parametrize("make", [
    lambda x: x.tanh(), lambda x: x.sigmoid(), lambda x: x.exp(), lambda x: x.sqrt(), lambda x: x.relu(),
], ids=["tanh", "sigmoid", "exp", "sqrt", "relu"])
def test_ops_that_reuse_their_result_refuse_a_changed_result(make):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = make(x)
    y += 1
    with pytest.raises(RuntimeError, match=re.escape(INPLACE)):
        y.sum().backward()


@pytest.mark.parametrize("make", [
    lambda x: x * x, lambda x: x**2, lambda x: x.log(), lambda x: x.abs(), lambda x: x.clamp(0.0, 1.5),
    lambda x: torch.nn.functional.leaky_relu(x), lambda x: x.max(), lambda x: torch.tensor([2.0, 4.0]) / x,
    lambda x: x ** torch.tensor([2.0, 3.0]), lambda x: torch.nn.functional.mse_loss(x, torch.ones(2)),
    lambda x: x @ x,
], ids=["mul", "pow", "log", "abs", "clamp", "leaky_relu", "max", "div", "pow_tensor", "mse_loss", "matmul"])
def test_ops_that_read_their_input_refuse_a_changed_leaf(make):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = make(x).sum()
    with torch.no_grad():
        x += 1
    with pytest.raises(RuntimeError, match=re.escape(INPLACE)):
        y.backward()


@pytest.mark.parametrize("make", [
    lambda x, c: x * c, lambda x, c: x + c, lambda x, c: x - c, lambda x, c: x / c,
    lambda x, c: x.reshape(2, 1), lambda x, c: x.sum(), lambda x, c: x.mean(), lambda x, c: x[0],
    lambda x, c: x.tanh(), lambda x, c: x.exp(), lambda x, c: x.sigmoid(), lambda x, c: x.relu(),
    lambda x, c: x.sqrt(), lambda x, c: x @ c, lambda x, c: c @ x, lambda x, c: c * x,
    lambda x, c: torch.nn.functional.linear(x.reshape(1, 2), c.reshape(1, 2)),
    lambda x, c: torch.nn.functional.linear(c.reshape(1, 2), x.reshape(1, 2)),
], ids=["mul", "add", "sub", "div", "reshape", "sum", "mean", "index", "tanh", "exp", "sigmoid",
        "relu", "sqrt", "matmul", "rmatmul", "rmul", "linear", "linear_weight"])
def test_ops_that_do_not_read_the_changed_tensor_do_not_refuse(make):
    # PyTorch saves only what backward reads: x * c keeps c, not x (when c needs no gradient);
    # tanh, exp, sigmoid, relu and sqrt keep their result, not their input.
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    c = torch.tensor([2.0, 4.0])
    y = make(x, c).sum()
    with torch.no_grad():
        x += 1
    y.backward()
    assert x.grad is not None


@pytest.mark.parametrize("make", [
    lambda x, c: x * c, lambda x, c: x / c, lambda x, c: torch.nn.functional.mse_loss(x, c),
    lambda x, c: torch.nn.functional.linear(x.reshape(1, 2), c.reshape(1, 2)),
], ids=["mul", "div", "mse_loss", "linear"])
def test_changing_a_constant_the_gradient_reads_raises(make):
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    c = torch.tensor([2.0, 4.0])
    y = make(x, c).sum()
    c += 1
    with pytest.raises(RuntimeError, match=re.escape(INPLACE)):
        y.backward()


def test_the_books_training_loop_still_works():
    t_u = torch.tensor([35.7, 55.9, 58.2, 81.9, 56.3, 48.9])
    t_c = torch.tensor([0.5, 14.0, 15.0, 28.0, 11.0, 8.0])
    params = torch.tensor([1.0, 0.0], requires_grad=True)
    for _ in range(3):
        if params.grad is not None:
            params.grad.zero_()
        w, b = params
        loss = ((w * 0.1 * t_u + b - t_c) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            params -= 1e-2 * params.grad
    assert params._version == 3 and params.is_leaf and params.requires_grad


def test_inplace_on_an_intermediate_result_becomes_part_of_the_graph():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y *= 3
    assert y.grad_fn.name() == "MulBackward0"
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y[0] = 5.0
    assert y.grad_fn.name() == "CopySlices"
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 2.0]

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    v = torch.tensor([7.0], requires_grad=True)
    y = x * 1
    y[1:] = v
    (y * torch.tensor([2.0, 3.0])).sum().backward()
    assert x.grad.tolist() == [2.0, 0.0] and v.grad.tolist() == [3.0]

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.zero_()
    assert y.grad_fn.name() == "FillBackward0" and y.requires_grad
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = torch.zeros(2)
    y.copy_(x * x)
    assert y.grad_fn.name() == "CopyBackwards" and not y.is_leaf
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]

    x = torch.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    y = x * 1
    y.clamp_(0.0, 1.0)
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    y -= x * x
    y /= 2
    y += 1
    y.sum().backward()
    assert x.grad.tolist() == [-0.5, -1.5]

    # the old values are kept for the new op's gradient (PyTorch's original_self)
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    y *= x
    y += 1
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    y /= x
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]


def test_inplace_on_a_leaf_that_requires_grad_is_refused_outside_no_grad():
    w = torch.tensor([1.0], requires_grad=True)
    for change in (lambda: w.__iadd__(1), lambda: w.zero_(), lambda: w.__setitem__(0, 1.0), lambda: w.copy_(w)):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
            change()
    assert w._version == 0 and w.tolist() == [1.0]


# ---------------------------------------------------------------------- backward's gradient
def test_backward_of_a_non_scalar_needs_a_gradient():
    a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="^grad can be implicitly created only for scalar outputs$"):
        (a * 2).backward()


@pytest.mark.parametrize("output_shape, gradient_shape", [((3,), (2,)), ((3,), ()), ((), (3,)), ((), (1,)), ((3,), (1, 3))])
def test_backward_refuses_a_gradient_of_another_shape(output_shape, gradient_shape):
    a = torch.ones(*output_shape, requires_grad=True)
    with pytest.raises(RuntimeError, match=re.escape(
            f"Mismatch in shape: grad_output[0] has a shape of torch.Size([{', '.join(map(str, gradient_shape))}]) "
            f"and output[0] has a shape of torch.Size([{', '.join(map(str, output_shape))}]).")):
        (a * 2).backward(torch.ones(*gradient_shape))
    assert a.grad is None


def test_backward_on_a_leaf_checks_the_gradient_too():
    a = torch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        a.backward(torch.ones(2))
    a.backward(torch.tensor([1.0, 2.0, 3.0]))
    assert a.grad.tolist() == [1.0, 2.0, 3.0]


def test_backward_wants_a_tensor_as_gradient():
    a = torch.ones(3, requires_grad=True)
    with pytest.raises(TypeError, match="^gradients can be either Tensors or None, but got list$"):
        (a * 2).backward([1.0, 1.0, 1.0])


def test_backward_messages_in_full():
    with pytest.raises(RuntimeError, match="^element 0 of tensors does not require grad and does not have a grad_fn$"):
        torch.tensor([1.0]).sum().backward()
    x = torch.tensor([1.0], requires_grad=True)
    for make in (lambda: (x * 2).sum(), lambda: (x * 2 + x * 3).sum()):  # chain and graph
        y = make()
        y.backward()
        with pytest.raises(RuntimeError, match=re.escape(
                "Trying to backward through the graph a second time; specify retain_graph=True the first time "
                "if you need to") + "$"):
            y.backward()


def test_gradients_of_a_python_number_round_in_the_tensors_dtype():
    # 0.1 * x: the number is a float32 constant, as in PyTorch; a float64 one would round the
    # gradient g * 0.1 once in double and then to float32, differently for some g.
    rng = np.random.default_rng(3)
    weights = rng.uniform(-2, 2, 1000).astype(np.float32)
    x = torch.tensor(np.ones(1000, dtype=np.float32), requires_grad=True)
    ((0.1 * x) * torch.tensor(weights)).sum().backward()
    (x * 0.1 * torch.tensor(weights)).sum().backward()
    once = weights * np.float32(0.1)
    assert not np.array_equal(once, (weights.astype(np.float64) * 0.1).astype(np.float32))  # the test can tell
    np.testing.assert_array_equal(x.grad.numpy(), once + once)


# ---------------------------------------------------------------------- optimizers
@pytest.mark.parametrize("make", [lambda p: optim.SGD(p, lr=0.1), lambda p: optim.Adam(p, lr=0.1)], ids=["SGD", "Adam"])
def test_optimizers_refuse_a_non_leaf_tensor(make):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="^can't optimize a non-leaf Tensor$"):
        make([a * 2])
    with pytest.raises(ValueError, match="^can't optimize a non-leaf Tensor$"):
        make([{"params": [a, a * 2]}])
    with pytest.raises(TypeError, match="iterable of Tensors"):
        make(a)  # a bare tensor, not a list of them


# ---------------------------------------------------------------------- floor division
def test_floor_division_rounds_toward_minus_infinity():
    assert (torch.tensor([7.0, -7.0]) // 2).tolist() == [3.0, -4.0]
    assert (7 // torch.tensor([2.0, -2.0])).tolist() == [3.0, -4.0]
    assert torch.floor_divide(torch.tensor([7, -7]), 2).tolist() == [3, -4]
    assert torch.tensor([7.0, -7.0]).floor_divide(torch.tensor([2.0, 2.0])).tolist() == [3.0, -4.0]
    assert torch.floor_divide(torch.tensor([7, -7]), 2).dtype == torch.int64
    halves = torch.tensor([7, -7]) // 2.5
    assert halves.dtype == torch.float32 and halves.tolist() == [2.0, -3.0]
    by_zero = torch.tensor([1.0, 0.0]) // 0
    assert by_zero.tolist()[0] == INF and np.isnan(by_zero.tolist()[1])
    with pytest.raises(RuntimeError, match="^ZeroDivisionError$"):
        torch.tensor([1, 0]) // 0
    with pytest.raises(RuntimeError, match="^ZeroDivisionError$"):
        7 // torch.tensor([1, 0])
    assert (torch.tensor([1]) // 0.0).tolist() == [INF]  # a float divisor: float division
    assert (torch.tensor([7.0], dtype=torch.float64) // 2).dtype == torch.float64
    assert (7 // torch.tensor([2.0], dtype=torch.float64)).dtype == torch.float64
    t = torch.tensor([7.0, -7.0])
    t //= 2
    assert t.tolist() == [3.0, -4.0] and t._version == 1


def test_floor_division_has_no_derivative():
    a = torch.tensor([3.0, 5.0], requires_grad=True)
    y = a // 2
    assert y.requires_grad and y.grad_fn.name() == "torch::autograd::NotImplemented"
    with pytest.raises(RuntimeError, match="^derivative for aten::floor_divide is not implemented$"):
        y.sum().backward()


# ---------------------------------------------------------------------- no numpy warnings
def test_leaving_the_reals_gives_inf_and_nan_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert torch.log(torch.tensor([0.0])).tolist() == [-INF]
        assert (torch.tensor([1.0, -1.0]) / 0).tolist() == [INF, -INF]
        assert (1 / torch.tensor([0.0])).tolist() == [INF]
        assert np.isnan((torch.tensor([0.0]) / 0).item())
        assert torch.exp(torch.tensor([1000.0])).tolist() == [INF]
        assert np.isnan(torch.sqrt(torch.tensor([-1.0])).item())
        assert np.isnan(torch.log(torch.tensor([-1.0])).item())
        assert (torch.tensor([0.0]) ** -1).tolist() == [INF]
        assert np.isnan((torch.tensor([-8.0]) ** (1 / 3)).item())
        assert (10.0 ** torch.tensor([100.0])).tolist() == [INF]
        assert (torch.tensor([0.0]) ** torch.tensor([-1.0])).tolist() == [INF]
        assert (torch.tensor([1.0]) // 0).tolist() == [INF]
        assert np.isnan(torch.tensor(np.zeros(0, dtype=np.float32)).mean().item())
        t = torch.tensor([1.0])
        t /= 0
        assert t.tolist() == [INF]


def test_gradients_that_leave_the_reals_give_inf_and_nan_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = torch.tensor([0.0, 1.0], requires_grad=True)
        (torch.log(x) + x.sqrt() + x ** 0.5).sum().backward()
        assert x.grad.tolist() == [INF, 2.0]
        y = torch.tensor([0.0, 2.0], requires_grad=True)
        (1 / y).sum().backward()
        assert y.grad.tolist() == [-INF, -0.25]
        z = torch.tensor([0.0], requires_grad=True)
        (z ** torch.tensor([-1.0]) + 0.0 ** -z).sum().backward()
        assert z.grad.tolist() == [-INF]


# ---------------------------------------------------------------------- in-place details
def test_inplace_arithmetic_values():
    t = torch.tensor([1.0, 2.0])
    assert t.add_(torch.tensor([1.0, 1.0]), alpha=2).tolist() == [3.0, 4.0]
    assert t.sub_(1.0, alpha=3).tolist() == [0.0, 1.0]
    assert t.add_(1.0).tolist() == [1.0, 2.0] and t.sub_(torch.tensor([1.0, 1.0])).tolist() == [0.0, 1.0]
    assert torch.tensor([-1.0, 0.5, 2.0]).clamp_(0.0, 1.0).tolist() == [0.0, 0.5, 1.0]
    assert torch.tensor([-1.0, 0.5, 2.0]).clamp_(min=0.0).tolist() == [0.0, 0.5, 2.0]
    assert torch.tensor([-1.0, 0.5, 2.0]).clamp_(max=1.0).tolist() == [-1.0, 0.5, 1.0]
    t = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    t[0] = torch.tensor([5.0, 6.0])
    t[1, 1] = 0.0
    assert t.tolist() == [[5.0, 6.0], [3.0, 0.0]]


def test_recorded_inplace_ops_compute_the_same_values():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = torch.zeros(2)
    y.copy_(x * x)
    assert y.tolist() == [1.0, 4.0]
    z = x * 1
    z[0] = torch.tensor(7.0)
    z[1:] = 3.0
    assert z.tolist() == [7.0, 3.0]
    w = x * 1
    w.add_(x, alpha=2)
    w.sub_(1.0, alpha=2)
    assert w.tolist() == [1.0, 4.0]
    w.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_writing_a_tensor_that_requires_grad_into_a_plain_one_records_it():
    v = torch.tensor([2.0, 3.0], requires_grad=True)
    x = torch.zeros(3)
    x[1:] = v
    assert x.requires_grad and not x.is_leaf and x.tolist() == [0.0, 2.0, 3.0]
    (x * torch.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert v.grad.tolist() == [10.0, 100.0]
    broadcast = torch.tensor(5.0, requires_grad=True)
    y = torch.zeros(3)
    y[:2] = broadcast
    y.sum().backward()
    assert broadcast.grad.item() == 2.0


def test_a_recorded_inplace_op_checks_what_it_saved():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    c = torch.tensor([2.0, 4.0])
    y = x * 1
    y *= c  # keeps c for x's gradient
    c += 1
    with pytest.raises(RuntimeError, match=re.escape(INPLACE)):
        y.sum().backward()


def test_a_recorded_clamp_keeps_its_own_copy_of_the_old_values():
    x = torch.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    y = x * 1
    y.clamp_(0.0, 1.0)
    y += 1  # changes y again: the clamp's copy of the old values is not affected
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]


def test_the_whole_message():
    x = torch.ones(2, 3, requires_grad=True)
    loss = (x * x).sum()
    with torch.no_grad():
        x.zero_()
    with pytest.raises(RuntimeError) as error:
        loss.backward()
    assert str(error.value) == (
        f"{INPLACE}: [torch.FloatTensor [2, 3]] is at version 1; expected version 0 instead. Hint: the "
        "tensor was changed (+=, -=, zero_(), t[i] = ..., an optimizer step) after the operation that "
        "needs it; compute the loss again after changing it."
    )


def test_after_many_changes_the_expected_version_is_a_bound():
    from engine.tensor import _STAMPS

    x = torch.tensor([1.0], requires_grad=True)
    with torch.no_grad():
        x += 1
    loss = (x * x).sum()
    with torch.no_grad():
        for _ in range(_STAMPS - 1):
            x += 1
    with pytest.raises(RuntimeError, match=f"is at version {_STAMPS}; expected version 1 instead"):
        loss.backward(retain_graph=True)
    with torch.no_grad():
        x += 1
    with pytest.raises(RuntimeError, match=f"is at version {_STAMPS + 1}; expected version 1 or earlier instead"):
        loss.backward()


def test_type_names_in_messages():
    from engine.tensor import _type_name

    assert [_type_name(torch.tensor(v)) for v in ([1.0], [1], [True])] == [
        "torch.FloatTensor", "torch.LongTensor", "torch.BoolTensor"]
    assert _type_name(torch.tensor([1.0], dtype=torch.float64)) == "torch.DoubleTensor"
    assert _type_name(torch.from_numpy(np.zeros(1, dtype=np.float16))) == "torch.Tensor"


@pytest.mark.parametrize("make", [
    lambda a, b: a @ b, lambda a, b: a * b, lambda a, b: torch.nn.functional.linear(a.reshape(1, 2), b.reshape(1, 2)),
    lambda a, b: ops.scale_shift(a, b[0], b[1]),
], ids=["matmul", "mul", "linear", "scale_shift"])
@pytest.mark.parametrize("changed", ["first", "second"])
def test_when_both_inputs_need_gradients_both_are_saved(make, changed):
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = torch.tensor([3.0, 4.0], requires_grad=True)
    loss = make(a, b).sum()
    with torch.no_grad():
        (a if changed == "first" else b).mul_(2)
    with pytest.raises(RuntimeError, match=re.escape(INPLACE)):
        loss.backward()


def test_the_leaf_message():
    w = torch.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError) as error:
        w += 1
    assert str(error.value) == ("a leaf Variable that requires grad is being used in an in-place operation "
                                "(wrap parameter updates in `with no_grad():`)")


def test_a_recorded_fill_gives_the_value():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.fill_(3.0)
    assert y.tolist() == [3.0, 3.0] and y.grad_fn.name() == "FillBackward0"
