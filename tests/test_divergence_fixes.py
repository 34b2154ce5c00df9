"""Every fix offered after a divergence works from the start, at the settings it sets.

A teacher pressed `+ +` (lr 1 on 0.1 × raw) and then fix 2, "standardise the input": the new
run kept lr 1, which is exactly the standardised line's edge of stability (2 / λ_max = 1), and
sat at loss 171 for good. Each case here diverges for real, then runs each offered fix
headless for its whole budget: it must end finite, finished, and well below where it began.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from engine.lesson import stability
from engine.training.trainer import Hyperparameters, SettingError, Setup, Trainer
from tui.settings import divergence_fixes

RAW = {"input_transform": "none"}
SCALED = {"input_transform": "scale", "input_scale": 0.1}
STANDARDISED = {"input_transform": "standardize"}

CASES = [  # (model, input, learning rate): each diverges with plain SGD
    ("linear", RAW, 1e-2),  # the book's
    ("linear", RAW, 10.0),  # lr / 100 = 0.1 would still diverge
    ("linear", SCALED, 1.0),  # the teacher's: `+ +` from the app's default
    ("linear", SCALED, 0.1),
    ("linear", STANDARDISED, 5.0),
    ("poly:3", RAW, 1e-2),
    ("poly:3", RAW, 1e-10),  # 0.1 × raw at the same rate would barely move
    ("poly:2", SCALED, 1e-2),
    ("poly:3", SCALED, 1e-4),  # standardised at 1e-4 would crawl
    ("poly:3", STANDARDISED, 2.0),
]


def diverged(model, transform, lr):
    trainer = Trainer(Setup(model=model, **transform), Hyperparameters(learning_rate=lr, epochs=5000))
    trainer.train(5000)
    s = trainer.snapshot()
    assert s.divergence is not None, "the case must diverge for its fixes to be offered"
    return s


@pytest.mark.parametrize("model, transform, lr", CASES)
def test_every_offered_fix_converges_from_the_start(model, transform, lr):
    s = diverged(model, transform, lr)
    fixes = divergence_fixes(s)
    assert [f.key for f in fixes] == (["1", "2", "3"] if transform is not STANDARDISED else ["1", "3"])
    for fix in fixes:
        trainer = Trainer(replace(s.setup, **fix.change.setup), replace(s.hyper, **fix.change.hyper))
        trainer.train(1)
        start = trainer.last_epoch.train_loss
        trainer.train(trainer.hyper.epochs - 1)
        end = trainer.last_epoch.train_loss
        assert trainer.state == "finished", f"fix {fix.key} ({fix.label}) diverged"
        assert math.isfinite(end) and end < 0.1 * start, f"fix {fix.key} ({fix.label}): {start} -> {end}"


def test_normalising_sets_the_rate_that_suits_the_new_input_and_says_so():
    s = diverged("linear", SCALED, 1.0)
    fix = {f.key: f for f in divergence_fixes(s)}["2"]
    # Standardised inputs have mean 0 and variance 1: the Hessian is 2 I, the edge 1, half of it 0.5.
    assert fix.change.setup == {"input_transform": "standardize"}
    assert fix.change.hyper == {"learning_rate": 0.5}
    assert fix.label == "standardise the input, lr 0.5"
    book = {f.key: f for f in divergence_fixes(diverged("linear", RAW, 1e-2))}
    assert book["1"].label == "lower the rate: lr 0.01 → 0.0001"  # the chapter's own steps
    assert book["2"].label == "normalise the input: x = 0.1 × raw, lr 0.01"


def test_lower_rate_goes_below_the_edge_when_a_hundredth_is_not_enough():
    fix = {f.key: f for f in divergence_fixes(diverged("linear", RAW, 10.0))}["1"]
    assert fix.change.hyper == {"learning_rate": 1e-4}  # not 0.1: raw readings' edge is 3.4e-4


# ---------------------------------------------------------------------- the edge, from the data
def line_edge_by_hand(x: np.ndarray) -> float:
    """2 / λ_max of [[2 mean x², 2 mean x], [2 mean x, 2]], the line's Hessian, in closed form."""
    a, b, c = 2 * np.mean(x * x), 2 * np.mean(x), 2.0
    top = (a + c) / 2 + math.sqrt(((a - c) / 2) ** 2 + b * b)
    return 2 / top


def test_the_edge_of_stability_is_where_plain_descent_stops_converging():
    s = Trainer(Setup(), Hyperparameters()).snapshot()
    x = np.asarray(s.dataset.x, dtype=np.float64)
    for transform, inputs in ((RAW, x), (SCALED, 0.1 * x), (STANDARDISED, (x - x.mean()) / x.std())):
        setup = Setup(**transform)
        edge = stability.edge_of_stability(setup, x, s.split)
        assert edge == pytest.approx(line_edge_by_hand(inputs), rel=1e-12)
    # Just below the edge the loss falls; just above, the run diverges (float64, to be exact).
    edge = stability.edge_of_stability(Setup(input_transform="scale", input_scale=0.1), x, s.split)
    below = Trainer(Setup(dtype="float64", **SCALED), Hyperparameters(learning_rate=0.98 * edge, epochs=20000))
    below.train(20000)
    assert below.state == "finished" and below.last_epoch.train_loss < 3.0
    above = Trainer(Setup(dtype="float64", **SCALED), Hyperparameters(learning_rate=1.02 * edge, epochs=20000))
    above.train(20000)
    assert above.state == "diverged"


@pytest.mark.parametrize("value, rounded", [(0.0135, 0.01), (0.49999999999999994, 0.5), (3.4e-4, 2e-4),
                                            (1e-4, 1e-4), (9.99, 5.0), (0.26, 0.2)])
def test_rates_are_rounded_down_to_one_two_or_five(value, rounded):
    assert stability.round_down(value) == rounded


def test_an_mlp_has_no_fixed_edge():
    s = Trainer(Setup(), Hyperparameters()).snapshot()
    assert stability.edge_of_stability(Setup(model="mlp:8"), s.dataset.x, s.split) is None


def test_the_learning_rate_has_a_floor():
    Hyperparameters(learning_rate=1e-12).validate()
    with pytest.raises(SettingError, match=r"learning rate must be at least 1e-12 \(got 1e-13\)"):
        Hyperparameters(learning_rate=1e-13).validate()


def test_an_mlp_normalised_after_a_divergence_gets_a_rate_from_its_starting_curvature():
    """0.1 × raw, lr 1, 1-8-1 tanh: standardising at lr 1 overflowed again (inf); the rate
    now comes from the Hessian at the network's starting weights (power iteration)."""
    s = diverged("mlp:8", SCALED, 1.0)
    fix = {f.key: f for f in divergence_fixes(s)}["2"]
    assert fix.change.setup == {"input_transform": "standardize"} and fix.change.hyper["learning_rate"] < 1
    trainer = Trainer(replace(s.setup, **fix.change.setup), replace(s.hyper, **fix.change.hyper))
    trainer.train(1)
    start = trainer.last_epoch.train_loss
    trainer.train(trainer.hyper.epochs - 1)
    assert trainer.state == "finished" and trainer.last_epoch.train_loss < 0.1 * start


def test_the_starting_curvature_of_a_quadratic_loss_is_its_exact_curvature():
    """Power iteration on the line (whose Hessian is known) finds the same λ_max."""
    s = Trainer(Setup(), Hyperparameters()).snapshot()
    for transform in (RAW, SCALED, STANDARDISED):
        setup = Setup(**transform)
        exact = stability.largest_curvature("linear", stability.model_inputs(setup, s.dataset.x, s.split))
        estimate = stability.curvature_at_start(setup, s.dataset.x, s.dataset.y, s.split)
        assert estimate == pytest.approx(exact, rel=1e-6)
