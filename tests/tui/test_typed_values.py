"""Typing a value: a good one is applied, a bad one is refused with a message naming the
setting and what it accepts, and nothing changes."""
from __future__ import annotations

import pytest
from textual.widgets import Input, Static

from tui.screens.setting_dialog import SettingDialog
from tui.widgets.hyper_panel import HyperPanel

from pilot_helpers import make_app


async def open_setting(pilot, name: str, arrows: bool = False) -> SettingDialog:
    """Pick the setting in the panel (with the arrow keys, as a user would, if `arrows`;
    each key press costs a Pilot round trip, so most tests select it directly) and press
    enter."""
    panel = pilot.app.query_one(HyperPanel)
    names = [s.name for s in panel.rows]
    if arrows:
        while panel.selected.name != name:
            await pilot.press("down" if names.index(name) > panel.cursor else "up")
    else:
        panel.select(name)
    await pilot.press("enter")
    dialog = pilot.app.screen
    assert isinstance(dialog, SettingDialog)
    return dialog


async def type_value(pilot, text: str) -> None:
    field = pilot.app.screen.query_one(Input)
    field.value = text
    await pilot.press("enter")


def dialog_error(app) -> str:
    error = app.screen.query_one("#dialog-error", Static)
    return str(error.render()) if error.has_class("-shown") else ""


async def test_a_typed_learning_rate_is_applied_and_the_run_continues(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("N")
        dialog = await open_setting(pilot, "learning_rate", arrows=True)
        assert dialog.query_one(Input).value == "0.01"  # starts from the current value
        await type_value(pilot, "0.05")
        assert not isinstance(app.screen, SettingDialog)
        assert app.runner.latest.hyper.learning_rate == 0.05
        assert app.runner.latest.epoch == 100
        assert "learning rate 0.05" in app.query_one(HyperPanel).text


@pytest.mark.parametrize("name, attempts", [
    ("learning_rate", [("-1", "learning rate must be a positive number"),
                       ("abc", "learning rate: 'abc' is not a number"),
                       ("50", "learning rate must be at most 10"),
                       ("1e-13", "learning rate must be at least 1e-12 (got 1e-13)")]),
    ("val_fraction", [("1.5", "validation fraction must be in [0, 1)"),
                      ("-0.2", "validation fraction must be in [0, 1)"),
                      ("0.05", "leaves no validation point"),
                      ("half", "validation fraction: 'half' is not a number")]),
    ("model", [("cubic", "model 'cubic' is not one of linear, poly:K"),
               ("poly:99", "polynomial degree 99 is outside 1..12")]),
    ("epochs", [("0", "epoch budget: 0 is out of range 1..10,000,000"),
                ("1e9", "epoch budget: 1e9 is out of range 1..10,000,000"),  # whole, only too big
                ("1e400", "epoch budget: 1e400 is out of range 1..10,000,000"),
                ("1.5", "epoch budget: '1.5' is not a whole number")]),
    ("optimizer", [("rmsprop", "optimizer: 'rmsprop' is not one of"),
                   ("sgd 1.5", "momentum must be in [0, 1)"),
                   ("adam 0.9", "Adam takes two betas")]),
    ("input", [("-3", "input scale must be a positive number"),
               ("cube", "input: 'cube' is not 'raw', 'standardize' or a positive scale factor")]),
    ("speed", [("-5", "speed must be a positive number of epochs per second"),
               ("fast", "speed: 'fast' is not a number")]),
    ("split_seed", [("x", "split seed: 'x' is not a whole number")]),
    ("batch_size", [("0", "batch size must be a whole number in 1.."),
                    ("half", "batch size: 'half' is not a whole number"),
                    ("", "batch size: '' is not a whole number")]),
    ("early_stopping", [("maybe", "early stopping: 'maybe' is not one of")]),
])
async def test_bad_values_are_refused_with_the_field_and_range_and_nothing_changes(name, attempts):
    app = make_app(pretrain=100)
    async with app.run_test(size=(80, 24)) as pilot:
        before, speed_before = app.runner.latest, app.runner.epochs_per_second
        panel_before = app.query_one(HyperPanel).text
        await open_setting(pilot, name)
        for text, message in attempts:
            await type_value(pilot, text)
            assert isinstance(app.screen, SettingDialog), "a bad value keeps the dialog open"
            assert message in dialog_error(app), text
            after = app.runner.latest
            assert (after.setup, after.hyper, after.epoch) == (before.setup, before.hyper, 100)
            assert app.runner.trainer.setup == before.setup  # the trainer itself kept the old run
            assert app.runner.epochs_per_second == speed_before
        await pilot.press("escape")
        assert not isinstance(app.screen, SettingDialog)
        assert app.query_one(HyperPanel).text == panel_before


async def test_a_typed_batch_size_is_applied_and_the_run_continues(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("N")
        dialog = await open_setting(pilot, "batch_size")
        assert dialog.query_one(Input).value == "full"
        await type_value(pilot, "2")
        s = app.runner.latest
        assert not isinstance(app.screen, SettingDialog) and s.hyper.batch_size == 2 and s.epoch == 100
        assert "batch size    2 · 6 steps" in app.query_one(HyperPanel).text
        await pilot.press("u")  # from a typed size, on to the next bigger one
        assert app.runner.latest.hyper.batch_size == 4
        await open_setting(pilot, "batch_size")
        await type_value(pilot, "full")
        assert app.runner.latest.hyper.batch_size is None


async def test_a_corrected_value_after_a_bad_one_is_applied(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await open_setting(pilot, "val_fraction")
        await type_value(pilot, "2")
        assert "validation fraction" in dialog_error(app)
        await type_value(pilot, "0.3")
        assert not isinstance(app.screen, SettingDialog)
        assert app.runner.latest.setup.val_fraction == 0.3
        assert app.runner.trainer.split.val.size == 3


@pytest.mark.parametrize("name, text, check", [
    ("model", "poly:2", lambda s, speed: s.setup.model == "poly:2" and s.epoch == 0),
    ("optimizer", "adam 0.8 0.99", lambda s, speed: (s.hyper.optimizer, s.hyper.beta1, s.hyper.beta2) == ("adam", 0.8, 0.99)),
    ("optimizer", "nesterov 0.5", lambda s, speed: s.hyper.nesterov and s.hyper.momentum == 0.5),
    ("input", "raw", lambda s, speed: s.setup.input_transform == "none"),
    ("input", "0.01", lambda s, speed: (s.setup.input_transform, s.setup.input_scale) == ("scale", 0.01)),
    ("input", "standardize", lambda s, speed: s.setup.input_transform == "standardize"),
    ("val_fraction", "25%", lambda s, speed: s.setup.val_fraction == 0.25),
    ("split_seed", "7", lambda s, speed: s.setup.split_seed == 7),
    ("epochs", "12,000", lambda s, speed: s.hyper.epochs == 12000),
    ("speed", "max", lambda s, speed: speed is None),
    ("speed", "35", lambda s, speed: speed == 35),
    ("early_stopping", "on", lambda s, speed: s.hyper.early_stopping),
])
async def test_good_typed_values(app, name, text, check):
    async with app.run_test(size=(80, 24)) as pilot:
        await open_setting(pilot, name)
        await type_value(pilot, text)
        assert not isinstance(app.screen, SettingDialog)
        assert check(app.runner.latest, app.runner.epochs_per_second)


async def test_escape_cancels_without_change(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await open_setting(pilot, "learning_rate")
        pilot.app.screen.query_one(Input).value = "0.5"
        await pilot.press("escape")
        assert app.runner.latest.hyper.learning_rate == 0.01


async def test_clicking_a_setting_opens_its_dialog(app):
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(HyperPanel)
        row = [s.name for s in panel.rows].index("epochs")
        await pilot.click(HyperPanel, offset=(3, panel.styles.gutter.top + row))
        assert isinstance(app.screen, SettingDialog) and app.screen.label == "epoch budget"


async def test_momentum_and_betas_can_be_typed_from_the_command_palette(app):
    async with app.run_test(size=(80, 24)) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Type a value: momentum" in titles and "Type a value: Adam betas" in titles
        app.action_edit_setting("momentum")
        await pilot.pause()
        await type_value(pilot, "0.7")
        assert app.runner.latest.hyper.momentum == 0.7


async def test_a_typed_fraction_replaces_the_books_chosen_split():
    from engine.lesson.presets import BOOK_SPLIT
    from engine.training.trainer import Setup

    app = make_app(Setup(input_transform="scale", **BOOK_SPLIT))
    async with app.run_test(size=(80, 24)) as pilot:
        assert "2 chosen pts" in app.query_one(HyperPanel).text
        await open_setting(pilot, "val_fraction")
        await type_value(pilot, "0.5")
        assert app.runner.latest.setup.train_indices is None
        assert app.runner.trainer.split.val.size == 5


async def test_an_epoch_budget_may_be_typed_in_scientific_form(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await open_setting(pilot, "epochs")
        await type_value(pilot, "2e4")
        assert app.runner.latest.hyper.epochs == 20000
