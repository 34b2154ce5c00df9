"""Zoom (`f`): the focused plot alone between the status line and the keys, and back; drawn
from the same snapshots as the normal screen, through bursts and resizes."""
from __future__ import annotations

import pytest

from engine.training.trainer import Hyperparameters, Setup
from tui.widgets.fit_plot import FitPlot
from tui.widgets.hyper_panel import HyperPanel
from tui.widgets.loss_plot import LossPlot

from pilot_helpers import burst, make_app

SPLIT = dict(setup=Setup(input_transform="scale", val_fraction=0.2), hyper=Hyperparameters(epochs=5000))
PANELS = {"loss": (LossPlot, ()), "fit": (FitPlot, ("tab", "tab"))}  # keys that focus it, from the start


def test_the_loss_curve_zoomed_at_80x24(snap_compare):
    assert snap_compare(make_app(pretrain=1000, **SPLIT), terminal_size=(80, 24), press=["f"])


def test_the_fit_zoomed_at_80x24(snap_compare):
    assert snap_compare(make_app(pretrain=1000, **SPLIT), terminal_size=(80, 24), press=["tab", "tab", "f"])


def test_the_fit_zoomed_at_120x40(snap_compare):
    assert snap_compare(make_app(pretrain=1000, **SPLIT), terminal_size=(120, 40), press=["tab", "tab", "f"])


def test_the_loss_curve_zoomed_in_high_contrast_at_120x40(snap_compare):
    app = make_app(pretrain=1000, theme_name="high-contrast", **SPLIT)
    assert snap_compare(app, terminal_size=(120, 40), press=["f"])


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@pytest.mark.parametrize("name", list(PANELS))
async def test_f_zooms_the_focused_plot_and_f_or_escape_bring_it_back(size, name):
    kind, focus_keys = PANELS[name]
    app = make_app(pretrain=300, **SPLIT)
    async with app.run_test(size=size) as pilot:
        screen = app.trainer_screen
        panel = screen.query_one(kind)
        await pilot.pause()
        normal = panel.region
        for back in ("f", "escape"):
            await pilot.press(*focus_keys, "f")
            assert screen.maximized is panel and app.focused is panel
            width, height = size
            # Everything between the status line (top) and the keys (bottom).
            assert panel.region.width == width and panel.region.height == height - 2 and panel.region.y == 1
            assert screen.query_one("#status").region.y == 0
            assert not screen.query_one(HyperPanel).region  # the other panels are off the screen
            assert panel.content_size.width > normal.width - 4  # the plot itself was redrawn at the new size
            await pilot.press(back)
            await pilot.pause()
            assert screen.maximized is None and panel.region == normal
            assert app.focused is (screen.query_one(HyperPanel) if name == "loss" else panel)
            app.set_focus(screen.query_one(HyperPanel))  # as at the start, for the second way back


async def test_with_the_focus_on_the_hyperparameters_f_zooms_the_loss_curve_and_gives_the_keys_back():
    app = make_app(pretrain=30)
    async with app.run_test(size=(80, 24)) as pilot:
        hyper = app.trainer_screen.query_one(HyperPanel)
        assert app.focused is hyper
        await pilot.press("f")
        assert app.trainer_screen.maximized is app.trainer_screen.query_one(LossPlot)
        await pilot.press("down")  # goes to the zoomed plot, not to the hidden hyperparameter rows
        await pilot.press("f")
        assert app.focused is hyper and hyper.cursor == 0
        await pilot.press("down")
        assert hyper.cursor == 1


async def test_the_zoomed_plot_follows_the_run_from_the_screens_snapshot():
    app = make_app(pretrain=100, **SPLIT)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("tab", "tab", "f")
        fit = app.trainer_screen.query_one(FitPlot)
        assert app.trainer_screen.maximized is fit
        before = fit.text
        await pilot.press("N")  # a hundred epochs, while zoomed
        assert fit.snapshot is app.trainer_screen.snapshot and fit.snapshot.epoch == 200
        assert fit.text != before and f"{fit.snapshot.raw_line[0]:.4f}" in fit.text
        # The panels behind the zoom were drawn from the same snapshot: back, they are current.
        await pilot.press("f")
        assert app.trainer_screen.query_one(LossPlot).snapshot is fit.snapshot


async def test_a_burst_of_zoom_keys_ends_where_the_count_says():
    app = make_app(pretrain=50)
    async with app.run_test(size=(80, 24)) as pilot:
        loss = app.trainer_screen.query_one(LossPlot)
        await burst(pilot, "f", "f", "f")
        assert app.trainer_screen.maximized is loss
        await burst(pilot, "escape", "f", "escape", "escape", "f")  # f and escape in the order they came
        assert app.trainer_screen.maximized is loss
        await burst(pilot, "f", "f", "escape", "n", "n")
        assert app.trainer_screen.maximized is None and app.snapshot.epoch == 52
        assert app.focused is app.trainer_screen.query_one(HyperPanel)
        # Tab right after leaving the zoom, in the same burst, moves the focus by the layout
        # Textual had before it (a Textual limit): some plot is zoomed, never anything else.
        await burst(pilot, "f", "escape", "tab", "f", "f", "tab", "f")
        assert isinstance(app.trainer_screen.maximized, (LossPlot, FitPlot))
        await pilot.press("escape")
        assert app.trainer_screen.maximized is None and app.screen_stack == [app.trainer_screen]


async def test_a_zoomed_plot_survives_resizes_even_to_where_it_is_normally_hidden():
    app = make_app(pretrain=300, **SPLIT)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("tab", "tab", "f")
        fit = app.trainer_screen.query_one(FitPlot)
        for size in ((80, 24), (80, 20), (120, 40), (90, 22)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            assert app.trainer_screen.maximized is fit
            assert fit.region.width == size[0] and fit.region.height == size[1] - 2
            assert fit.content_size.width >= size[0] - 2 and "t_u" in fit.text  # redrawn for this size
        await pilot.press("escape")
        assert not fit.display or not fit.region  # at 22 rows the fit has no room beside the loss curve
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert fit.region.height > 9 and "t_c" in fit.text
