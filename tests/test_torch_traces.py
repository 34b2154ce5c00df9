"""The optimizers against trajectories recorded from PyTorch 2.13 (tests/reference/torch_traces.json,
a copy of shared/reference/torch_traces.json; its "about" field says how it was recorded).

Two kinds of check:

- The optimizer alone: each step gets PyTorch's own gradient and starts from PyTorch's own
  parameters, so only the update arithmetic is compared. It is not bit-exact: PyTorch's CPU
  kernels fuse `p + (-lr) * d` into one multiply-add (one rounding), where numpy rounds the
  product and then the sum, so a step can land one float32 ulp away; the momentum buffer and
  Adam's moments carry such differences from step to step. Observed: at most 1.1e-7 relative
  (a couple of ulps); the tolerance, 2e-6, is 18x that, and a wrong formula (momentum applied
  twice, dampening with the wrong sign, a bias correction off by one step) moves a parameter
  by 1e-3 or more.
- The whole loop (forward, autograd, step) in each parameter layout the engine has a fast path
  for: the book's params tensor, the trainer's scalar w and b through the fused line and loss,
  and the MLP. Sums are rounded in another order than PyTorch's, so gradients differ in their
  last bits; over 30 steps losses and parameters stay within 7e-7 relative, and within 8e-6
  for Adam on the MLP (Adam's step divides by the gradient's size, so it magnifies a tiny
  gradient's rounding). Tolerances: 2e-6 and 4e-5, about 3x and 5x those.
"""
from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import engine as torch
import engine.nn.functional as F
from engine import nn, optim
from engine.ops import scale_shift

TRACES = json.loads((Path(__file__).parent / "reference" / "torch_traces.json").read_text())
T_U = np.array(TRACES["t_u"], dtype=np.float32)
T_C = np.array(TRACES["t_c"], dtype=np.float32)
LINE = {f"{c['optimizer']} {c['kwargs']} x{c['scale']}": c for c in TRACES["line"]}
MLP = {f"{c['optimizer']} {c['kwargs']}": c for c in TRACES["mlp"]}


def make_optimizer(case, params):
    return getattr(optim, case["optimizer"])(params, **case["kwargs"])


def assert_close(got, expected, tolerance, what):
    # relative to the parameter's size, absolute below 1 (b starts at 0 and crosses it)
    expected = np.asarray(expected, dtype=np.float64)
    error = np.abs(np.asarray(got, dtype=np.float64) - expected) / np.maximum(np.abs(expected), 1.0)
    assert error.max() <= tolerance, f"{what}: off by {error.max():.2e} (got {got}, PyTorch {expected.tolist()})"


def test_the_traces_cover_every_option():
    options = {key for case in TRACES["line"] + TRACES["mlp"] for key in case["kwargs"]}
    assert {"momentum", "dampening", "nesterov", "weight_decay", "betas", "eps"} <= options
    assert {case["optimizer"] for case in TRACES["mlp"]} == {"SGD", "Adam"}


# ---------------------------------------------------------------------- the update alone
class VectorLayout:
    """The book's `params = torch.tensor([1.0, 0.0])`: one tensor of shape (2,)."""

    def __init__(self):
        self.params = torch.tensor([1.0, 0.0], requires_grad=True)
        self.parameters = [self.params]

    def set(self, values, grad):
        with torch.no_grad():
            self.params.copy_(torch.tensor(values))
        self.params.grad = torch.tensor(grad)

    def get(self):
        return self.params.tolist()


class ScalarLayout:
    """The trainer's w and b: two 0-d tensors (the optimizers' scalar fast paths)."""

    def __init__(self):
        self.w = torch.tensor(1.0, requires_grad=True)
        self.b = torch.tensor(0.0, requires_grad=True)
        self.parameters = [self.w, self.b]

    def set(self, values, grad):
        with torch.no_grad():
            self.w.fill_(values[0])
            self.b.fill_(values[1])
        self.w.grad = torch.tensor(grad[0])
        self.b.grad = torch.tensor(grad[1])

    def get(self):
        return [self.w.item(), self.b.item()]


@pytest.mark.parametrize("layout", [VectorLayout, ScalarLayout], ids=["params tensor", "scalar w, b"])
@pytest.mark.parametrize("name", list(LINE))
def test_each_step_applies_pytorchs_update(name, layout):
    case = LINE[name]
    params = layout()
    optimizer = make_optimizer(case, params.parameters)
    before = [1.0, 0.0]
    for row in case["trace"]:
        params.set(before, row["grad"])
        optimizer.step()
        assert_close(params.get(), row["params_after"], 2e-6, f"step {row['step']}")
        before = row["params_after"]


def test_the_update_check_would_catch_a_wrong_formula():
    # Guards the tolerance: momentum applied twice (b <- m^2 b + g) leaves it within a few
    # steps, which is the size of mistake the test above must see.
    case = LINE["SGD {'lr': 0.01, 'momentum': 0.9} x0.1"]
    buffer, params, worst = None, np.array([1.0, 0.0]), 0.0
    for row in case["trace"]:
        g = np.array(row["grad"], dtype=np.float64)
        buffer = g if buffer is None else 0.81 * buffer + g
        params = params - 0.01 * buffer
        worst = max(worst, np.max(np.abs(params - row["params_after"]) / np.maximum(np.abs(row["params_after"]), 1)))
    assert worst > 100 * 2e-6


# ---------------------------------------------------------------------- the whole loop
def book_loop(case):
    """Chapter 5's code: a params tensor, the model and loss written out, autograd, a step."""
    x = torch.tensor(case["scale"] * T_U)
    t_c = torch.tensor(T_C)
    params = torch.tensor([1.0, 0.0], requires_grad=True)
    optimizer = make_optimizer(case, [params])
    for row in case["trace"]:
        w, b = params
        loss = ((w * x + b - t_c) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        yield row, loss.item(), params.grad.tolist()
        optimizer.step()
        yield row, None, params.tolist()


def fused_loop(case):
    """The trainer's path: 0-d w and b, the fused line and loss."""
    x = torch.tensor(case["scale"] * T_U)
    t_c = torch.tensor(T_C)
    w = torch.tensor(1.0, requires_grad=True)
    b = torch.tensor(0.0, requires_grad=True)
    optimizer = make_optimizer(case, [w, b])
    for row in case["trace"]:
        loss = F.mse_loss(scale_shift(x, w, b), t_c)
        optimizer.zero_grad()
        loss.backward()
        yield row, loss.item(), [w.grad.item(), b.grad.item()]
        optimizer.step()
        yield row, None, [w.item(), b.item()]


@pytest.mark.parametrize("loop", [book_loop, fused_loop], ids=["book loop", "fused"])
@pytest.mark.parametrize("name", list(LINE))
def test_training_the_line_follows_pytorch(name, loop):
    for row, loss, values in loop(LINE[name]):
        if loss is not None:
            assert_close([loss], [row["loss"]], 2e-6, f"loss at step {row['step']}")
            # a gradient near 0 is compared to the size of the other one
            np.testing.assert_allclose(values, row["grad"], rtol=1e-4, atol=1e-4 * np.abs(row["grad"]).max())
        else:
            assert_close(values, row["params_after"], 2e-6, f"params after step {row['step']}")


def mlp_from_trace():
    model = nn.Sequential(OrderedDict([("hidden", nn.Linear(1, 13)), ("act", nn.Tanh()), ("output", nn.Linear(13, 1))]))
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.copy_(torch.tensor(TRACES["mlp_init"][name]))
    return model


@pytest.mark.parametrize("name", list(MLP))
def test_training_the_mlp_follows_pytorch(name):
    case = MLP[name]
    tolerance = 4e-5 if case["optimizer"] == "Adam" else 2e-6
    model = mlp_from_trace()
    optimizer = make_optimizer(case, model.parameters())
    x = torch.tensor(0.1 * T_U).unsqueeze(1)
    y = torch.tensor(T_C).unsqueeze(1)
    for row in case["trace"]:
        loss = F.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        assert_close([loss.item()], [row["loss"]], 2e-6, f"loss at step {row['step']}")
        for param_name, param in model.named_parameters():
            assert_close(param.detach().numpy().ravel(), np.ravel(row["params_after"][param_name]), tolerance,
                         f"{param_name} after step {row['step']}")
