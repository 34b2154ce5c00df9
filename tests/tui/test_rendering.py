"""Cheap over SSH: a frame repaints only the cells whose data changed."""
from __future__ import annotations

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from tui.widgets.diff_lines import changed_span
from tui.widgets.fit_plot import FitPlot
from tui.widgets.hyper_panel import HyperPanel
from tui.widgets.loss_plot import LossPlot, bin_last
from tui.widgets.param_table import ParamTable
from tui.widgets.plot import nice_ticks, nice_up
from tui.widgets.status_bar import StatusBar

from pilot_helpers import make_app

RED, BLUE = Style(color="red"), Style(color="blue")


def strip(*parts) -> Strip:
    return Strip([Segment(text, style) for text, style in parts])


def test_changed_span_finds_the_differing_cells_only():
    assert changed_span(strip(("loss 3.93", RED)), strip(("loss 3.93", RED))) is None
    assert changed_span(strip(("loss 3.93", RED)), strip(("loss 3.91", RED))) == (8, 9)
    assert changed_span(strip(("ab", RED), ("cd", BLUE)), strip(("ab", RED), ("cd", RED))) == (2, 4)  # a colour change counts
    assert changed_span(strip(("epoch 9", None)), strip(("epoch 10", None))) == (6, 8)


def test_history_is_binned_into_fixed_columns_keeping_the_first_and_last_points():
    epochs = np.arange(1, 1001, dtype=float)
    x, y = bin_last(epochs, epochs * 2, x_max=1000, bins=10)
    assert x[0] == 1 and x[-1] == 1000 and len(x) == 11
    assert np.all(y == 2 * x)


def test_axis_ends_and_ticks_are_round_numbers():
    assert [nice_up(v) for v in (3, 11, 370, 1763.88, 0.03)] == [5, 20, 500, 2000, 0.05]
    assert nice_ticks(0, 500, 3) == [0, 200, 400]
    assert nice_ticks(-8.8, 32.8, 3) == [0, 20]


async def test_an_unchanged_frame_repaints_nothing():
    app = make_app(pretrain=100)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        await pilot.pause()  # the plots follow the numbers by one refresh
        app.show_snapshot(app.runner.latest)
        widgets = (StatusBar, LossPlot, FitPlot, ParamTable, HyperPanel)
        assert {w.__name__: app.query_one(w).repainted_cells for w in widgets} == {w.__name__: 0 for w in widgets}


async def test_a_late_epoch_repaints_a_few_cells_not_the_plot():
    app = make_app(pretrain=3000)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        await pilot.pause()
        loss = app.query_one(LossPlot)
        assert 0 <= loss.repainted_cells < loss.size.area // 10
        assert app.query_one(HyperPanel).repainted_cells == 0
        assert app.query_one(StatusBar).repainted_cells <= 8  # the epoch and step digits


async def test_frames_are_rate_limited_but_a_key_press_shows_at_once():
    app = make_app(fps=2)
    async with app.run_test(size=(80, 24)) as pilot:
        shown = []
        original = app.show_snapshot
        app.show_snapshot = lambda s, plots=True: (shown.append(s.epoch), original(s, plots))
        for epoch in (5, 6, 7):  # three worker snapshots in quick succession
            app.runner.trainer.train(1)
            app.snapshot_from_worker(app.runner.trainer.snapshot())
        await pilot.pause()
        assert len(shown) <= 1  # at most one frame inside the 0.5 s budget
        await pilot.press("plus")
        assert app.query_one(HyperPanel).text.count("learning rate 0.1") == 1  # at once, not at the next frame


async def test_a_snapshot_queued_before_a_key_press_does_not_undo_it_on_screen(app):
    from tui.messages import SnapshotReady

    async with app.run_test(size=(80, 24)) as pilot:
        stale = app.runner.latest  # lr 0.01, delivered before the key press...
        sequence = app._delivered
        app.action_lr_up()  # lr 0.1, shown at once
        app.post_message(SnapshotReady(stale, sequence))  # ...but handled after it
        await pilot.pause()
        app.frame()  # draw whatever is pending now rather than at the next frame time
        assert "learning rate 0.1 " in app.query_one(HyperPanel).text
        assert app.snapshot.hyper.learning_rate == 0.1
