"""optim.SGD and optim.Adam against trajectories recorded from PyTorch.

tests/reference/optim_traces.json holds PyTorch 2.13's float64 trajectories on a small problem,
recorded by tests/reference/record_optim_traces.py: L(p) = sum(a * (p - target)^2) with a
different curvature per element, so the gradient 2 a (p - target) changes from step to step and
momentum and moment estimates matter. It covers what the float32 traces of the chapter
(test_torch_traces.py) do not: amsgrad, every SGD option at once, a learning rate changed
between steps, two tensors in one optimizer. In float64 the engine and PyTorch agree to a few
ulps (PyTorch fuses multiply-adds), hence rtol 1e-12.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import engine as torch
from engine import optim

REFERENCE = Path(__file__).parent / "reference"
TRACES = json.loads((REFERENCE / "optim_traces.json").read_text())
CURVATURE = np.array(TRACES["curvature"])
TARGET = np.array(TRACES["target"])
CASES = {
    f"{c['optimizer']} {c['kwargs']}" + (f" lr->{c['lr_change']['lr']}" if c["lr_change"] else "")
    + (" two tensors" if len(c["starts"]) > 1 else ""): c
    for c in TRACES["cases"]
}


def loss_of(params: torch.Tensor) -> torch.Tensor:
    curvature = torch.tensor(CURVATURE, dtype=params.dtype)
    target = torch.tensor(TARGET, dtype=params.dtype)
    return (curvature * (params - target) ** 2).sum()


def run(case, dtype=torch.float64) -> np.ndarray:
    """The engine's trajectory for a recorded case: params after each step."""
    params = [torch.tensor(start, dtype=dtype, requires_grad=True) for start in case["starts"]]
    optimizer = getattr(optim, case["optimizer"])(params, **case["kwargs"])
    change = case["lr_change"]
    out = []
    for step in range(1, case["steps"] + 1):
        if change and step == change["at_step"]:
            optimizer.param_groups[0]["lr"] = change["lr"]
        optimizer.zero_grad()
        sum(loss_of(p) for p in params).backward()
        optimizer.step()
        assert all(p.dtype == dtype and p.is_leaf for p in params)
        out.append([p.detach().numpy().copy() for p in params])
    return np.array(out)


@pytest.mark.parametrize("name", list(CASES))
def test_follows_pytorch_step_by_step(name):
    case = CASES[name]
    np.testing.assert_allclose(run(case), case["params_after"], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["SGD {'lr': 0.05, 'momentum': 0.5, 'weight_decay': 0.2, 'nesterov': True}",
                                  "Adam {'lr': 0.3, 'amsgrad': True, 'weight_decay': 0.2, 'betas': [0.5, 0.9]}"])
def test_in_float32_stays_float32_and_close_to_pytorch(name):
    # float32 rounding (a relative 6e-8 per operation) accumulated over the steps
    case = CASES[name]
    np.testing.assert_allclose(run(case, dtype=torch.float32), case["params_after"], rtol=1e-5, atol=1e-5)


def test_the_recorded_cases_differ_where_the_options_do():
    # Guards the cases above: amsgrad's running max binds at some step on this problem, and a
    # changed learning rate changes the path (so state kept or lost would show).
    with_max = np.array(CASES["Adam {'lr': 0.3, 'amsgrad': True, 'betas': [0.5, 0.9]}"]["params_after"])
    without = run({**CASES["Adam {'lr': 0.3, 'amsgrad': True, 'betas': [0.5, 0.9]}"],
                   "kwargs": {"lr": 0.3, "betas": [0.5, 0.9]}})
    assert np.abs(with_max - without).max() > 1e-2
    for optimizer in ("SGD {'lr': 0.1, 'momentum': 0.9}", "Adam {'lr': 0.1}"):
        changed = CASES[optimizer + " lr->0.01"]
        kept_lr = run({**changed, "lr_change": None})
        assert np.abs(kept_lr - np.array(changed["params_after"])).max() > 1e-3
        # and a fresh optimizer from step 4 on (state lost) ends elsewhere too
        first = run({**changed, "steps": 3, "lr_change": None})[-1][0]
        restarted = run({**changed, "starts": [first.tolist()], "steps": changed["steps"] - 3,
                         "kwargs": {**changed["kwargs"], "lr": 0.01}, "lr_change": None})
        assert np.abs(restarted[-1] - np.array(changed["params_after"][-1])).max() > 1e-4


def test_adam_first_step_moves_each_parameter_by_lr():
    # Bias correction: after one step m_hat = g and v_hat = g^2, so every element moves by
    # lr * sign(g), whatever the gradient's scale (the w-gradient is ~50x the b-gradient on raw
    # readings, yet both move by lr).
    params = torch.tensor([1.0, 0.0], requires_grad=True)
    optimizer = optim.Adam([params], lr=0.1)
    params.grad = torch.tensor([4517.2969, -82.6])
    optimizer.step()
    np.testing.assert_allclose(params.detach().numpy(), [0.9, 0.1], rtol=1e-6)


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


# ---------------------------------------------------------------------- param groups
def test_param_groups_have_their_own_lr():
    fast = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    slow = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    optimizer = optim.SGD([{"params": [fast], "lr": 0.5}, {"params": [slow]}], lr=0.1)
    assert [g["lr"] for g in optimizer.param_groups] == [0.5, 0.1]
    fast.grad = torch.tensor([1.0], dtype=torch.float64)
    slow.grad = torch.tensor([1.0], dtype=torch.float64)
    optimizer.step()
    assert fast.item() == pytest.approx(0.5) and slow.item() == pytest.approx(0.9)


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
