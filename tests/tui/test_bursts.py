"""Keys in bursts (a slow SSH link delivers several in one read): a dialog, a picker or the
command palette is dismissed once, its choice applied once, and nothing crashes."""
from __future__ import annotations

import pytest
from textual.widgets import Input

from tui.screens.trainer import TrainerScreen

from pilot_helpers import burst, make_app, notifications


@pytest.mark.parametrize("keys", [
    ("p", "enter", "enter"),  # the preset picker
    ("p", "7", "7", "enter"),  # the preset picker, by number
    ("d", "enter", "enter"),  # the dataset picker
    ("d", "up", "t", "t", "enter"),  # the dataset picker's suggested setup
    ("c", "enter", "enter", "enter"),  # the lesson's steps
    ("question_mark", "escape", "escape"),  # the help
    ("ctrl+p", "s", "e", "t", "u", "p", "enter", "enter", "enter"),  # the command palette
    ("g", "escape", "escape", "g", "escape"),  # the gradient check
    ("w", "escape", "escape"),  # the landscape
    ("B", "n", "n", "p", "escape", "escape", "B", "r", "escape"),  # the backprop view
    ("n", "k", "P", "P", "P", "escape", "escape"),  # the table of pinned runs
    ("f", "f", "f", "escape", "escape", "tab", "f", "escape", "escape"),  # zoom
    ("f", "question_mark", "escape", "escape", "f"),  # the help over a zoomed plot
    ("r", "M", "escape", "escape", "M"),  # the session's messages
])
async def test_a_burst_of_keys_leaves_the_trainer_on_screen(keys):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await burst(pilot, *keys)
        assert app.is_running and isinstance(app.screen_stack[0], TrainerScreen)
        for _ in range(3):  # what the burst opened last (a palette command opens its dialog later)
            if len(app.screen_stack) > 1:
                await pilot.press("escape")
        assert app.screen_stack == [app.trainer_screen]


async def test_two_enters_in_a_save_dialog_save_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+s")
        await burst(pilot, "enter", "enter")
        assert isinstance(app.screen, TrainerScreen)
        assert [m for m in notifications(app) if m.startswith("Saved to")] == ["Saved to kepler-session.json (ctrl+l loads it)"]
        await pilot.press("ctrl+l")
        await burst(pilot, "enter", "enter")
        assert isinstance(app.screen, TrainerScreen) and "epoch 0; space continues it" in notifications(app)[-1]
        while not isinstance(app.screen, TrainerScreen):  # the extra Enter reached the trainer: a dialog
            await pilot.press("escape")
        await pilot.press("ctrl+e")
        await burst(pilot, "enter", "enter")
        assert (tmp_path / "kepler-history.csv").is_file()


async def test_a_typed_value_with_two_enters_is_applied_once():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")  # the model row's dialog
        app.screen.query_one(Input).value = "poly:2"
        await burst(pilot, "enter", "enter")
        assert app.snapshot.setup.model == "poly:2"
        assert sum("the run starts over" in m for m in notifications(app)) == 1
        while not isinstance(app.screen, TrainerScreen):  # the second Enter may open the row again
            await pilot.press("escape")


async def test_a_burst_of_batch_size_keys_and_steps_lands_where_the_keys_say():
    """u, n, u, n, u, n in one read: each key applied once, in order (the burst's steps are
    100 full-batch epochs, then 1 epoch each at batch 1 and batch 4, then full batch again)."""
    app = make_app(pretrain=100)
    async with app.run_test(size=(80, 24)) as pilot:
        await burst(pilot, "u", "n", "u", "n", "u", "n")
        s = app.runner.latest
        assert (s.epoch, s.hyper.batch_size, s.step_count) == (103, None, 100 + 11 + 3 + 1)
        assert app.runner.trainer.batch_history.total_epochs == 14


async def test_each_key_of_a_burst_moves_its_setting_one_further():
    """Keys read the run, not the snapshot on screen (which a burst has not yet redrawn):
    `o o` is two optimizers on, `+ +` a hundred times the rate, `m m` two models on."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        start = app.runner.latest
        await burst(pilot, "o", "o", "plus", "plus", "m", "m", "v", "v", "b", "b", "E", "E", "s", "s")
        run = app.runner.latest
        assert run.hyper.optimizer == "adam"  # sgd -> sgd + momentum -> adam
        assert run.hyper.learning_rate == pytest.approx(start.hyper.learning_rate * 100)
        assert run.setup.model == "mlp:8"  # linear -> poly:3 -> mlp:8
        assert run.setup.val_fraction == 0.3  # 0 -> 20% -> 30%
        assert run.hyper.epochs == 100_000  # 5,000 -> 20,000 -> 100,000
        assert run.hyper.early_stopping == start.hyper.early_stopping  # on, then off again
        assert run.setup.split_seed == start.setup.split_seed + 2
        assert app.trainer_screen.snapshot.setup.model == "mlp:8"  # and the screen caught up
