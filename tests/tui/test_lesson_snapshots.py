"""The chapter tools' screens, frozen at 80x24; the landscape and the lesson also at 120x40
(see test_snapshots.py for updating them)."""
from __future__ import annotations

from engine.training.trainer import Hyperparameters, Setup

from pilot_helpers import make_app


def test_preset_picker_at_80x24(snap_compare):
    assert snap_compare(make_app(pretrain=300), terminal_size=(80, 24), press=["p"])


def test_gradient_check_at_80x24(snap_compare):
    app = make_app(Setup(), Hyperparameters(learning_rate=1e-4))
    assert snap_compare(app, terminal_size=(80, 24), press=["g"])


def test_landscape_at_80x24(snap_compare):
    app = make_app(Setup(), Hyperparameters(learning_rate=1e-4), pretrain=100)
    assert snap_compare(app, terminal_size=(80, 24), press=["w"])


def test_landscape_ascii_at_80x24(snap_compare):
    app = make_app(Setup(input_transform="scale"), Hyperparameters(learning_rate=1e-2), pretrain=300,
                   ascii_plots=True)
    assert snap_compare(app, terminal_size=(80, 24), press=["w"])


def test_landscape_zoomed_in_at_80x24(snap_compare):
    """Zoomed in twice: the w tick labels stay whole (they were cut to "0. w")."""
    app = make_app(Setup(), Hyperparameters(learning_rate=1e-4), pretrain=100)
    assert snap_compare(app, terminal_size=(80, 24), press=["w", "i", "i"])


def test_landscape_at_the_minimum_in_the_light_theme_at_80x24(snap_compare):
    """A run that has reached the minimum (one glyph for both), on a light background."""
    app = make_app(pretrain=5000)

    async def light_then_landscape(pilot):
        pilot.app.theme = "light"  # Kepler's own light theme (tui/themes.py)
        await pilot.press("w")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=light_then_landscape)


def test_pinned_ghost_on_the_loss_plot_at_80x24(snap_compare):
    app = make_app(Setup(input_transform="scale"), Hyperparameters(learning_rate=1e-2), pretrain=1000)

    async def pin_then_slower(pilot):
        await pilot.press("k", "slash", "slash", "r", "N", "N", "N")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=pin_then_slower)


def test_lesson_step_five_at_80x24(snap_compare):
    assert snap_compare(make_app(pretrain=300), terminal_size=(80, 24), press=["c", "5"])


def test_landscape_at_120x40(snap_compare):
    app = make_app(Setup(), Hyperparameters(learning_rate=1e-4), pretrain=100)
    assert snap_compare(app, terminal_size=(120, 40), press=["w"])


def test_landscape_with_a_pinned_path_at_120x40(snap_compare):
    app = make_app(Setup(input_transform="scale"), Hyperparameters(learning_rate=1e-2))

    async def pin_then_slower(pilot):
        for _ in range(10):
            await pilot.press("n")  # a snapshot per epoch: a path with some points
        await pilot.press("w", "N", "N", "k", "slash", "slash", "r")
        for _ in range(10):
            await pilot.press("n")
        pilot.app.clear_notifications()  # the toasts would cover the map
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 40), run_before=pin_then_slower)


def test_lesson_steps_at_120x40(snap_compare):
    assert snap_compare(make_app(pretrain=300), terminal_size=(120, 40), press=["c"])


def test_lesson_step_five_at_120x40(snap_compare):
    assert snap_compare(make_app(pretrain=300), terminal_size=(120, 40), press=["c", "5"])
