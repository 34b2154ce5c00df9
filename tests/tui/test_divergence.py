"""lr = 1e-2 on the raw readings: the loss overflows at epoch 11. The app pauses, keeps its
plots readable, explains with the numbers, and offers the fixes one key away."""
from __future__ import annotations

import pytest

from tui.widgets.divergence_panel import DivergencePanel
from tui.widgets.fit_plot import FitPlot
from tui.widgets.loss_plot import LossPlot
from tui.widgets.param_table import ParamTable
from tui.widgets.status_bar import StatusBar

from engine.training.trainer import Hyperparameters, Setup
from pilot_helpers import make_app, notifications, raw_diverging_app, show_latest


def y_tick_labels(plot_text: str) -> list[float]:
    """The numbers left of the y axis ('1e35┤' -> 1e35)."""
    return [float(line.split("┤")[0]) for line in plot_text.splitlines() if "┤" in line]


async def diverge(pilot) -> None:
    await pilot.press("N")  # 100 epochs asked; the run stops by itself at 11
    await pilot.pause()


async def test_divergence_pauses_and_explains_with_the_numbers():
    app = raw_diverging_app()
    async with app.run_test(size=(80, 24)) as pilot:
        assert not app.query_one(DivergencePanel).display or not app.screen.has_class("-diverged")
        await diverge(pilot)
        s = app.runner.latest
        assert s.state == "diverged" and s.epoch == 11 and s.divergence.epoch == 11
        assert not app.runner.running
        assert app.screen.has_class("-diverged")
        panel = app.query_one(DivergencePanel)
        assert panel.display
        text = " ".join(panel.text.split())
        assert "At epoch 11 the loss overflowed to infinity" in text
        assert "The gradient for w is 57× the one for b" in text
        assert "overshoots" in text
        for key, fix in (("1", "lower the rate: lr 0.01 → 0.0001"), ("2", "normalise the input: x = 0.1 × raw"),
                         ("3", "switch to Adam, lr 0.1")):
            assert f"{key}  {fix}" in panel.text
        status = app.query_one(StatusBar).text
        assert "diverged" in status and "epoch 11/" in status and "loss inf at epoch 11" in status


async def test_plots_stay_readable_after_divergence():
    app = raw_diverging_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await diverge(pilot)
        loss = app.query_one(LossPlot)
        assert "inf at epoch 11" in loss.text  # marked on the plot
        assert "nan" not in loss.text.lower() and "cannot draw" not in loss.text
        ticks = y_tick_labels(loss.text)
        assert len(ticks) >= 2 and ticks[-1] == 0 and 1e30 < max(ticks) < 1e40  # finite, round, up to the last finite loss
        await pilot.press("l")
        assert "inf at epoch 11" in loss.text and "cannot draw" not in loss.text
        decades = y_tick_labels(loss.text)
        assert min(decades) <= 1e3 and max(decades) >= 1e30  # from the starting loss to the overflow
        fit = app.query_one(FitPlot)
        assert fit.display and "far off the scale" in fit.text and "cannot draw" not in fit.text
        assert "e+" in app.query_one(ParamTable).text  # huge but finite parameters


async def test_space_after_divergence_says_what_to_do():
    app = raw_diverging_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await diverge(pilot)
        await pilot.press("space")
        assert app.runner.latest.state == "diverged" and not app.runner.running
        assert any("press r to start over, or 1, 2, 3" in n for n in notifications(app))


@pytest.mark.parametrize("key, check", [
    ("1", lambda s: s.hyper.learning_rate == pytest.approx(1e-4) and s.setup.input_transform == "none"),
    ("2", lambda s: (s.setup.input_transform, s.setup.input_scale) == ("scale", 0.1) and s.hyper.learning_rate == 0.01),
    ("3", lambda s: s.hyper.optimizer == "adam" and s.hyper.learning_rate == pytest.approx(0.1)),
])
async def test_each_fix_is_one_key_and_starts_a_new_run(key, check):
    app = raw_diverging_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await diverge(pilot)
        await pilot.press(key)
        await pilot.pause()
        s = app.runner.latest
        assert check(s)
        assert s.epoch == 0 and s.divergence is None
        assert app.runner.running  # the fix starts training straight away
        assert not app.screen.has_class("-diverged")
        assert any("the run starts over" in n for n in notifications(app))
        await pilot.press("space")  # pause, then train the fixed run by steps
        await pilot.press("N")
        assert app.runner.latest.state != "diverged"


async def test_fix_keys_do_nothing_without_a_divergence(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("1", "2", "3")
        assert app.runner.latest.hyper.learning_rate == 0.01
        assert app.runner.latest.setup.input_transform == "scale"


async def test_the_status_line_warns_while_the_loss_explodes():
    app = raw_diverging_app(pretrain=5)
    async with app.run_test(size=(80, 24)):
        s = app.runner.latest
        assert s.warning and s.divergence is None
        assert "⚠ the loss is exploding" in app.query_one(StatusBar).text


async def test_standardising_after_lr_1_diverged_converges(app):
    """A teacher's keys: `+ +` (lr 1 on 0.1 × raw) diverges at epoch 12; fix 2 standardises.
    It used to keep lr 1, the standardised line's edge of stability, and the loss sat at 171."""
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("plus", "plus")
        await pilot.press("N")
        assert app.runner.latest.divergence.epoch == 12
        assert "2  standardise the input, lr 0.5" in app.query_one(DivergencePanel).text
        await pilot.press("2")
        await pilot.press("space")  # pause the fixed run, then train it by steps
        for _ in range(3):
            await pilot.press("N")
        s = app.runner.latest
        assert (s.setup.input_transform, s.hyper.learning_rate) == ("standardize", 0.5)
        assert s.epoch == 300 and s.train_loss < 3.0  # the minimum is 2.9276


def screen_lines(app) -> list[str]:
    """The terminal as drawn, line by line (borders and their titles included)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def test_a_small_gradient_ratio_is_not_given_as_the_reason(app):
    """lr 1 on 0.1 × raw: w's gradient is only 6× b's; the rate is simply too large."""
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("plus", "plus", "N")
        text = " ".join(app.query_one(DivergencePanel).text.split())
        assert "The gradient for w" not in text
        assert ("The step is too large for the loss's curvature: above lr 0.033 (2 / the largest curvature, "
                "for this input) every step overshoots the minimum by more than the last.") in text


async def test_the_edge_of_stability_is_said_when_the_rate_reaches_it(app):
    """Standardised input, lr 1: the loss neither falls nor blows up (it sits at 171); the
    message line says so as the rate is set, and says nothing below or above the edge."""
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("z")  # raw readings at lr 0.01: past their edge (3.4e-4), left to diverge
        assert notifications(app)[-1] == "raw input: the run starts over"
        await pilot.press("z", "plus")  # standardised, lr 0.1: well below the edge
        assert notifications(app)[-2:] == ["standardised input: the run starts over",
                                           "Learning rate 0.01 → 0.1 (the run goes on)"]
        await pilot.press("plus")  # lr 1
        assert notifications(app)[-1] == ("Learning rate 0.1 → 1 (the run goes on). lr 1 is at this input's edge of "
                                          "stability, 2/λmax = 1: the loss will swing back and forth instead of "
                                          "settling. lr 0.5 converges.")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_the_parameter_table_says_less_rather_than_cut(app, size):
    async with app.run_test(size=size) as pilot:
        await pilot.press("plus", "plus", "N")  # raw units -2.58e+20, -4.55e+20
        await show_latest(pilot)
        table = app.query_one(ParamTable)
        width = table.content_size.width
        assert all(len(line) <= width for line in table.text.splitlines())
        if size == (80, 24):
            assert "raw: w -2.58e+20  b -4.55e+20" in table.text
        await pilot.press("z", "z", "N")  # standardised: the caption names its mean and spread
        await show_latest(pilot)
        lines = screen_lines(app)
        subtitle = str(table.border_subtitle)
        if size == (120, 40):
            assert subtitle == "step = -lr × grad · x = (raw-51.8)/16.05"  # the 40 cells there are
            assert any(subtitle in line for line in lines), "the caption is drawn whole"
        assert not any("…" in line for line in lines if "raw" in line)


async def test_starting_a_run_at_the_edge_says_so():
    app = make_app(Setup(input_transform="standardize"), Hyperparameters(learning_rate=1.0, epochs=5000))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("space")
        assert "lr 1 is at this input's edge of stability" in notifications(app)[-1]
