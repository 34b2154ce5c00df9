"""Chapter 5 of *Deep Learning with PyTorch*, run through the engine as the book writes it.

Every case of tests/reference/dlwpt_ch5.json (the book's printed numbers) is reproduced with
`import engine as torch` and the book's own functions: the line model w * t_u + b, the mean
squared error, gradient descent with the hand-derived gradient, then with autograd, then with
optim.SGD, then on a train/validation split.

A number matches the book when |got - book| <= half a unit of the book's last printed digit
+ atol_extra + rtol * |book| (the file's tolerance_rule). "Half a unit of the last printed
digit" is read off the number exactly as it is written in the JSON (1763.884644 -> 5e-7,
3.2144e+17 -> 5e12), which is why the file is parsed with Decimal.
"""
from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

import engine as torch
from engine import optim

REFERENCE = json.loads((Path(__file__).parent / "reference" / "dlwpt_ch5.json").read_text(), parse_float=Decimal)
CASES = {case["name"]: case for case in REFERENCE["cases"]}


# ---------------------------------------------------------------------- the book's code
def model(t_u, w, b):
    return w * t_u + b


def loss_fn(t_p, t_c):
    squared_diffs = (t_p - t_c) ** 2
    return squared_diffs.mean()


def dloss_fn(t_p, t_c):
    dsq_diffs = 2 * (t_p - t_c) / t_p.size(0)
    return dsq_diffs


def dmodel_dw(t_u, w, b):
    return t_u


def dmodel_db(t_u, w, b):
    return 1.0


def grad_fn(t_u, t_c, t_p, w, b):
    dloss_dtp = dloss_fn(t_p, t_c)
    dloss_dw = dloss_dtp * dmodel_dw(t_u, w, b)
    dloss_db = dloss_dtp * dmodel_db(t_u, w, b)
    return torch.stack([dloss_dw.sum(), dloss_db.sum()])


def training_loop_by_hand(n_epochs, learning_rate, params, t_u, t_c):
    """The book's first loop: analytic gradient, params replaced each step. Returns the final
    params and, per epoch, what the book prints: the loss before the update, the params after
    it and the gradient used."""
    printed = {}
    for epoch in range(1, n_epochs + 1):
        w, b = params
        t_p = model(t_u, w, b)
        loss = loss_fn(t_p, t_c)
        grad = grad_fn(t_u, t_c, t_p, w, b)
        params = params - learning_rate * grad
        printed[epoch] = {"loss": float(loss), "params": params.tolist(), "grad": grad.tolist()}
        if not torch.isfinite(loss).all():
            break
    return params, printed


def training_loop_autograd(n_epochs, learning_rate, params, t_u, t_c):
    """The book's autograd loop: zero the accumulated gradient, backward, update under no_grad."""
    printed = {}
    for epoch in range(1, n_epochs + 1):
        if params.grad is not None:
            params.grad.zero_()
        t_p = model(t_u, *params)
        loss = loss_fn(t_p, t_c)
        loss.backward()
        with torch.no_grad():
            params -= learning_rate * params.grad
        printed[epoch] = {"loss": float(loss)}
    return params, printed


def training_loop_split(n_epochs, optimizer, params, train_t_u, val_t_u, train_t_c, val_t_c):
    """The book's train/validation loop: both losses at the current params, a step on train."""
    printed = {}
    for epoch in range(1, n_epochs + 1):
        train_t_p = model(train_t_u, *params)
        train_loss = loss_fn(train_t_p, train_t_c)
        val_t_p = model(val_t_u, *params)
        val_loss = loss_fn(val_t_p, val_t_c)
        optimizer.zero_grad()
        train_loss.backward()
        optimizer.step()
        printed[epoch] = {"train_loss": train_loss.item(), "val_loss": val_loss.item()}
    return params, printed


# ---------------------------------------------------------------------- matching the book
def half_unit_of_last_digit(printed: Decimal) -> float:
    """Half a unit in the last digit as printed: Decimal keeps 1763.884644 as 1763884644e-6."""
    return 0.5 * 10.0 ** printed.as_tuple().exponent


def assert_matches_book(got, book, case: dict, what: str) -> None:
    if isinstance(book, list):
        assert len(got) == len(book), f"{what}: {got} vs book {book}"
        for i, (g, b) in enumerate(zip(got, book)):
            assert_matches_book(g, b, case, f"{what}[{i}]")
        return
    rtol, atol_extra = float(case["rtol"]), float(case["atol_extra"])
    tolerance = half_unit_of_last_digit(book) + atol_extra + rtol * abs(float(book))
    assert abs(got - float(book)) <= tolerance, (
        f"{case['name']}: {what} = {got!r}, book prints {book} (|diff| {abs(got - float(book)):.3g} > {tolerance:.3g})"
    )


def assert_trace_matches(printed: dict, case: dict) -> None:
    for record in case["expected"]["trace"]:
        epoch = record["epoch"]
        assert epoch in printed, f"{case['name']}: the loop never reached epoch {epoch}"
        for field, book in record.items():
            if field != "epoch":
                assert_matches_book(printed[epoch][field], book, case, f"epoch {epoch} {field}")


def readings(case: dict):
    """t_u (or the normalised t_un = 0.1 * t_u, as the case says) and t_c, float32."""
    t_u = torch.tensor([float(v) for v in REFERENCE["data"]["t_u"]])
    t_c = torch.tensor([float(v) for v in REFERENCE["data"]["t_c"]])
    if case["setup"]["data"].startswith("t_un"):
        return 0.1 * t_u, t_c
    return t_u, t_c


def initial_params(case: dict, requires_grad: bool = False):
    return torch.tensor([float(v) for v in case["setup"]["init_params"]], requires_grad=requires_grad)


# ---------------------------------------------------------------------- one runner per case
def run_initial_forward(case):
    t_u, t_c = readings(case)
    w, b = initial_params(case)
    t_p = model(t_u, w, b)
    assert_matches_book(t_p.tolist(), case["expected"]["t_p"], case, "t_p")
    assert_matches_book(float(loss_fn(t_p, t_c)), case["expected"]["loss"], case, "loss")


def run_gradient_descent_by_hand(case):
    setup = case["setup"]
    t_u, t_c = readings(case)
    params, printed = training_loop_by_hand(setup["epochs"], float(setup["lr"]), initial_params(case), t_u, t_c)
    assert_trace_matches(printed, case)
    assert_matches_book(params.tolist(), case["expected"]["final_params"], case, "final params")
    assert params.dtype == torch.float32


def run_divergence(case):
    setup = case["setup"]
    t_u, t_c = readings(case)
    # float32 overflow is the lesson here, not an accident: silence numpy's warning about it.
    with np.errstate(over="ignore", invalid="ignore"):
        params, printed = training_loop_by_hand(setup["epochs"], float(setup["lr"]), initial_params(case), t_u, t_c)
    trace = case["expected"]["trace"]
    last = trace[-1]
    assert last["loss"] == "inf"
    # The loss overflows float32 at epoch 11 and the non-finite check stops the loop there.
    assert max(printed) == last["epoch"] == 11
    assert math.isinf(printed[11]["loss"]) and printed[11]["loss"] > 0
    assert all(math.isfinite(printed[epoch]["loss"]) for epoch in range(1, 11))
    for record in trace[:-1]:
        for field in ("loss", "params", "grad"):
            assert_matches_book(printed[record["epoch"]][field], record[field], case, f"epoch {record['epoch']} {field}")
    # The epoch-11 update itself still runs with finite numbers: the params and grad printed.
    assert_matches_book(printed[11]["params"], last["params"], case, "epoch 11 params")
    assert_matches_book(printed[11]["grad"], last["grad"], case, "epoch 11 grad")
    assert_matches_book(params.tolist(), case["expected"]["final_params"], case, "final params")


def run_autograd_grad_at_init(case):
    t_u, t_c = readings(case)
    params = initial_params(case, requires_grad=True)
    loss = loss_fn(model(t_u, *params), t_c)
    loss.backward()
    assert_matches_book(params.grad.tolist(), case["expected"]["grad"], case, "params.grad")
    # The same numbers as the hand-derived gradient of the earlier cases.
    w, b = params.detach()
    analytic = grad_fn(t_u, t_c, model(t_u, w, b), w, b)
    np.testing.assert_allclose(params.grad.numpy(), analytic.numpy(), rtol=1e-6)


def run_gradient_descent_autograd(case):
    setup = case["setup"]
    t_u, t_c = readings(case)
    params = initial_params(case, requires_grad=True)
    params, printed = training_loop_autograd(setup["epochs"], float(setup["lr"]), params, t_u, t_c)
    assert_trace_matches(printed, case)
    assert_matches_book(params.tolist(), case["expected"]["final_params"], case, "final params")
    assert params.requires_grad and params.is_leaf


def run_one_sgd_step(case):
    setup = case["setup"]
    t_u, t_c = readings(case)
    params = initial_params(case, requires_grad=True)
    optimizer = optim.SGD([params], lr=float(setup["lr"]))
    t_p = model(t_u, *params)
    loss = loss_fn(t_p, t_c)
    if "zero_grad" in case["description"]:  # the book's second listing zeroes first, the first does not
        optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    assert_matches_book(params.tolist(), case["expected"]["params"], case, "params")


def run_train_val_split(case):
    setup = case["setup"]
    t_u, t_c = readings(case)  # t_un
    # The book draws torch.randperm(11); the indices it printed are used instead.
    shuffled_indices = torch.tensor(setup["split"]["train"] + setup["split"]["val"])
    n_samples = t_u.shape[0]
    n_val = int(0.2 * n_samples)
    train_indices = shuffled_indices[:-n_val]
    val_indices = shuffled_indices[-n_val:]
    assert train_indices.tolist() == setup["split"]["train"] and val_indices.tolist() == setup["split"]["val"]

    params = initial_params(case, requires_grad=True)
    optimizer = optim.SGD([params], lr=float(setup["lr"]))
    params, printed = training_loop_split(
        setup["epochs"], optimizer, params,
        t_u[train_indices], t_u[val_indices], t_c[train_indices], t_c[val_indices],
    )
    assert_trace_matches(printed, case)
    assert_matches_book(params.tolist(), case["expected"]["final_params"], case, "final params")


RUNNERS = {
    "ch5_initial_forward": run_initial_forward,
    "ch5_gd_unnormalized_lr1e-2_diverges": run_divergence,
    "ch5_gd_unnormalized_lr1e-4": run_gradient_descent_by_hand,
    "ch5_gd_normalized_lr1e-2_100ep": run_gradient_descent_by_hand,
    "ch5_gd_normalized_lr1e-2_5000ep": run_gradient_descent_by_hand,
    "ch5_autograd_grad_at_init": run_autograd_grad_at_init,
    "ch5_autograd_normalized_lr1e-2_5000ep": run_gradient_descent_autograd,
    "ch5_sgd_one_step_unnormalized_lr1e-5": run_one_sgd_step,
    "ch5_sgd_one_step_normalized_lr1e-2": run_one_sgd_step,
    "ch5_train_val_split_sgd_lr1e-2_3000ep": run_train_val_split,
}


@pytest.mark.parametrize("name", list(CASES))
def test_reproduces_the_book(name):
    # A case added to the JSON without a runner fails here, by name.
    assert name in RUNNERS, f"no runner for reference case {name}"
    RUNNERS[name](CASES[name])


def test_every_runner_has_its_case():
    assert set(RUNNERS) == set(CASES)


@pytest.mark.parametrize(
    "printed, half_unit",
    [("1763.884644", 5e-7), ("3.2144e+17", 5e12), ("82.6", 0.05), ("19408035840.0", 0.05), ("-0.071", 5e-4)],
)
def test_half_a_unit_of_the_last_printed_digit(printed, half_unit):
    assert half_unit_of_last_digit(Decimal(printed)) == pytest.approx(half_unit, rel=1e-12)
