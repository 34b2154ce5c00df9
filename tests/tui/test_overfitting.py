"""Too much freedom: a 1-24-1 network on 8 training points. The panel shows the gap, the best
validation epoch and, once validation loss has stayed above its best, a plain notice."""
from __future__ import annotations

from tui.widgets.loss_plot import LossPlot
from tui.widgets.overfit_panel import OverfitPanel

from pilot_helpers import overfitting_app


async def test_overfitting_notice_appears_with_the_epoch():
    app = overfitting_app(pretrain=300)
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(OverfitPanel)
        assert "overfitting" not in panel.text
        assert "validation loss still improving" in panel.text
        await pilot.press("N", "N")  # to epoch 500; the best validation epoch is 346
        s = app.runner.latest
        assert s.overfitting_since == 346
        text = panel.text
        assert "⚠ overfitting since epoch 346" in text
        assert f"val above its best for {s.epoch - 346} epochs" in text
        assert "best val 3.822 at epoch 346" in text
        assert "gap +" in text  # validation loss above training loss
        assert panel.has_class("-overfitting")
        assert "best val epoch 346" == app.query_one(LossPlot).border_subtitle  # marked on the plot too


async def test_early_stopping_stops_and_goes_back_to_the_best_epoch():
    app = overfitting_app(pretrain=300)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("E", "N", "N")
        s = app.runner.latest
        assert s.stopped_early and s.state == "finished"
        assert "stopped early: back to epoch 346" in app.query_one(OverfitPanel).text
        assert not app.query_one(OverfitPanel).has_class("-overfitting")


async def test_space_after_early_stopping_says_the_run_is_over():
    from pilot_helpers import notifications

    app = overfitting_app(pretrain=300)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("E", "N", "N", "space")
        assert not app.runner.running
        assert any("Early stopping ended the run" in n for n in notifications(app))
