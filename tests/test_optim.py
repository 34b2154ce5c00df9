"""optim.SGD and optim.Adam against PyTorch's update formulas, step by step.

The reference implementations below are the formulas of PyTorch's documentation (the same
ones as engine/optim.py's docstring), written out in float64 numpy. They were checked
against torch.optim 2.13 to 1e-15 on this very problem before being used here.

The problem: L(p) = sum(a * (p - target)^2) with a different curvature per element, so the
gradient 2 a (p - target) changes from step to step and momentum and moment estimates matter.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import engine as torch
from engine import optim

CURVATURE = np.array([0.5, 2.0, 1.0])
TARGET = np.array([1.0, -2.0, 0.5])
START = np.array([3.0, 1.0, -1.0])


def gradient(p: np.ndarray) -> np.ndarray:
    return 2 * CURVATURE * (p - TARGET)


def loss_of(params: torch.Tensor) -> torch.Tensor:
    curvature = torch.tensor(CURVATURE, dtype=params.dtype)
    target = torch.tensor(TARGET, dtype=params.dtype)
    return (curvature * (params - target) ** 2).sum()


# ---------------------------------------------------------------------- the formulas
class SGDReference:
    """g = grad + wd p; b = g (first step), else momentum b + (1 - dampening) g;
    d = g + momentum b (nesterov) or b; p <- p - lr d."""

    def __init__(self, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
        self.lr, self.momentum, self.dampening = lr, momentum, dampening
        self.weight_decay, self.nesterov = weight_decay, nesterov
        self.buffer = None

    def step(self, p: np.ndarray) -> np.ndarray:
        g = gradient(p) + self.weight_decay * p
        if self.momentum:
            if self.buffer is None:
                self.buffer = g.copy()
            else:
                self.buffer = self.momentum * self.buffer + (1 - self.dampening) * g
            g = g + self.momentum * self.buffer if self.nesterov else self.buffer
        return p - self.lr * g


class AdamReference:
    """m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; m_hat = m / (1 - b1^t);
    v_hat = v / (1 - b2^t), or max over steps of v, bias-corrected, with amsgrad;
    p <- p - lr m_hat / (sqrt(v_hat) + eps)."""

    def __init__(self, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False):
        self.lr, self.betas, self.eps = lr, betas, eps
        self.weight_decay, self.amsgrad = weight_decay, amsgrad
        self.t = 0
        self.m = self.v = self.v_max = 0.0

    def step(self, p: np.ndarray) -> np.ndarray:
        beta1, beta2 = self.betas
        self.t += 1
        g = gradient(p) + self.weight_decay * p
        self.m = beta1 * self.m + (1 - beta1) * g
        self.v = beta2 * self.v + (1 - beta2) * g * g
        m_hat = self.m / (1 - beta1**self.t)
        if self.amsgrad:
            self.v_max = np.maximum(self.v_max, self.v)
            v_hat = self.v_max / (1 - beta2**self.t)
        else:
            v_hat = self.v / (1 - beta2**self.t)
        return p - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def reference_trajectory(reference, steps: int) -> np.ndarray:
    p, out = START.copy(), []
    for _ in range(steps):
        p = reference.step(p)
        out.append(p)
    return np.array(out)


def engine_trajectory(make_optimizer, steps: int, dtype=torch.float64) -> np.ndarray:
    params = torch.tensor(START, dtype=dtype, requires_grad=True)
    optimizer = make_optimizer([params])
    out = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss_of(params).backward()
        optimizer.step()
        assert params.dtype == dtype and params.is_leaf
        out.append(params.detach().numpy().copy())
    return np.array(out)


SGD_CASES = {
    "plain": dict(lr=0.1),
    "momentum": dict(lr=0.1, momentum=0.9),
    "momentum+dampening": dict(lr=0.1, momentum=0.9, dampening=0.5),
    "nesterov": dict(lr=0.1, momentum=0.9, nesterov=True),
    "weight_decay": dict(lr=0.1, weight_decay=0.1),
    "everything": dict(lr=0.05, momentum=0.5, weight_decay=0.2, nesterov=True),
}

ADAM_CASES = {
    "defaults": dict(lr=0.1),
    "betas+eps": dict(lr=0.3, betas=(0.8, 0.99), eps=1e-6),
    "weight_decay": dict(lr=0.1, weight_decay=0.1),
    "amsgrad": dict(lr=0.3, amsgrad=True, betas=(0.5, 0.9)),
    "amsgrad+weight_decay": dict(lr=0.3, amsgrad=True, weight_decay=0.2, betas=(0.5, 0.9)),
}


# ---------------------------------------------------------------------- SGD
@pytest.mark.parametrize("case", list(SGD_CASES))
def test_sgd_follows_the_formula_step_by_step(case):
    kwargs = SGD_CASES[case]
    got = engine_trajectory(lambda params: optim.SGD(params, **kwargs), steps=8)
    expected = reference_trajectory(SGDReference(**kwargs), steps=8)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_sgd_options_change_the_trajectory():
    # Guards the test above: each option must actually move the parameters differently.
    plain = reference_trajectory(SGDReference(**SGD_CASES["plain"]), 8)
    for case in ("momentum", "momentum+dampening", "nesterov", "weight_decay"):
        assert np.abs(reference_trajectory(SGDReference(**SGD_CASES[case]), 8) - plain).max() > 1e-3, case


def test_sgd_in_float32_stays_float32_and_close_to_the_formula():
    kwargs = SGD_CASES["everything"]
    got = engine_trajectory(lambda params: optim.SGD(params, **kwargs), steps=8, dtype=torch.float32)
    np.testing.assert_allclose(got, reference_trajectory(SGDReference(**kwargs), 8), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------- Adam
@pytest.mark.parametrize("case", list(ADAM_CASES))
def test_adam_follows_the_formula_step_by_step(case):
    kwargs = ADAM_CASES[case]
    got = engine_trajectory(lambda params: optim.Adam(params, **kwargs), steps=20)
    expected = reference_trajectory(AdamReference(**kwargs), steps=20)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_amsgrad_makes_a_difference_on_this_problem():
    # Guards the amsgrad cases: the running max of v must bind at some step here.
    with_max = reference_trajectory(AdamReference(**ADAM_CASES["amsgrad"]), 20)
    without = reference_trajectory(AdamReference(**{**ADAM_CASES["amsgrad"], "amsgrad": False}), 20)
    assert np.abs(with_max - without).max() > 1e-2


def test_adam_first_step_moves_each_parameter_by_lr():
    # Bias correction: after one step m_hat = g and v_hat = g^2, so every element moves by
    # lr * sign(g), whatever the gradient's scale (the w-gradient is ~50x the b-gradient on raw
    # readings, yet both move by lr).
    params = torch.tensor([1.0, 0.0], requires_grad=True)
    optimizer = optim.Adam([params], lr=0.1)
    params.grad = torch.tensor([4517.2969, -82.6])
    optimizer.step()
    np.testing.assert_allclose(params.detach().numpy(), [0.9, 0.1], rtol=1e-6)


def test_adam_in_float32_stays_float32_and_close_to_the_formula():
    kwargs = ADAM_CASES["amsgrad+weight_decay"]
    got = engine_trajectory(lambda params: optim.Adam(params, **kwargs), steps=20, dtype=torch.float32)
    np.testing.assert_allclose(got, reference_trajectory(AdamReference(**kwargs), 20), rtol=1e-5, atol=1e-5)


def test_adam_fits_the_raw_readings_where_sgd_diverges():
    # The chapter: Adam at lr=1e-1 on unnormalised t_u converges in 2000 epochs
    # (PyTorch prints params tensor([  0.5367, -17.3021]), loss 2.9276).
    data = json.loads((Path(__file__).parent / "reference" / "dlwpt_ch5.json").read_text())["data"]
    t_u, t_c = torch.tensor(data["t_u"]), torch.tensor(data["t_c"])
    params = torch.tensor([1.0, 0.0], requires_grad=True)
    optimizer = optim.Adam([params], lr=1e-1)
    for _ in range(2000):
        loss = ((params[0] * t_u + params[1] - t_c) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    w, b = params.tolist()
    assert w == pytest.approx(0.5367, abs=1e-3) and b == pytest.approx(-17.3021, abs=5e-2)
    assert loss.item() == pytest.approx(2.9276, abs=1e-3)


# ---------------------------------------------------------------------- state and param groups
@pytest.mark.parametrize(
    "make_optimizer, make_reference",
    [
        (lambda p: optim.SGD(p, lr=0.1, momentum=0.9), lambda: SGDReference(lr=0.1, momentum=0.9)),
        (lambda p: optim.Adam(p, lr=0.1), lambda: AdamReference(lr=0.1)),
    ],
    ids=["SGD", "Adam"],
)
def test_changing_lr_between_steps_keeps_the_state(make_optimizer, make_reference):
    params = torch.tensor(START, dtype=torch.float64, requires_grad=True)
    optimizer = make_optimizer([params])
    reference = make_reference()
    expected = START.copy()
    for step in range(8):
        if step == 4:
            optimizer.param_groups[0]["lr"] = 0.01
            reference.lr = 0.01
        optimizer.zero_grad()
        loss_of(params).backward()
        optimizer.step()
        expected = reference.step(expected)
        np.testing.assert_allclose(params.detach().numpy(), expected, rtol=1e-12, atol=1e-14)

    # A fresh optimizer at the new lr (state lost) would have ended elsewhere.
    restarted = make_reference()
    p = reference_trajectory(make_reference(), 4)[-1]
    restarted.lr = 0.01
    for _ in range(4):
        p = restarted.step(p)
    assert np.abs(p - expected).max() > 1e-3


def test_param_groups_have_their_own_lr():
    fast = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    slow = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    optimizer = optim.SGD([{"params": [fast], "lr": 0.5}, {"params": [slow]}], lr=0.1)
    assert [g["lr"] for g in optimizer.param_groups] == [0.5, 0.1]
    fast.grad = torch.tensor([1.0], dtype=torch.float64)
    slow.grad = torch.tensor([1.0], dtype=torch.float64)
    optimizer.step()
    assert fast.item() == pytest.approx(0.5) and slow.item() == pytest.approx(0.9)


def test_each_parameter_has_its_own_state():
    # Two tensors in one optimizer, from different starts, each follow the formula with
    # their own moments (shared state would mix their gradients).
    first = torch.tensor(START, dtype=torch.float64, requires_grad=True)
    second = torch.tensor(-2 * START, dtype=torch.float64, requires_grad=True)
    optimizer = optim.Adam([first, second], lr=0.1)
    references = [AdamReference(lr=0.1), AdamReference(lr=0.1)]
    expected = [START.copy(), -2 * START]
    for _ in range(5):
        optimizer.zero_grad()
        (loss_of(first) + loss_of(second)).backward()
        optimizer.step()
        expected = [r.step(e) for r, e in zip(references, expected)]
    np.testing.assert_allclose(first.detach().numpy(), expected[0], rtol=1e-12)
    np.testing.assert_allclose(second.detach().numpy(), expected[1], rtol=1e-12)


def test_zero_grad_sets_gradients_to_none_and_step_skips_them():
    params = torch.tensor([1.0, 2.0], requires_grad=True)
    untouched = torch.tensor([5.0], requires_grad=True)
    optimizer = optim.SGD([params, untouched], lr=0.1, momentum=0.9)
    (params * params).sum().backward()
    optimizer.step()
    assert untouched.grad is None and untouched.tolist() == [5.0]  # no gradient, no step
    optimizer.zero_grad()
    assert params.grad is None
    before = params.tolist()
    optimizer.step()  # nothing to apply
    assert params.tolist() == before

    (params * params).sum().backward()
    optimizer.zero_grad(set_to_none=False)
    assert params.grad is not None and params.grad.tolist() == [0.0, 0.0]


def test_invalid_hyperparameters_are_refused():
    params = [torch.tensor([1.0], requires_grad=True)]
    with pytest.raises(ValueError):
        optim.SGD(params, lr=-0.1)
    with pytest.raises(ValueError):
        optim.SGD(params, lr=0.1, nesterov=True)  # nesterov needs momentum
    with pytest.raises(ValueError):
        optim.Adam(params, lr=0.1, betas=(1.0, 0.999))
    with pytest.raises(ValueError):
        optim.SGD([], lr=0.1)
