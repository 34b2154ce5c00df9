"""One run, one truth, as a user sees it: stepping back shows exactly what the screen showed
at that epoch going forward; keys that cannot act now say why; moving the landscape's start
leaves a paused run paused."""
from __future__ import annotations

from engine.training.trainer import Hyperparameters, Setup
from tui.screens.landscape import LandscapeScreen
from tui.widgets.fit_plot import FitPlot
from tui.widgets.hyper_panel import HyperPanel
from tui.widgets.overfit_panel import OverfitPanel
from tui.widgets.param_table import ParamTable
from tui.widgets.status_bar import StatusBar

from pilot_helpers import make_app, notifications

PANELS = (StatusBar, ParamTable, HyperPanel, OverfitPanel, FitPlot)


def panels(app) -> dict:
    return {panel.__name__: app.query_one(panel).text for panel in PANELS}


async def test_stepping_back_shows_what_the_screen_showed_at_that_epoch():
    app = make_app(Setup(input_transform="scale", val_fraction=0.2),
                   Hyperparameters(optimizer="adam", learning_rate=0.1), pretrain=97)
    async with app.run_test(size=(80, 24)) as pilot:
        shown = {}
        for _ in range(3):
            await pilot.press("n")
            shown[app.snapshot.epoch] = panels(app)
        for epoch in (99, 98):
            await pilot.press("backspace")
            assert app.snapshot.epoch == epoch
            assert panels(app) == shown[epoch]
        await pilot.press("n", "n")  # and on again: the same run
        assert panels(app) == shown[100]


async def test_the_fix_keys_say_why_when_nothing_diverged(app):
    async with app.run_test(size=(80, 24)) as pilot:
        for key in "123":
            await pilot.press(key)
            assert "has not diverged" in notifications(app)[-1]
        assert app.snapshot.epoch == 0 and app.snapshot.hyper.learning_rate == 1e-2  # nothing changed


async def test_moving_the_start_on_the_landscape_leaves_a_paused_run_paused(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n", "n", "w")
        assert isinstance(app.screen, LandscapeScreen)
        await pilot.press("right")
        s = app.snapshot
        assert s.epoch == 0 and s.setup.init_w > 1.0
        assert not app.runner.running and s.state == "ready"
        await pilot.press("n")  # ready to step from the new start
        assert app.snapshot.epoch == 1
