"""Plots a class can read from the back of the room, at 80x24 as at 120x40: every axis says
what it is (with units where the data has them), the loss axis spans the epoch budget in
readable ticks, the validation curve stays visible where it meets the training curve, and
no text is cut."""
from __future__ import annotations

import re

import pytest

from engine.lesson.presets import preset
from engine.training.trainer import Hyperparameters, Setup
from tui.widgets.fit_plot import FitPlot
from tui.widgets.loss_plot import LossPlot
from tui.widgets.overfit_panel import OverfitPanel
from tui.widgets.status_bar import StatusBar

from pilot_helpers import make_app, overfitting_app

SIZES = [(80, 24), (120, 40)]
VAL_MARKS = set(chr(c) for c in range(0x2580, 0x25A0))  # the half and quarter blocks of the "hd" marker
BRAILLE = set(chr(c) for c in range(0x2801, 0x2900))


def lines_of(widget) -> list[str]:
    return widget.text.split("\n")


def bottom_frame(widget) -> int:
    return next(i for i, line in enumerate(lines_of(widget)) if "└" in line)


def tick_labels(widget) -> list[str]:
    return lines_of(widget)[bottom_frame(widget) + 1].split()


@pytest.mark.parametrize("size", SIZES)
async def test_every_plot_says_what_its_axes_are_with_units(size):
    app = make_app(pretrain=300)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        loss, fit = app.query_one(LossPlot), app.query_one(FitPlot)
        assert "┌ loss (°C²) ─" in loss.text  # a mean squared error of t_c in °C
        assert " epoch ─" in lines_of(loss)[bottom_frame(loss)]
        assert "┌ t_c (°C) ─" in fit.text
        assert " t_u ─" in lines_of(fit)[bottom_frame(fit)]


async def test_a_csv_s_own_column_names_label_the_fit_at_once(tmp_path):
    springs = tmp_path / "springs.csv"
    springs.write_text("mass,length\n100,2.1\n200,3.9\n300,6.2\n400,8.0\n", encoding="utf-8")
    app = make_app(pretrain=100)
    async with app.run_test(size=(80, 24)) as pilot:
        app.tell(app.controller.open_csv(str(springs), None, None))
        await pilot.pause()
        assert app.snapshot.epoch == 0  # no step yet: the new data's axis all the same
        fit, loss = app.query_one(FitPlot), app.query_one(LossPlot)
        assert "┌ length ─" in fit.text and " mass ─" in lines_of(fit)[bottom_frame(fit)]
        assert tick_labels(fit)[0] == "100" and tick_labels(fit)[-1] == "400"
        assert "┌ loss ─" in loss.text  # no unit known for these columns


@pytest.mark.parametrize("size", SIZES)
async def test_the_loss_axis_spans_the_budget_and_no_more(size):
    p = preset("split")  # 3,000 epochs
    app = make_app(p.setup, p.hyper, pretrain=3000)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        ticks = tick_labels(app.query_one(LossPlot))
        assert ticks[0] == "0" and ticks[-1] == "3000"


async def test_a_long_budget_reads_20k_not_2e4():
    app = make_app(hyper=Hyperparameters(learning_rate=1e-2, epochs=20_000), pretrain=12_000)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        ticks = tick_labels(app.query_one(LossPlot))
        assert ticks[-1] == "20k" and not any("e" in t for t in ticks)


def test_epoch_ticks_end_at_the_budget():
    from tui.widgets.loss_plot import epoch_label, epoch_ticks

    assert epoch_ticks(3000, 36) == [0, 1000, 2000, 3000]
    assert epoch_ticks(5000, 36)[-1] == 5000 and epoch_ticks(100, 36)[-1] == 100
    assert all(t == int(t) for t in epoch_ticks(1, 36))  # a one-epoch budget: whole epochs only
    assert [epoch_label(t) for t in (0, 2000, 10_000, 100_000)] == ["0", "2000", "10k", "100k"]


def dip_columns(plot: LossPlot, line_mark: str) -> tuple[int, list[str]]:
    """The best epoch's column (its dotted line) and the plot's lines."""
    lines = lines_of(plot)
    columns = {line.index(line_mark) for line in lines if line_mark in line}
    assert len(columns) == 1, plot.text
    return columns.pop(), lines


@pytest.mark.parametrize("log_scale", [False, True])
async def test_the_validation_curve_shows_at_its_dip_where_it_meets_training(log_scale):
    app = overfitting_app(pretrain=3000)  # best validation epoch 947, then it climbs
    async with app.run_test(size=(80, 24)) as pilot:
        if log_scale:
            await pilot.press("l")
        plot = app.query_one(LossPlot)
        best, lines = dip_columns(plot, "┆")
        assert any(line[best:best + 1] == "◆" for line in lines)  # the best epoch marked on the curve
        # Around the dip both curves are in the same few cells: validation's marks show there.
        for column in (best - 2, best - 1, best + 1, best + 2):
            assert any(len(line) > column and line[column] in VAL_MARKS for line in lines), (column, plot.text)
        # ... and training is still seen where the curves part.
        assert sum(ch in BRAILLE for line in lines for ch in line) >= 5


async def test_the_validation_curve_shows_at_its_dip_in_ascii():
    app = overfitting_app(pretrain=3000, ascii_plots=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        plot = app.query_one(LossPlot)
        best, lines = dip_columns(plot, ":")
        assert any(line[best:best + 1] == "@" for line in lines)
        for column in (best - 1, best + 1):
            assert any(len(line) > column and line[column] == "+" for line in lines), (column, plot.text)


async def test_the_train_val_panel_is_never_cut_at_80x24():
    app = overfitting_app()
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(OverfitPanel)
        width = panel.content_size.width
        for _ in range(30):
            await pilot.press("N")  # 100 epochs
            s = app.snapshot
            lines = lines_of(panel)
            assert all(len(line) <= width for line in lines)
            gap = re.search(r"gap ([-+][0-9.e+-]+)$", lines[0])
            assert gap, lines[0]
            assert float(gap.group(1)) == pytest.approx(s.val_loss - s.train_loss, rel=0.01, abs=1e-3), lines[0]
            if s.overfitting_since is not None:
                rising = f"{s.epoch - s.overfitting_since:,} epochs"
                assert lines[-1] in (f"val above its best for {rising}", f"val above best for {rising}"), lines[-1]
        assert s.overfitting_since is not None  # the run did get there


async def test_the_status_line_says_less_rather_than_half_at_80x24():
    app = make_app(Setup(), Hyperparameters(learning_rate=1e-3, epochs=5000), pretrain=20)  # exploding
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        s = app.snapshot
        assert s.warning and s.divergence is None
        text = app.query_one(StatusBar).text
        assert text.endswith("⚠ the loss is exploding: 1.46e+26x its starting value"), text
        assert len(text) <= 80


async def test_a_late_divergence_keeps_its_label_whole():
    # lr 3.46e-4 on the raw readings overflows at epoch 1,127: the curve climbs to the top
    # row right where the label used to end, and overwrote its last digit.
    app = make_app(Setup(), Hyperparameters(learning_rate=3.46e-4, epochs=5000), pretrain=5000)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.snapshot.divergence.epoch == 1127
        assert "inf at epoch 1,127" in app.query_one(LossPlot).text


async def test_a_long_fix_wraps_whole_in_the_divergence_panel_at_80x24():
    from tui.widgets.divergence_panel import DivergencePanel

    app = make_app(Setup(), Hyperparameters(learning_rate=3.46e-4, epochs=5000), pretrain=5000)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panel = app.query_one(DivergencePanel)
        assert all(len(line) <= panel.content_size.width for line in lines_of(panel))
        assert "lr 0.000346 → 3.46e-06" in " ".join(panel.text.split())


async def test_a_budget_lowered_below_the_epochs_run_ends_the_axis_at_the_last_epoch():
    app = make_app(hyper=Hyperparameters(learning_rate=1e-2, epochs=100_000), pretrain=3000)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert tick_labels(app.query_one(LossPlot))[-1] == "5000"  # a round number past the run
        await pilot.press("b")  # 100,000 -> 100, paused: no step in between
        assert app.snapshot.hyper.epochs == 100 and app.snapshot.epoch == 3000
        assert tick_labels(app.query_one(LossPlot))[-1] == "3000"


async def test_early_epochs_are_not_squeezed_into_a_column():
    app = make_app(pretrain=100)  # a 5,000-epoch budget, 100 epochs run
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert tick_labels(app.query_one(LossPlot))[-1] == "100"


def test_axis_labels_go_in_the_frame_and_never_cover_a_tick():
    from rich.text import Text

    from tui.widgets.plot import label_axes

    frame = ["   ┌──────────────────────┐", "100┤                      │",
             "   └┬──────────┬───────┬──┘", "    0         10      20"]
    top, _, bottom, ticks = (line.plain for line in label_axes([Text(x) for x in frame],
                                                                ("t_u (unknown unit)", "t_u"), ("t_c (°C)", "t_c")))
    assert top.startswith("   ┌ t_c (°C) ──") and top.endswith("─┐") and len(top) == len(frame[0])
    assert bottom.endswith("┬─ t_u ─┬──┘") and len(bottom) == len(frame[2])  # the long form has no room
    assert [i for i, ch in enumerate(bottom) if ch == "┬"] == [i for i, ch in enumerate(frame[2]) if ch == "┬"]
    assert ticks == frame[3]
    narrow = label_axes([Text("  ┌─────┐"), Text("  └┬───┬┘")], ("epoch",), ("loss (°C²)", "loss"))
    assert narrow[0].plain == "  ┌─────┐" and narrow[1].plain == "  └┬───┬┘"  # no room: no label, no damage


async def test_where_validation_covers_training_the_cell_keeps_both():
    """The book's split: validation lies on training for most of the run. Those cells show
    the validation mark over a wash of the training colour; no other cell has the wash."""
    from tui.widgets.loss_plot import TRAIN_MARKS, VAL_MARKS

    p = preset("split")
    app = make_app(p.setup, p.hyper, pretrain=3000)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        plot = app.query_one(LossPlot)
        washed, marks = [], []
        for strip in plot._strips:
            column = 0
            for segment in strip:
                for ch in segment.text:
                    if segment.style and segment.style.bgcolor and segment.style.bgcolor != plot.rich_style.bgcolor:
                        washed.append(ch)
                    marks.append(ch)
                    column += 1
        assert len(washed) >= 10 and set(washed) <= VAL_MARKS, washed
        assert any(ch in TRAIN_MARKS for ch in marks)  # training alone, where the curves part
