"""The table of pinned runs (P): each pinned run's settings, what differs from the run on
screen, its final training loss and its best validation loss with the epoch, read from its
own recorded history: the numbers the Train/val panel showed when it was pinned."""
from __future__ import annotations

import numpy as np

from engine.lesson.presets import preset
from engine.training.trainer import Hyperparameters, Setup
from tui.screens.pinned_runs import PinnedRunsScreen, loss_text
from tui.screens.trainer import TrainerScreen
from tui.widgets.overfit_panel import OverfitPanel

from pilot_helpers import burst, make_app


def rows(app) -> list[list[str]]:
    """The table's rows as cells: [#, settings..., final train, best val, epoch]."""
    return [line.split() for line in app.screen.text.splitlines()]


async def test_the_table_gives_each_pinned_runs_own_numbers_and_what_differs():
    p = preset("overfit")  # a 1-24-1 network on 8 points: validation turns up
    app = make_app(p.setup, p.hyper)
    async with app.run_test(size=(120, 40)) as pilot:
        app.controller.step(1500)
        await pilot.pause()
        shown = app.runner.latest
        assert shown.overfitting_since is not None
        panel = app.query_one(OverfitPanel).text
        await pilot.press("k", "minus", "r", "n")  # pinned; then a smaller rate, one epoch in
        (ghost,) = app.pinned_ghosts
        assert ghost.final_train_loss == float(shown.history.train_loss[-1])
        assert ghost.best_validation == (shown.best_val_loss, shown.best_val_epoch)
        await pilot.press("P")
        assert isinstance(app.screen, PinnedRunsScreen)
        text = app.screen.text
        first = next(line for line in text.splitlines() if line.lstrip().startswith("1 "))
        assert first.split()[-3:] == [loss_text(ghost.final_train_loss), loss_text(shown.best_val_loss),
                                      f"{shown.best_val_epoch:,}"]
        # the same best validation loss and epoch the Train/val panel showed at the time
        assert f"at epoch {shown.best_val_epoch:,}" in panel
        assert "≠ lr 0.05" in text  # the pinned run had lr 0.05; this one has 0.005
        now = next(line for line in text.splitlines() if line.lstrip().startswith("now "))
        assert now.split()[-3:-2] == [loss_text(float(app.snapshot.history.train_loss[-1]))]
        await pilot.press("escape")
        assert isinstance(app.screen, TrainerScreen)


async def test_a_best_epoch_thinned_out_of_the_plot_is_kept_in_the_pinned_history():
    p = preset("overfit")
    app = make_app(p.setup, p.hyper)
    async with app.run_test(size=(100, 30)) as pilot:
        app.controller.step(3000)  # 3,000 epochs: the plotted history keeps 512 of them
        await pilot.pause()
        shown = app.runner.latest
        assert shown.best_val_epoch not in shown.history.epochs  # thinned out of the plotted curve
        await pilot.press("k")
        (ghost,) = app.pinned_ghosts
        assert ghost.best_validation == (shown.best_val_loss, shown.best_val_epoch)
        at = int(np.flatnonzero(ghost.epochs == shown.best_val_epoch)[0])
        assert ghost.val_loss[at] == shown.best_val_loss and np.isfinite(ghost.train_loss[at])
        assert ghost.epochs.size == shown.history.epochs.size + 1 and np.all(np.diff(ghost.epochs) > 0)


async def test_p_with_nothing_pinned_says_how_to_pin():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("P")
        assert "Nothing pinned yet: k keeps the run" in app.screen.text


async def test_a_run_without_a_split_shows_dashes_for_validation():
    app = make_app(Setup(input_transform="scale", input_scale=0.1), Hyperparameters(learning_rate=1e-2))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("N", "k", "P")
        one = next(line for line in app.screen.text.splitlines() if line.lstrip().startswith("1 "))
        assert one.split()[-2:] == ["—", "—"]


async def test_the_palette_offers_the_table():
    app = make_app()
    async with app.run_test(size=(80, 24)):
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert any("pinned runs side by side" in t and t.endswith("(P)") for t in titles)


async def test_a_burst_of_keys_opens_the_table_once():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("N", "k")
        await burst(pilot, "P", "P", "escape", "escape", "P", "enter")
        assert app.screen_stack == [app.trainer_screen]


async def test_a_run_on_a_file_a_setup_string_cannot_name_is_pinned_by_its_label(tmp_path):
    path = tmp_path / 'odd"name.csv'
    path.write_text("x,y\n1,2\n2,4\n3,7\n4,8\n")
    app = make_app(Setup(dataset=str(path), input_transform="standardize"), Hyperparameters(learning_rate=0.1))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("N", "k", "P")
        (ghost,) = app.pinned_ghosts
        assert ghost.settings is None and ghost.label.startswith('odd"name.csv: linear')
        assert "(its settings were not kept" in app.screen.text


async def test_five_pinned_runs_at_80x24_tell_what_fits_and_count_the_rest():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(5):  # each pinned, then the rate halved: five runs, five rates
            await pilot.press("n", "k", "slash", "r")
        await pilot.press("n")
        await pilot.pause()
        from tui.widgets.loss_plot import LossPlot

        plot = app.query_one(LossPlot)
        assert "5 pinned (P)" in plot.border_title
        legend = plot.text.splitlines()[0]
        assert legend.startswith("··1 lr 0.01 ··2 lr 0.005 ") and legend.endswith(" (P)")
        told = legend.count("··")
        assert 2 <= told < 5 and legend.endswith(f"+{5 - told} (P)")
