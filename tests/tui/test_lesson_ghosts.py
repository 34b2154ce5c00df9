"""Pinned runs: an earlier loss curve stays on the loss plot, dimmed, while the next trains."""
from __future__ import annotations

import numpy as np

from tui.widgets.loss_plot import LossPlot

from pilot_helpers import notifications


async def test_k_pins_the_run_and_the_ghost_stays_through_a_new_run(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("N")
        pinned = app.runner.latest.history
        await pilot.press("k")
        plot = app.query_one(LossPlot)
        assert len(plot.ghosts) == 1
        ghost = plot.ghosts[0]
        assert ghost.epochs[-1] == 100
        np.testing.assert_allclose(ghost.train_loss, pinned.train_loss)
        assert "··1 same settings" in plot.border_title  # numbered; nothing differs yet
        assert any("Pinned: linear, 0.1 × raw, SGD lr 0.01" in n for n in notifications(app))
        await pilot.press("minus", "r", "N")  # a gentler rate, from the start
        await pilot.pause()
        assert len(plot.ghosts) == 1 and "·" in plot.text  # the ghost's dots under the live curve
        assert "··1 lr 0.01" in plot.border_title  # what the pinned run had that this one has not


async def test_several_ghosts_and_shift_k_clears_them(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("N", "k", "r", "n", "k")
        plot = app.query_one(LossPlot)
        assert len(plot.ghosts) == 2 and "2 pinned (P)" in plot.border_title  # no room for both at 80x24:
        assert plot.text.splitlines()[0] == "··1 same settings ··2 same settings"  # a legend line above the plot
        for _ in range(6):
            await pilot.press("k")
        assert len(plot.ghosts) == 5  # the oldest go first
        await pilot.press("K")
        assert plot.ghosts == () and "pinned" not in plot.border_title


async def test_pinning_before_training_says_why_not(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("k")
        assert app.query_one(LossPlot).ghosts == ()
        assert any("Nothing to pin yet" in n for n in notifications(app))


async def test_ghosts_make_the_loss_axis_long_enough_for_the_longest_run(app):
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(3):
            await pilot.press("N")
        await pilot.press("k", "r", "n")
        await pilot.pause()
        # one epoch in, the axis still reaches the pinned run's 300 epochs (it ends, labelled, at 500)
        assert app.query_one(LossPlot).text.rstrip().splitlines()[-1].split()[-1] == "500"
