"""The dataset picker with its suggested setups, and the table of pinned runs, frozen at
80x24 and 120x40 (see test_snapshots.py for updating them)."""
from __future__ import annotations

from engine.training.trainer import Hyperparameters, Setup

from pilot_helpers import make_app


def test_dataset_picker_with_the_overfit_suggestion_at_80x24(snap_compare):
    assert snap_compare(make_app(pretrain=300), terminal_size=(80, 24), press=["d", "up"])


def test_dataset_picker_with_the_overfit_suggestion_at_120x40(snap_compare):
    assert snap_compare(make_app(pretrain=300), terminal_size=(120, 40), press=["d", "up"])


def three_pinned_runs_app():
    return make_app(Setup(input_transform="scale", input_scale=0.1, val_fraction=0.2),
                    Hyperparameters(learning_rate=1e-2), pretrain=300)


async def pin_three_runs(pilot) -> None:
    """lr 0.01, then lr 0.001, then Adam on the raw readings, each 300 epochs and pinned;
    the run on screen is that last one, 300 epochs in again."""
    await pilot.press("k", "minus", "r", "N", "N", "N", "k", "o", "o", "z", "N", "N", "N", "k", "r", "N", "N", "N")
    pilot.app.clear_notifications()  # the picture is of the plot and the table, not of the toasts
    await pilot.pause()


def test_pinned_runs_labelled_on_the_loss_plot_at_120x40(snap_compare):
    assert snap_compare(three_pinned_runs_app(), terminal_size=(120, 40), run_before=pin_three_runs)


def test_pinned_runs_labelled_on_the_loss_plot_at_80x24(snap_compare):
    assert snap_compare(three_pinned_runs_app(), terminal_size=(80, 24), run_before=pin_three_runs)


def test_table_of_pinned_runs_at_80x24(snap_compare):
    async def and_the_table(pilot):
        await pin_three_runs(pilot)
        await pilot.press("P")

    assert snap_compare(three_pinned_runs_app(), terminal_size=(80, 24), run_before=and_the_table)


def test_table_of_pinned_runs_at_120x40(snap_compare):
    async def and_the_table(pilot):
        await pin_three_runs(pilot)
        await pilot.press("P")

    assert snap_compare(three_pinned_runs_app(), terminal_size=(120, 40), run_before=and_the_table)
