"""The dataset picker shows each built-in's suggested setup (its Try: line); `t` starts the
dataset with it in one change, enter keeps the current settings as before."""
from __future__ import annotations

import shutil

from textual.widgets import OptionList, Static

import data
from engine.lesson.suggested import suggestion
from tui.screens.file_dialogs import DatasetPicker
from tui.screens.trainer import TrainerScreen

from pilot_helpers import make_app, notifications

SIZE = (80, 24)


def damaged_builtins(tmp_path, monkeypatch, name: str, try_line: str) -> None:
    """The built-in datasets, copied, with `name`'s Try line replaced (as tests/test_suggested_setups.py)."""
    folder = tmp_path / "datasets"
    shutil.copytree(data.loader.BUILTIN_DIR, folder)
    path = folder / f"{name}.csv"
    lines = [try_line if line.startswith("# Try:") else line for line in path.read_text().splitlines()]
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(data.loader, "BUILTIN_DIR", folder)


def try_text(app) -> str:
    return str(app.screen.query_one("#datasets-try", Static).render())


async def highlight(pilot, name: str) -> None:
    options = pilot.app.screen.query_one(OptionList)
    options.highlighted = [options.get_option_at_index(i).id for i in range(options.option_count)].index(name)
    await pilot.pause()


async def test_the_picker_shows_the_highlighted_datasets_suggested_setup():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d")
        assert isinstance(app.screen, DatasetPicker)
        assert "thermometer: no suggested setup" in try_text(app)  # the current one, highlighted
        await highlight(pilot, "overfit")
        assert try_text(app).startswith(f"Try: {suggestion('overfit').setup_string}")
        assert "t starts overfit with this setup" in try_text(app)
        await pilot.press("up")
        assert try_text(app).startswith("Try: data=outlier,scale=std,lr=0.1")


async def test_t_starts_overfit_with_its_setup_in_one_change():
    app = make_app(pretrain=100)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d")
        await highlight(pilot, "overfit")
        await pilot.press("t")
        assert isinstance(app.screen, TrainerScreen)
        tried = suggestion("overfit")
        s = app.runner.latest
        assert (s.setup, s.hyper, s.epoch) == (tried.setup, tried.hyper, 0)
        assert s.val_loss is not None and s.split.val.size == 3  # 30% of 12 points validate, rounded down
        said = [n for n in notifications(app) if "suggested setup" in n]
        assert said == [f"overfit with its suggested setup: {tried.setup_string}. (space trains)"]


async def test_enter_still_keeps_the_current_settings():
    app = make_app(pretrain=100)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d")
        await highlight(pilot, "overfit")
        await pilot.press("enter")
        s = app.runner.latest
        assert s.setup.dataset == "overfit" and s.setup.model == "linear" and s.val_loss is None


async def test_the_curve_says_what_to_try_next():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d")
        await highlight(pilot, "curve")
        assert "then model=poly:2" in try_text(app)
        await pilot.press("t")
        assert app.runner.latest.setup.dataset == "curve"
        assert any(n.endswith("Then try model=poly:2. (space trains)") for n in notifications(app))


async def test_a_damaged_try_line_is_shown_and_t_changes_nothing(tmp_path, monkeypatch):
    damaged_builtins(tmp_path, monkeypatch, "overfit", "# Try: kepler --setup 'data=overfit,lr=fast'")
    app = make_app(pretrain=100)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d")
        await highlight(pilot, "overfit")
        assert try_text(app).startswith("Try: (unusable: overfit.csv, line 2: Try line: setup string: lr='fast'")
        await pilot.press("t")
        assert isinstance(app.screen, DatasetPicker)  # still open, saying why
        error = try_text(app)
        assert error == "overfit.csv, line 2: Try line: setup string: lr='fast' is not a number"
        s = app.runner.latest
        assert s.setup.dataset == "thermometer" and s.epoch == 100
        await pilot.press("escape")
        assert app.runner.latest.epoch == 100


async def test_t_on_the_books_dataset_says_it_has_no_suggestion():
    app = make_app(pretrain=10)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d", "t")
        assert isinstance(app.screen, DatasetPicker)
        assert try_text(app).startswith("thermometer suggests no setup of its own")
        assert app.runner.latest.epoch == 10
