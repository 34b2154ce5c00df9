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
        await pilot.pause()
        app.trainer_screen.draw(app.snapshot)  # the same snapshot again
        widgets = (StatusBar, LossPlot, FitPlot, ParamTable, HyperPanel)
        assert {w.__name__: app.query_one(w).repainted_cells for w in widgets} == {w.__name__: 0 for w in widgets}


async def test_a_late_epoch_repaints_a_few_cells_not_the_plot():
    app = make_app(pretrain=3000)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()  # the layout settles (the plots take their final size)
        await pilot.press("n")  # ready -> paused: the status line changes its first word
        await pilot.press("n")
        await pilot.pause()
        loss = app.query_one(LossPlot)
        assert 0 <= loss.repainted_cells < loss.size.area // 10
        assert app.query_one(HyperPanel).repainted_cells == 0
        status = app.query_one(StatusBar)
        # From the epoch's last digit to the step's: one span of the line, not the line.
        assert 0 < status.repainted_cells <= 20 < status.size.width


async def test_frames_are_rate_limited_but_a_key_press_shows_at_once():
    app = make_app(fps=2)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.trainer_screen
        now = [1000.0]
        screen.clock = lambda: now[0]  # time stands still unless the test moves it

        async def worker_snapshot():
            app.runner.trainer.train(1)  # as the worker would, one snapshot per turn of the loop
            app.snapshot_from_worker(app.runner.trainer.snapshot())
            await pilot.pause()

        frames = screen.frames
        for _ in range(3):
            await worker_snapshot()
        assert screen.frames == frames + 1 and screen.snapshot.epoch == 1  # the first at once, then wait
        now[0] += 0.5  # a frame time (1/fps) later, the newest is drawn, the ones between are skipped
        await worker_snapshot()
        assert screen.frames == frames + 2 and screen.snapshot.epoch == 4
        await pilot.press("plus")  # inside the frame time, but a key press is shown at once
        assert screen.frames == frames + 3
        assert app.query_one(HyperPanel).text.count("learning rate 0.1") == 1


async def test_every_panel_of_a_frame_shows_the_same_epoch():
    """The fit's equation, the parameter table and the status line come from one snapshot."""
    app = make_app(fps=2)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.trainer_screen
        for epochs in (1, 7, 30):
            app.runner.trainer.train(epochs)
            app.snapshot_from_worker(app.runner.trainer.snapshot())
            await pilot.pause()
            screen.frame()
            s = screen.snapshot
            w, b = s.raw_line
            assert f"epoch {s.epoch}/" in app.query_one(StatusBar).text
            assert f"{w:.4f}" in app.query_one(FitPlot).text.replace("−", "-")
            table = app.query_one(ParamTable).text
            assert f"{float(s.params['w']):.4f}"[:6] in table and f"{float(s.params['b']):.4f}"[:6] in table
