"""Each key does what the footer and the help screen say, and the screen shows it."""
from __future__ import annotations

import pytest

from tui.widgets.hyper_panel import HyperPanel
from tui.widgets.loss_plot import LossPlot
from tui.widgets.overfit_panel import OverfitPanel
from tui.widgets.param_table import ParamTable
from tui.widgets.status_bar import StatusBar

from pilot_helpers import make_app, notifications
from engine.training.trainer import Hyperparameters, Setup


def hyper_row(app, label: str) -> str:
    """The hyperparameter panel's row for `label`, e.g. 'learning rate 0.01  + -'."""
    for line in app.query_one(HyperPanel).text.splitlines():
        if line.startswith(label):
            return " ".join(line.split())
    raise AssertionError(f"no row '{label}' in:\n{app.query_one(HyperPanel).text}")


async def test_space_plays_and_pauses(app):
    async with app.run_test(size=(80, 24)) as pilot:
        assert "ready" in app.query_one(StatusBar).text
        await pilot.press("space")
        assert app.runner.running and app.runner.latest.state == "running"
        assert "running" in app.query_one(StatusBar).text
        await pilot.press("space")
        assert not app.runner.running
        assert "paused" in app.query_one(StatusBar).text


async def test_n_trains_one_epoch_and_the_numbers_move(app):
    async with app.run_test(size=(80, 24)) as pilot:
        before = app.query_one(ParamTable).text
        await pilot.press("n")
        s = app.runner.latest
        assert s.epoch == 1 and s.train_loss == pytest.approx(80.3643, rel=1e-4)  # 0.1 * t_u, w=1, b=0
        assert "epoch 1/5,000" in app.query_one(StatusBar).text
        assert "step 1" in app.query_one(StatusBar).text
        after = app.query_one(ParamTable).text
        assert after != before and "-lr×grad" in after


async def test_shift_n_trains_many_epochs_and_the_loss_falls(app):
    async with app.run_test(size=(80, 24)) as pilot:
        start = app.runner.latest.train_loss
        await pilot.press("N")
        s = app.runner.latest
        assert s.epoch == 100 and s.train_loss < start / 3
        assert "epoch 100/5,000" in app.query_one(StatusBar).text
        assert app.query_one(LossPlot).text.rstrip().endswith("100")  # the x axis reaches epoch 100


async def test_r_resets_to_epoch_zero(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("N")
        await pilot.press("r")
        await pilot.pause()
        assert app.runner.latest.epoch == 0
        assert "epoch 0/5,000" in app.query_one(StatusBar).text
        assert any("epoch 0" in n for n in notifications(app))


@pytest.mark.parametrize("keys, rate", [
    (["plus"], 0.1), (["minus"], 0.001), (["equals_sign"], 0.1),
    (["asterisk"], 0.02), (["slash"], 0.005), (["minus", "minus", "plus"], 0.001),
])
async def test_learning_rate_keys_continue_the_run(app, keys, rate):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("N")
        for key in keys:
            await pilot.press(key)
        s = app.runner.latest
        assert s.hyper.learning_rate == pytest.approx(rate)
        assert s.epoch == 100  # the run continues
        assert hyper_row(app, "learning rate") == f"learning rate {rate:g} + -"


async def test_plus_stops_at_the_highest_rate_and_says_so(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("plus", "plus")  # 0.1, 1
        await pilot.press("asterisk", "asterisk")  # 2, 4 (the key rounds x2 to 3 digits)
        await pilot.press("plus")  # 40 would be beyond the engine's limit: 10
        assert app.runner.latest.hyper.learning_rate == 10
        assert any("learning rate 10, the highest allowed (×10 would be 40)" in n for n in notifications(app))
        await pilot.press("plus")
        assert app.runner.latest.hyper.learning_rate == 10
        assert "learning rate 10 is already the highest allowed" in notifications(app)[-1]


async def test_minus_stops_at_the_lowest_rate_and_says_so():
    app = make_app(hyper=Hyperparameters(learning_rate=5e-12))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("minus")  # 5e-13 is below the floor: 1e-12
        assert app.runner.latest.hyper.learning_rate == 1e-12
        assert any("learning rate 1e-12, the lowest allowed (×0.1 would be 5e-13)" in n for n in notifications(app))
        await pilot.press("minus")
        assert app.runner.latest.hyper.learning_rate == 1e-12
        assert "learning rate 1e-12 is already the lowest allowed" in notifications(app)[-1]


async def test_o_cycles_the_optimizer_without_a_restart(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("N")
        await pilot.press("o")
        assert app.runner.latest.hyper.momentum == 0.9
        assert hyper_row(app, "optimizer") == "optimizer SGD mom. 0.9 o"
        await pilot.press("o")
        assert app.runner.latest.hyper.optimizer == "adam"
        assert hyper_row(app, "optimizer") == "optimizer Adam 0.9/0.999 o"
        assert "step" in app.query_one(ParamTable).text.splitlines()[0]  # the actual change, not -lr×grad
        await pilot.press("o")
        assert app.runner.latest.hyper.optimizer == "sgd" and app.runner.latest.hyper.momentum == 0
        assert app.runner.latest.epoch == 100


async def test_m_cycles_the_model_and_says_the_run_starts_over(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("N")
        await pilot.press("m")
        await pilot.pause()
        s = app.runner.latest
        assert s.setup.model == "poly:3" and s.epoch == 0
        assert hyper_row(app, "model") == "model poly:3 ↺ m"
        assert any("model poly:3: the run starts over" in n for n in notifications(app))
        assert "w1" in app.query_one(ParamTable).text  # one row per coefficient
        await pilot.press("m")
        assert app.runner.latest.setup.model == "mlp:8"
        assert "|grad|" in app.query_one(ParamTable).text  # a summary per layer
        assert "hidden.w" in app.query_one(ParamTable).text


async def test_z_cycles_the_input_normalisation(app):
    async with app.run_test(size=(80, 24)) as pilot:
        transforms = []
        for _ in range(3):
            await pilot.press("z")
            transforms.append(app.runner.latest.setup.input_transform)
            assert app.runner.latest.epoch == 0
        assert transforms == ["none", "standardize", "scale"]
        assert hyper_row(app, "input") == "input 0.1 × raw ↺ z"


async def test_v_holds_out_validation_points_and_s_reseeds_the_split(app):
    async with app.run_test(size=(80, 24)) as pilot:
        assert "no validation split" in app.query_one(OverfitPanel).text
        await pilot.press("v")
        split = app.runner.trainer.split
        assert app.runner.latest.setup.val_fraction == 0.2 and split.val.size == 2
        assert hyper_row(app, "validation") == "validation 20% ↺ v"
        await pilot.press("n")
        assert "val" in app.query_one(OverfitPanel).text and "gap" in app.query_one(OverfitPanel).text
        before = sorted(split.val)
        await pilot.press("s")
        assert app.runner.latest.setup.split_seed == 1
        assert sorted(app.runner.trainer.split.val) != before
        assert hyper_row(app, "split seed") == "split seed 1 ↺ s"


async def test_u_cycles_the_batch_size_and_the_run_goes_on_in_steps(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("N")
        assert hyper_row(app, "batch size") == "batch size full u"
        await pilot.press("u")
        s = app.runner.latest
        assert s.hyper.batch_size == 1 and s.epoch == 100  # the run continues
        assert hyper_row(app, "batch size") == "batch size 1 · 11 steps u"
        await pilot.press("u", "n")
        s = app.runner.latest
        assert s.hyper.batch_size == 4 and s.epoch == 101 and s.step_count == 103  # 100 full + ceil(11 / 4)
        status = app.query_one(StatusBar).text
        assert "step 103 (3/epoch)" in status
        title = str(app.query_one(LossPlot).border_title)
        assert "train mean" in title and "step" in title  # the curve is each epoch's mean; dots, each step
        await pilot.press("u")  # 16 is not smaller than 11 points: back to full batch
        assert app.runner.latest.hyper.batch_size is None
        await pilot.press("n")
        assert "/epoch" not in app.query_one(StatusBar).text and app.runner.latest.step_count == 104


def test_u_offers_the_batch_sizes_the_data_can_have():
    from tui import settings

    assert settings.batch_sizes(11) == [1, 4]
    assert settings.batch_sizes(30) == [1, 4, 16]
    assert settings.batch_sizes(10_000) == [16, 64, 256]  # 1 and 4 would take more than 1,000 steps an epoch


async def test_b_cycles_the_epoch_budget(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("b")
        assert app.runner.latest.hyper.epochs == 20000
        assert "/20,000" in app.query_one(StatusBar).text
        await pilot.press("b", "b")
        assert app.runner.latest.hyper.epochs == 100


async def test_brackets_change_the_speed(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("right_square_bracket")
        assert app.runner.epochs_per_second == 500
        assert hyper_row(app, "speed") == "speed 500/s [ ]"
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert app.runner.epochs_per_second == 100
        for _ in range(20):
            await pilot.press("right_square_bracket")
        assert app.runner.epochs_per_second is None
        assert hyper_row(app, "speed") == "speed max [ ]"


async def test_l_toggles_the_log_scale(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("N")
        plot = app.query_one(LossPlot)
        assert "axis" not in plot.border_title  # linear: only a log axis is named
        await pilot.press("l")
        assert plot.log_scale and "(log axis)" in plot.border_title
        assert "10" in plot.text and "1e" not in plot.text.split("┤")[0]  # decade ticks
        await pilot.press("l")
        assert not plot.log_scale


async def test_shift_e_toggles_early_stopping():
    app = make_app(Setup(input_transform="scale", val_fraction=0.2))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("E")
        assert app.runner.latest.hyper.early_stopping
        assert "early stop on" in app.query_one(OverfitPanel).border_title
        await pilot.press("E")
        assert not app.runner.latest.hyper.early_stopping


async def test_q_quits(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0
    assert app.runner._closed


async def test_space_after_the_budget_says_what_to_do():
    app = make_app(hyper=Hyperparameters(epochs=100))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("N")
        assert app.runner.latest.state == "finished"
        assert "finished" in app.query_one(StatusBar).text
        await pilot.press("space")
        assert not app.runner.running
        assert any("b raises it" in n for n in notifications(app))
