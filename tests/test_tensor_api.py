"""The PyTorch semantics a reader of chapter 5 relies on when running the book's code with
`import engine as torch`: dtypes, gradient accumulation, the graph flags, grad mode,
printing, the broadcast trap in the loss, seeding, and `nn.Module` bookkeeping.

Where the engine's behaviour was checked against PyTorch 2.13 by hand, the expected value
in the test is what PyTorch printed or returned.
"""
from __future__ import annotations

import json
import math
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import engine as torch
import engine.nn.functional as F
from engine import nn, optim

BOOK = json.loads((Path(__file__).parent / "reference" / "dlwpt_ch5.json").read_text())


@pytest.fixture
def thermometer():
    """The chapter's 11 readings: t_u in the unknown unit, t_c in Celsius (float32)."""
    return torch.tensor(BOOK["data"]["t_u"]), torch.tensor(BOOK["data"]["t_c"])


def model(t_u, w, b):
    return w * t_u + b


def loss_fn(t_p, t_c):
    return ((t_p - t_c) ** 2).mean()


# ---------------------------------------------------------------------- dtypes
def test_python_floats_make_float32_and_python_ints_make_int64():
    assert torch.tensor([1.0]).dtype == torch.float32
    assert torch.tensor(1.0).dtype == torch.float32
    assert torch.tensor([1, 2]).dtype == torch.int64
    assert torch.tensor([1, 2.5]).dtype == torch.float32  # one float makes the tensor float
    assert torch.zeros(2).dtype == torch.float32
    assert torch.ones(2, 3).dtype == torch.float32
    assert torch.randn(2).dtype == torch.float32
    assert torch.arange(3).dtype == torch.int64


def test_python_numbers_do_not_promote_float32():
    t_u = torch.tensor([35.7, 55.9])
    assert (0.1 * t_u).dtype == torch.float32  # t_un = 0.1 * t_u stays float32
    assert (t_u * 0.1).dtype == torch.float32
    assert (t_u + 1).dtype == torch.float32
    assert (t_u / 3).dtype == torch.float32
    assert (t_u**2).dtype == torch.float32
    assert (2.0**t_u).dtype == torch.float32


def test_float32_with_float64_gives_float64_and_integer_division_gives_float32():
    single = torch.tensor([1.0, 2.0])
    double = torch.tensor([1.0, 2.0], dtype=torch.float64)
    assert (single * double).dtype == torch.float64
    assert (double + single).dtype == torch.float64
    assert (single @ double).dtype == torch.float64
    ints = torch.tensor([1, 2])
    assert (ints / torch.tensor([2, 2])).dtype == torch.float32  # true division
    assert (ints * 2.5).dtype == torch.float32
    np.testing.assert_array_equal((ints / 2).numpy(), [0.5, 1.0])


def test_float64_stays_float64_through_scalar_results():
    # numpy hands back scalars, not 0-d arrays, from ops on 0-d inputs; the dtype must survive.
    x = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    y = ((x - 0.25) ** 2).exp() * 3.0
    assert y.dtype == torch.float64
    y.backward()
    assert x.grad.dtype == torch.float64


def test_gradients_have_the_parameter_dtype():
    params = torch.tensor([1.0, 0.0], requires_grad=True)
    (params * torch.tensor([2.0, 3.0], dtype=torch.float64)).sum().backward()
    assert params.grad.dtype == torch.float32
    np.testing.assert_array_equal(params.grad.numpy(), [2.0, 3.0])


# ---------------------------------------------------------------------- gradients accumulate
def test_grad_accumulates_across_backward_calls_until_zeroed(thermometer):
    t_u, t_c = thermometer
    params = torch.tensor([1.0, 0.0], requires_grad=True)
    assert params.grad is None

    loss_fn(model(t_u, *params), t_c).backward()
    first = params.grad.numpy().copy()
    np.testing.assert_allclose(first, [4517.2969, 82.6], rtol=1e-6)

    # A second forward and backward without zeroing adds to what is there: the chapter's trap.
    loss_fn(model(t_u, *params), t_c).backward()
    np.testing.assert_allclose(params.grad.numpy(), 2 * first, rtol=1e-6)

    params.grad.zero_()
    np.testing.assert_array_equal(params.grad.numpy(), [0.0, 0.0])
    loss_fn(model(t_u, *params), t_c).backward()
    np.testing.assert_allclose(params.grad.numpy(), first, rtol=1e-6)


def test_retain_graph_allows_a_second_backward_which_accumulates():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 8.0])  # 2 * (2x)


def test_second_backward_without_retain_graph_raises():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])  # the failed call added nothing


def test_backward_needs_a_scalar_or_a_gradient():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar outputs"):
        (x * 2).backward()
    (x * 2).backward(torch.tensor([1.0, -1.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, -2.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        torch.tensor([1.0]).sum().backward()


# ---------------------------------------------------------------------- graph flags
def test_requires_grad_is_leaf_and_grad_fn():
    plain = torch.tensor([1.0, 2.0])
    assert plain.requires_grad is False and plain.is_leaf and plain.grad_fn is None

    params = torch.tensor([1.0, 0.0], requires_grad=True)
    assert params.requires_grad and params.is_leaf and params.grad_fn is None

    out = params * plain
    assert out.requires_grad and not out.is_leaf
    assert (plain * 2).requires_grad is False and (plain * 2).is_leaf  # no grad in, no graph


@pytest.mark.parametrize(
    "build, name",
    [
        (lambda w, x: w * x + 1.0, "AddBackward0"),
        (lambda w, x: w * x, "MulBackward0"),
        (lambda w, x: w - x, "SubBackward0"),
        (lambda w, x: w / x, "DivBackward0"),
        (lambda w, x: w**2, "PowBackward0"),
        (lambda w, x: (w * x).mean(), "MeanBackward0"),
        (lambda w, x: (w * x).sum(), "SumBackward0"),
        (lambda w, x: -w, "NegBackward0"),
        (lambda w, x: w.exp(), "ExpBackward0"),
        (lambda w, x: w.unsqueeze(1), "UnsqueezeBackward0"),
        (lambda w, x: w.view(2, 1), "ViewBackward0"),
        (lambda w, x: w[0], "SelectBackward0"),
        (lambda w, x: F.mse_loss(w, x), "MseLossBackward0"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_grad_fn_names_match_pytorch(build, name):
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    x = torch.tensor([3.0, 4.0])
    assert build(w, x).grad_fn.name() == name


def test_only_floating_point_tensors_can_require_grad():
    with pytest.raises(RuntimeError, match="floating point"):
        torch.tensor([1, 2], requires_grad=True)


def test_detach_shares_data_and_leaves_the_graph():
    params = torch.tensor([1.0, 0.0], requires_grad=True)
    out = params * 2
    detached = out.detach()
    assert detached.requires_grad is False and detached.grad_fn is None and detached.is_leaf
    assert (detached * 3).requires_grad is False

    view = params.detach()
    view[0] = 5.0  # shares storage with params, as in PyTorch
    assert params.tolist() == [5.0, 0.0]


# ---------------------------------------------------------------------- in-place and grad mode
@pytest.mark.parametrize(
    "update",
    [
        lambda p: p.__isub__(0.1),
        lambda p: p.__iadd__(torch.tensor([1.0, 1.0])),
        lambda p: p.__imul__(2.0),
        lambda p: p.zero_(),
        lambda p: p.sub_(0.1),
        lambda p: p.__setitem__(0, 3.0),
    ],
    ids=["-=", "+=", "*=", "zero_", "sub_", "setitem"],
)
def test_in_place_update_of_a_leaf_needs_no_grad(update):
    params = torch.tensor([1.0, 0.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        update(params)
    assert params.tolist() == [1.0, 0.0]  # refused before touching the data

    with torch.no_grad():
        update(params)
    assert params.tolist() != [1.0, 0.0]
    assert params.requires_grad and params.is_leaf  # still a parameter after the update


def test_the_books_update_under_no_grad(thermometer):
    t_u, t_c = thermometer
    params = torch.tensor([1.0, 0.0], requires_grad=True)
    loss_fn(model(t_u, *params), t_c).backward()
    with torch.no_grad():
        params -= 1e-5 * params.grad
    np.testing.assert_allclose(params.detach().numpy(), [0.95483, -0.000826], rtol=1e-5)
    assert params.is_leaf and params.grad_fn is None


def test_no_grad_stops_recording_and_restores_the_mode():
    x = torch.tensor([1.0], requires_grad=True)
    assert torch.is_grad_enabled()
    with torch.no_grad():
        assert not torch.is_grad_enabled()
        y = x * 2
    assert torch.is_grad_enabled()
    assert y.requires_grad is False and y.grad_fn is None


def test_no_grad_restores_the_mode_after_an_exception():
    with pytest.raises(ValueError):
        with torch.no_grad():
            raise ValueError("boom")
    assert torch.is_grad_enabled()


@pytest.mark.parametrize("decorator", [torch.no_grad(), torch.no_grad], ids=["no_grad()", "no_grad"])
def test_no_grad_as_a_decorator(decorator):
    @decorator
    def evaluate(params):
        """Validation loss needs no graph."""
        assert not torch.is_grad_enabled()
        return params * 2

    x = torch.tensor([1.0], requires_grad=True)
    assert evaluate(x).requires_grad is False
    assert evaluate.__doc__ == "Validation loss needs no graph."
    assert torch.is_grad_enabled()
    assert (x * 2).requires_grad


def test_enable_grad_inside_no_grad():
    x = torch.tensor([1.0], requires_grad=True)
    with torch.no_grad():
        with torch.enable_grad():
            y = x * 2
        z = x * 2
    assert y.requires_grad and y.grad_fn.name() == "MulBackward0"
    assert z.requires_grad is False


# ---------------------------------------------------------------------- conversion
def test_item_tolist_and_numpy():
    loss = torch.tensor(2.5)
    assert loss.item() == 2.5 and type(loss.item()) is float
    assert type(torch.tensor([3]).sum().item()) is int
    assert torch.tensor([[1.0, 2.0]]).tolist() == [[1.0, 2.0]]
    with pytest.raises(RuntimeError):
        torch.tensor([1.0, 2.0]).item()

    params = torch.tensor([1.0, 0.0], requires_grad=True)
    assert params[0].item() == 1.0 and float(params[0]) == 1.0  # item works with grad
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        params.numpy()
    np.testing.assert_array_equal(params.detach().numpy(), [1.0, 0.0])


# ---------------------------------------------------------------------- printing
def test_repr_as_pytorch_prints_it(thermometer):
    t_u, t_c = thermometer
    assert repr(torch.tensor([1.0, 0.0])) == "tensor([1., 0.])"
    assert repr(torch.tensor([1, 2, 3])) == "tensor([1, 2, 3])"
    assert repr(torch.tensor([1.0, 0.0], requires_grad=True)) == "tensor([1., 0.], requires_grad=True)"
    assert repr(torch.tensor([1.0, 0.0], dtype=torch.float64)) == "tensor([1., 0.], dtype=torch.float64)"
    assert repr(torch.tensor([[1.5, 2.0], [3.0, 4.25]])) == "tensor([[1.5000, 2.0000],\n        [3.0000, 4.2500]])"

    params = torch.tensor([1.0, 0.0], requires_grad=True)
    loss = loss_fn(model(t_u, *params), t_c)
    assert repr(loss) == "tensor(1763.8846, grad_fn=<MeanBackward0>)"
    loss.backward()
    assert repr(params.grad) == "tensor([4517.2969,   82.6000])"  # aligned to the widest entry


@pytest.mark.parametrize(
    "values, printed",
    [
        ([-44.173, -0.826], "tensor([-44.1730,  -0.8260])"),
        ([2568.4014, 45.1637], "tensor([2568.4014,   45.1637])"),
        ([5.3671, -17.3012], "tensor([  5.3671, -17.3012])"),
        ([0.95483, -0.000826], "tensor([ 9.5483e-01, -8.2600e-04])"),  # the book's SGD step
        ([-1.859e19, -3.2746e17], "tensor([-1.8590e+19, -3.2746e+17])"),
        ([100.0, 2.0], "tensor([100.,   2.])"),
        ([float("inf"), 1.0], "tensor([inf, 1.])"),
        (5802485.5, "tensor(5802485.5000)"),  # float32 under 1e8 is not scientific
        (float("inf"), "tensor(inf)"),
        (29.022669, "tensor(29.0227)"),
    ],
)
def test_repr_number_formats(values, printed):
    assert repr(torch.tensor(values)) == printed


# ---------------------------------------------------------------------- the broadcast trap
def test_mse_loss_broadcasts_n1_against_n_as_pytorch_does():
    # nn.MSELoss()(model(x) of shape [N,1], y of shape [N]) compares every prediction with
    # every target: an [N,N] difference, a different (wrong) loss than with matched shapes.
    pred = torch.tensor([[1.0], [2.0], [3.0]])
    target = torch.tensor([1.0, 2.0, 4.0])
    p, t = pred.numpy(), target.numpy()
    broadcast = F.mse_loss(pred, target)
    assert broadcast.item() == pytest.approx(np.mean((p - t[None, :]) ** 2))  # 7/3
    assert broadcast.item() == pytest.approx(7 / 3)
    matched = F.mse_loss(pred.squeeze(1), target)
    assert matched.item() == pytest.approx(1 / 3)
    assert nn.MSELoss()(pred, target).item() == pytest.approx(7 / 3)
    assert nn.MSELoss()(pred, target.unsqueeze(1)).item() == pytest.approx(1 / 3)
    assert F.mse_loss(pred, target, reduction="none").shape == (3, 3)


# ---------------------------------------------------------------------- seeding
@pytest.mark.parametrize(
    "draw",
    [lambda: torch.randn(5), lambda: torch.rand(2, 3), lambda: torch.randperm(11)],
    ids=["randn", "rand", "randperm"],
)
def test_manual_seed_makes_random_draws_repeat(draw):
    torch.manual_seed(42)
    first, second = draw(), draw()
    torch.manual_seed(42)
    again = draw()
    np.testing.assert_array_equal(first.numpy(), again.numpy())
    assert not np.array_equal(first.numpy(), second.numpy())  # the stream moves on
    torch.manual_seed(43)
    assert not np.array_equal(first.numpy(), draw().numpy())


def test_random_draws_have_pytorch_dtypes_and_ranges():
    torch.manual_seed(0)
    perm = torch.randperm(11)
    assert perm.dtype == torch.int64 and sorted(perm.tolist()) == list(range(11))
    u = torch.rand(1000)
    assert u.dtype == torch.float32 and 0.0 <= u.numpy().min() and u.numpy().max() < 1.0
    n = torch.randn(4000)
    assert abs(float(n.mean())) < 0.1 and abs(float(n.numpy().std()) - 1.0) < 0.1


# ---------------------------------------------------------------------- nn.Module
def test_sequential_names_parameters_by_position():
    seq = nn.Sequential(nn.Linear(1, 13), nn.Tanh(), nn.Linear(13, 1))
    names = [name for name, _ in seq.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias"]
    shapes = [tuple(p.shape) for p in seq.parameters()]
    assert shapes == [(13, 1), (13,), (1, 13), (1,)]
    assert sum(p.numel() for p in seq.parameters()) == 13 + 13 + 13 + 1
    assert seq(torch.ones(11, 1)).shape == (11, 1)


def test_sequential_from_an_ordered_dict_uses_the_given_names():
    seq = nn.Sequential(OrderedDict([
        ("hidden_linear", nn.Linear(1, 8)),
        ("hidden_activation", nn.Tanh()),
        ("output_linear", nn.Linear(8, 1)),
    ]))
    assert [name for name, _ in seq.named_parameters()] == [
        "hidden_linear.weight", "hidden_linear.bias", "output_linear.weight", "output_linear.bias",
    ]
    assert seq.output_linear.bias is dict(seq.named_parameters())["output_linear.bias"]
    assert "(hidden_activation): Tanh()" in repr(seq)


def test_a_subclassed_module_registers_attribute_layers():
    class SubclassModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(1, 4)
            self.activation = nn.Tanh()
            self.output = nn.Linear(4, 1)

        def forward(self, x):
            return self.output(self.activation(self.hidden(x)))

    net = SubclassModel()
    assert [n for n, _ in net.named_parameters()] == ["hidden.weight", "hidden.bias", "output.weight", "output.bias"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())
    assert net(torch.ones(3, 1)).shape == (3, 1)


def test_state_dict_round_trip():
    torch.manual_seed(1)
    source = nn.Sequential(nn.Linear(1, 4), nn.Tanh(), nn.Linear(4, 1))
    torch.manual_seed(2)
    target = nn.Sequential(nn.Linear(1, 4), nn.Tanh(), nn.Linear(4, 1))
    x = torch.linspace(-1, 1, 5).unsqueeze(1)
    assert not np.allclose(source(x).detach().numpy(), target(x).detach().numpy())

    state = source.state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    target.load_state_dict(state)
    np.testing.assert_array_equal(source(x).detach().numpy(), target(x).detach().numpy())
    # Loading copies values: training the source afterwards does not move the target.
    with torch.no_grad():
        source[0].weight += 1.0
    assert not np.allclose(source[0].weight.detach().numpy(), target[0].weight.detach().numpy())
    assert target[0].weight.requires_grad and target[0].weight.is_leaf


def test_load_state_dict_refuses_a_size_mismatch_and_missing_keys():
    small = nn.Linear(2, 3)
    before = small.weight.detach().numpy().copy()
    with pytest.raises(RuntimeError, match="size mismatch for weight"):
        small.load_state_dict({"weight": torch.zeros(3, 3), "bias": torch.zeros(3)})
    np.testing.assert_array_equal(small.weight.detach().numpy(), before)
    with pytest.raises(RuntimeError, match="bias"):
        small.load_state_dict({"weight": torch.zeros(3, 2)})


def test_module_zero_grad_clears_every_parameter_gradient():
    seq = nn.Sequential(nn.Linear(1, 3), nn.Tanh(), nn.Linear(3, 1))
    loss = nn.MSELoss()(seq(torch.ones(4, 1)), torch.zeros(4, 1))
    loss.backward()
    assert all(p.grad is not None for p in seq.parameters())
    seq.zero_grad()
    assert all(p.grad is None for p in seq.parameters())


def test_linear_initialisation_bounds_and_seeding():
    torch.manual_seed(0)
    layer = nn.Linear(16, 2000)
    bound = 1 / math.sqrt(16)
    for p in (layer.weight, layer.bias):
        values = p.detach().numpy()
        assert p.dtype == torch.float32
        assert np.abs(values).max() <= bound
        # Filled uniformly over the whole interval, not a narrower or one-sided one.
        assert values.min() < -0.95 * bound and values.max() > 0.95 * bound
        assert abs(values.mean()) < 0.05 * bound
    assert layer.weight.shape == (2000, 16) and layer.bias.shape == (2000,)

    torch.manual_seed(7)
    a = nn.Linear(3, 2)
    torch.manual_seed(7)
    b = nn.Linear(3, 2)
    np.testing.assert_array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())
    np.testing.assert_array_equal(a.bias.detach().numpy(), b.bias.detach().numpy())
    c = nn.Linear(3, 2)
    assert not np.array_equal(a.weight.detach().numpy(), c.weight.detach().numpy())


def test_linear_computes_x_wt_plus_b():
    layer = nn.Linear(3, 2)
    x = torch.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]])
    expected = x.numpy() @ layer.weight.detach().numpy().T + layer.bias.detach().numpy()
    np.testing.assert_allclose(layer(x).detach().numpy(), expected, rtol=1e-6)
    assert layer(x).grad_fn is not None


def test_an_optimizer_over_module_parameters_trains_the_line():
    # The chapter's nn.Linear(1, 1) fit: model.parameters() into optim.SGD, loss goes down.
    t_u = torch.tensor(BOOK["data"]["t_u"]).unsqueeze(1) * 0.1
    t_c = torch.tensor(BOOK["data"]["t_c"]).unsqueeze(1)
    torch.manual_seed(0)
    linear_model = nn.Linear(1, 1)
    optimizer = optim.SGD(linear_model.parameters(), lr=1e-2)
    losses = []
    for _ in range(3000):
        loss = nn.MSELoss()(linear_model(t_u), t_c)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 3.0 < losses[0]
    assert float(linear_model.weight[0, 0]) == pytest.approx(5.3671, abs=0.05)
