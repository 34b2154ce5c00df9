"""The chapter's presets reproduce the book through the app's own Trainer; the landscape is
exact; the three gradients agree."""
from __future__ import annotations

import numpy as np
import pytest

from engine.lesson.gradcheck import check_gradients
from engine.lesson.landscape import grid, line_loss, line_minimum, window_around
from engine.lesson.presets import PRESETS, preset
from engine.training.trainer import Setup, Trainer


def run(p):
    trainer = Trainer(p.setup, p.hyper)
    start = trainer.snapshot()
    return start, trainer.train(p.hyper.epochs), trainer


@pytest.mark.parametrize("p", PRESETS, ids=[p.key for p in PRESETS])
def test_each_preset_reproduces_the_book(p):
    start, end, trainer = run(p)
    e = p.expect
    if "initial_loss" in e:
        assert start.train_loss == pytest.approx(e["initial_loss"], rel=1e-6)
    if "diverged_at" in e:
        assert end.state == "diverged" and end.divergence.epoch == e["diverged_at"]
    else:
        assert end.state == "finished"
    if "final_loss" in e:
        assert end.train_loss == pytest.approx(e["final_loss"], rel=2e-5, abs=5e-5)
    if "final_val_loss" in e:
        assert end.val_loss == pytest.approx(e["final_val_loss"], abs=5e-5)
    if "w" in e:
        assert float(end.params["w"]) == pytest.approx(e["w"], abs=5e-4)
        assert float(end.params["b"]) == pytest.approx(e["b"], abs=5e-4)
    if e.get("overfits"):
        assert end.overfitting_since is not None and end.val_loss > end.best_val_loss
        first_train = end.history.train_loss[0]
        assert end.train_loss < first_train / 5  # training loss kept falling all along


def test_unknown_preset_names_the_known_ones():
    with pytest.raises(KeyError, match="presets are start, diverge"):
        preset("nope")


def test_landscape_matches_a_direct_computation():
    trainer = Trainer(Setup())
    x, y = trainer.dataset.x, trainer.dataset.y
    land = grid(x, y, (-1.0, 2.0), (-30.0, 10.0), columns=7, rows=5)
    for i, b in enumerate(land.b):
        for j, w in enumerate(land.w):
            direct = np.mean((w * x + b - y) ** 2)
            assert land.loss[i, j] == pytest.approx(direct, rel=1e-12)
    assert line_loss(x, y, 1.0, 0.0) == pytest.approx(1763.8846, rel=1e-6)
    w, b, loss = line_minimum(x * 0.1, y)
    w_fit, b_fit = np.polyfit(x * 0.1, y, 1)
    assert (w, b) == (pytest.approx(w_fit, rel=1e-10), pytest.approx(b_fit, rel=1e-10))
    # the book's 5000 epochs (w = 5.3671, b = -17.3012, loss 2.927648) are close, not there
    assert loss < 2.927648 and abs(w - 5.3671) < 1e-3


def test_zoom_window_holds_the_path_and_the_minimum_and_ignores_infinities():
    path = np.array([[1.0, 0.0], [-44.2, -0.8], [np.inf, np.nan]])
    (w0, w1), (b0, b1) = window_around(path, (0.54, -17.3, 2.9))
    assert w0 < -44.2 and w1 > 1.0 and b0 < -17.3 and b1 > 0.0


def test_three_gradients_agree_for_the_line():
    trainer = Trainer(Setup())
    checks = {c.name: c for c in check_gradients(trainer, step=1e-3)}
    assert set(checks) == {"w", "b"}
    assert checks["w"].analytic == pytest.approx(4517.2969, rel=1e-6)
    assert checks["b"].analytic == pytest.approx(82.6, rel=1e-6)
    for c in checks.values():
        assert c.finite_difference == pytest.approx(c.analytic, rel=1e-7)
        assert c.relative_error < 1e-5  # autograd in float32 against the exact value
    assert trainer.model.w.grad is None  # the run itself was not touched


def test_gradient_check_without_closed_form_uses_finite_differences():
    trainer = Trainer(Setup(model="mlp:3", input_transform="standardize"))
    checks = check_gradients(trainer, step=1e-4, max_elements=3)
    assert all(c.analytic is None for c in checks)
    assert len(checks) == 3 + 3 + 3 + 1
    assert max(c.relative_error for c in checks if abs(c.autograd) > 1e-3) < 1e-3


def test_gradient_check_refuses_a_bad_step():
    with pytest.raises(ValueError, match="step must be a positive number"):
        check_gradients(Trainer(Setup()), step=-1)


def test_gradient_check_of_a_network_says_it_is_a_sample_and_names_as_the_snapshot():
    # issue 9: "lists 7 of 73 parameters without saying it is a sample"
    trainer = Trainer(Setup(model="mlp:24", input_transform="standardize"))
    checks = check_gradients(trainer, step=1e-4, max_elements=2)
    assert (len(checks), checks.total_elements, checks.is_sample) == (7, 73, True)
    assert checks.describe() == "a sample of 7 of the 73 parameter elements"
    assert [c.parameter for c in checks][::2] == list(trainer.snapshot().params)  # the snapshot's names
    assert (checks[0].parameter, checks[0].index, checks[0].shape) == ("hidden_linear.weight", (0, 0), (24, 1))
    assert checks[0].name == "hidden_linear.weight[0, 0]" and checks[-1].name == "output_linear.bias[0]"

    line = check_gradients(Trainer(Setup()))
    assert not line.is_sample and line.describe() == "all 2 parameter elements"
    assert [(c.parameter, c.index) for c in line] == [("w", ()), ("b", ())]
