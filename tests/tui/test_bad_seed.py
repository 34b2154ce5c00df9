"""A negative split seed in the app (issue 9, defect 6): typing -1 then pressing `v` killed
the app; now the seed is refused with a message and the run is kept."""
from __future__ import annotations

from textual.widgets import Input, Static

from tui.screens.setting_dialog import SettingDialog
from tui.widgets.hyper_panel import HyperPanel

from pilot_helpers import make_app


async def test_a_negative_split_seed_is_refused_and_v_still_works():
    app = make_app(pretrain=100)
    async with app.run_test(size=(80, 24)) as pilot:
        before = app.runner.latest
        app.query_one(HyperPanel).select("split_seed")
        await pilot.press("enter")
        assert isinstance(app.screen, SettingDialog)
        app.screen.query_one(Input).value = "-1"
        await pilot.press("enter")
        assert isinstance(app.screen, SettingDialog), "a bad value keeps the dialog open"
        error = app.screen.query_one("#dialog-error", Static)
        assert "split seed must be a whole number in 0.." in str(error.render())
        assert app.runner.trainer.setup == before.setup and app.runner.latest.epoch == 100
        await pilot.press("escape")
        await pilot.press("v")  # hold out 20%: the split is shuffled with the (unchanged) seed
        assert app.runner.latest.setup.val_fraction > 0 and app.runner.latest.setup.split_seed == 0
        assert app.is_running
