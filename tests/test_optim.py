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
import re
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


# ---------------------------------------------------------------------- construction
@pytest.mark.parametrize("make, message", [
    (lambda p: optim.SGD(p, lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda p: optim.SGD(p, lr=0.1, weight_decay=-0.5), "Invalid weight_decay value: -0.5"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
     "Nesterov momentum requires a momentum and zero dampening"),
    (lambda p: optim.Adam(p, lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda p: optim.Adam(p, eps=-1e-08), "Invalid epsilon value: -1e-08"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    (lambda p: optim.Adam(p, betas=(-0.1, 0.999)), "Invalid beta parameter at index 0: -0.1"),
    (lambda p: optim.Adam(p, betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.5)), "Invalid beta parameter at index 1: -0.5"),
    (lambda p: optim.Adam(p, weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda p: optim.SGD([], lr=0.1), "optimizer got an empty parameter list"),
    # stricter than PyTorch, which takes a nan or infinite learning rate
    (lambda p: optim.SGD(p, lr=float("nan")), "Invalid learning rate: nan"),
    (lambda p: optim.Adam(p, lr=float("inf")), "Invalid learning rate: inf"),
], ids=lambda value: value if isinstance(value, str) else "")
def test_invalid_hyperparameters_are_refused_with_pytorchs_message(make, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make([torch.tensor([1.0], requires_grad=True)])


def test_hyperparameters_just_inside_the_limits_are_taken():
    p = [torch.tensor([1.0], requires_grad=True)]
    optim.SGD(p, lr=0.0, momentum=0.0, weight_decay=0.0)
    optim.Adam(p, lr=0.0, betas=(0.0, 0.0), eps=0.0, weight_decay=0.0)
    optim.Adam(p, betas=(0.999999, 0.999999))


def test_params_must_be_a_list_of_tensors():
    with pytest.raises(TypeError, match=re.escape(
            "params argument given to the optimizer should be an iterable of Tensors or dicts, but got torch.FloatTensor")):
        optim.SGD(torch.tensor([1.0], requires_grad=True), lr=0.1)
    with pytest.raises(TypeError, match="^optimizer can only optimize Tensors, but one of the params is float$"):
        optim.SGD([1.0], lr=0.1)


def test_defaults_are_pytorchs():
    p = [torch.tensor([1.0], requires_grad=True)]
    assert optim.SGD(p).defaults == dict(lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False)
    assert optim.Adam(p).defaults == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False)


def test_a_tensor_as_a_group_is_a_group_of_one():
    p = torch.tensor([1.0], requires_grad=True)
    optimizer = optim.SGD([{"params": p, "lr": 0.5}], lr=0.1)
    assert optimizer.param_groups[0]["params"] == [p] and optimizer.param_groups[0]["lr"] == 0.5


@pytest.mark.parametrize("make", [lambda p: optim.SGD(p, lr=0.1), lambda p: optim.Adam(p, lr=0.1)], ids=["SGD", "Adam"])
def test_step_calls_the_closure_and_returns_its_loss(make):
    p = torch.tensor([1.0, 2.0], requires_grad=True)
    optimizer = make([p])

    def closure():
        optimizer.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    assert loss.item() == 5.0 and p.tolist() != [1.0, 2.0]


# ---------------------------------------------------------------------- gradients missing, groups
@pytest.mark.parametrize("make", [
    lambda p: optim.SGD(p, lr=0.1), lambda p: optim.SGD(p, lr=0.1, momentum=0.9), lambda p: optim.Adam(p, lr=0.1),
], ids=["SGD", "SGD momentum", "Adam"])
def test_a_parameter_without_gradient_is_skipped_not_the_rest(make):
    untouched = torch.tensor([5.0], requires_grad=True)
    trained = torch.tensor([1.0, 2.0], requires_grad=True)
    later_group = torch.tensor(3.0, requires_grad=True)
    optimizer = make([{"params": [untouched, trained]}, {"params": [later_group]}])
    (trained * trained).sum().backward()
    (later_group * 2).backward()
    optimizer.step()
    assert untouched.tolist() == [5.0] and untouched._version == 0
    assert trained.tolist() != [1.0, 2.0] and later_group.item() != 3.0
    assert trained._version == 1 and later_group._version == 1


def test_the_step_count_shows_in_the_version():
    w = torch.tensor(1.0, requires_grad=True)
    optimizer = optim.SGD([w], lr=0.1)
    for _ in range(3):
        w.grad = torch.tensor(1.0)
        optimizer.step()
    assert w._version == 3


def test_many_steps_keep_the_version_exact_and_its_history_short():
    # The version box keeps only the recent changes' clock readings (see tensor._bump).
    from engine.tensor import _STAMPS

    for make in (lambda p: optim.SGD(p, lr=0.01), lambda p: optim.Adam(p, lr=0.01)):
        w = torch.tensor([1.0, 2.0], requires_grad=True)
        optimizer = make([w])
        for _ in range(70):
            w.grad = torch.tensor([1.0, 1.0])
            optimizer.step()
        loss = (w * w).sum()
        for _ in range(3):
            optimizer.step()
        assert w._version == 73 and len(w._version_box) <= 4 * _STAMPS
        with pytest.raises(RuntimeError, match="is at version 73; expected version 70 instead"):
            loss.backward()


# ---------------------------------------------------------------------- state
def test_momentum_buffer_is_its_own_copy_of_the_gradient():
    # With gradients zeroed in place (set_to_none=False), a buffer sharing the gradient's
    # memory would be zeroed with it, and the first step would change the gradient.
    case = CASES["SGD {'lr': 0.1, 'momentum': 0.9} lr->0.01"]
    params = torch.tensor(case["starts"][0], dtype=torch.float64, requires_grad=True)
    optimizer = optim.SGD([params], lr=0.1, momentum=0.9)
    for step in range(1, 4):
        optimizer.zero_grad(set_to_none=False)
        loss_of(params).backward()
        grad_before = params.grad.tolist()
        optimizer.step()
        assert params.grad.tolist() == grad_before
        np.testing.assert_allclose(params.detach().numpy(), case["params_after"][step - 1][0], rtol=1e-12)


@pytest.mark.parametrize("name", ["SGD {'lr': 0.1, 'momentum': 0.9, 'dampening': 0.5, 'weight_decay': 0.1}",
                                  "Adam {'lr': 0.3, 'amsgrad': True, 'betas': [0.5, 0.9]}"])
def test_state_dict_resumes_where_it_stopped(name):
    # Four steps, the state saved, a new optimizer loaded from it: the rest of PyTorch's path.
    case = CASES[name]
    params = torch.tensor(case["starts"][0], dtype=torch.float64, requires_grad=True)
    first = getattr(optim, case["optimizer"])([params], **case["kwargs"])
    for _ in range(4):
        first.zero_grad()
        loss_of(params).backward()
        first.step()
    saved = first.state_dict()
    snapshot = json.dumps(saved, default=lambda a: np.asarray(a).tolist())
    for _ in range(2):  # the saved state is a copy: later steps do not change it
        first.zero_grad()
        loss_of(params).backward()
        first.step()
    assert json.dumps(saved, default=lambda a: np.asarray(a).tolist()) == snapshot
    assert saved["param_groups"][0]["params"] == [0] and saved["param_groups"][0]["lr"] == case["kwargs"]["lr"]

    params = torch.tensor(case["params_after"][3][0], dtype=torch.float64, requires_grad=True)
    second = getattr(optim, case["optimizer"])([params], lr=1.0)  # lr and state come from the dict
    second.load_state_dict(saved)
    assert second.param_groups[0]["lr"] == case["kwargs"]["lr"]
    for step in range(4, case["steps"]):
        second.zero_grad()
        loss_of(params).backward()
        second.step()
        np.testing.assert_allclose(params.detach().numpy(), case["params_after"][step][0], rtol=1e-12, atol=1e-14)
    # the loaded state is a copy too: stepping does not change the dict it came from
    assert json.dumps(saved, default=lambda a: np.asarray(a).tolist()) == snapshot


def test_state_dict_numbers_parameters_across_groups():
    a = torch.tensor([1.0], requires_grad=True)
    b = torch.tensor([2.0], requires_grad=True)
    optimizer = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    a.grad = torch.tensor([1.0])
    b.grad = torch.tensor([3.0])
    optimizer.step()
    state = optimizer.state_dict()
    assert [g["params"] for g in state["param_groups"]] == [[0], [1]]
    assert state["state"][1]["momentum_buffer"].tolist() == [3.0]
    assert state["state"][0]["momentum_buffer"].tolist() == [1.0]
