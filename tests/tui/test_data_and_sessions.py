"""Bring your own data and keep your work, from the keyboard: open a CSV file, pick a
built-in dataset, type a setup string, save and load a session, export the history and
the screen, and edit points to see what one outlier does to the fit."""
from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ElementTree

import numpy as np
from textual.widgets import Input, OptionList, Static

from tui.screens.file_dialogs import DatasetPicker, OpenCsvDialog, TextDialog
from tui.screens.point_editor import PointEditor
from tui.widgets.fit_plot import FitPlot
from tui.widgets.status_bar import StatusBar

from pilot_helpers import make_app, notifications

SIZE = (100, 30)


def dialog_error(app) -> str:
    error = app.screen.query_one("#dialog-error", Static)
    return str(error.render()) if error.has_class("-shown") else ""


async def type_into(pilot, text: str, field: str = "Input") -> None:
    pilot.app.screen.query_one(field, Input).value = text
    await pilot.press("enter")


def write_csv(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


async def test_opening_a_good_csv_starts_a_run_on_its_points(tmp_path):
    good = write_csv(tmp_path / "springs.csv", "# springs\nmass,length,temp\n1,2.1,20\n2,3.9,21\n3,6.2,19\n4,8.0,22\n")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("N")
        await pilot.press("ctrl+o")
        dialog = app.screen
        assert isinstance(dialog, OpenCsvDialog)
        dialog.query_one("#csv-path", Input).value = str(good)
        await pilot.pause()
        assert "mass, length, temp" in str(dialog.query_one("#csv-columns", Static).render())
        dialog.query_one("#csv-y", Input).value = "length"
        await type_into(pilot, str(good), "#csv-path")
        assert not isinstance(app.screen, OpenCsvDialog)
        s = app.runner.latest
        assert s.epoch == 0 and s.setup.dataset == str(good) and s.setup.y_column == "length"
        assert list(app.runner.trainer.dataset.y) == [2.1, 3.9, 6.2, 8.0]
        assert app.query_one(FitPlot).data.y_label == "length"
        assert any("springs.csv: the run starts over" in n for n in notifications(app))


async def test_a_bad_csv_is_refused_in_the_dialog_and_the_old_data_kept(tmp_path):
    bad = write_csv(tmp_path / "bad.csv", "x,y\n1,2\n2,oops\n3,4\n")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("N")
        await pilot.press("ctrl+o")
        await type_into(pilot, str(bad), "#csv-path")
        assert isinstance(app.screen, OpenCsvDialog)  # still open, showing why
        error = dialog_error(app)
        assert "bad.csv, line 3" in error and "'oops' is not a number" in error
        assert app.runner.latest.setup.dataset == "thermometer" and app.runner.latest.epoch == 100
        await pilot.press("escape")
        assert app.runner.latest.epoch == 100


async def test_d_picks_a_built_in_dataset_with_what_it_teaches():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d")
        picker = app.screen
        assert isinstance(picker, DatasetPicker)
        options = picker.query_one(OptionList)
        prompts = {options.get_option_at_index(i).id: str(options.get_option_at_index(i).prompt)
                   for i in range(options.option_count)}
        assert "squared error chases a single bad point" in prompts["outlier"]
        options.highlighted = list(prompts).index("outlier")
        await pilot.press("enter")
        assert app.runner.latest.setup.dataset == "outlier" and app.runner.latest.epoch == 0
        assert len(app.query_one(FitPlot).data.x) == 15
        assert any("dataset outlier: the run starts over" in n for n in notifications(app))


async def test_save_then_load_brings_the_run_back(tmp_path):
    path = tmp_path / "lesson.json"
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("N")
        saved = app.runner.latest
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, TextDialog)
        await type_into(pilot, str(path))
        assert json.loads(path.read_text())["format"] == "kepler-session"
        await pilot.press("N", "m")  # train on, then change the model: a different run
        assert app.runner.latest.setup.model == "poly:3"
        await pilot.press("ctrl+l")
        await type_into(pilot, str(path))
        s = app.runner.latest
        assert s.epoch == 100 and s.setup.model == "linear"
        assert s.train_loss == saved.train_loss
        assert "epoch 100/5,000" in app.query_one(StatusBar).text
        await pilot.press("n")  # and it continues
        assert app.runner.latest.epoch == 101


async def test_loading_a_bad_session_is_refused_and_nothing_is_lost(tmp_path):
    broken = write_csv(tmp_path / "broken.json", '{"format": "kepler-session", "version": 1, ')
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("N")
        await pilot.press("ctrl+l")
        await type_into(pilot, str(broken))
        assert isinstance(app.screen, TextDialog)
        assert "broken.json" in dialog_error(app) and "truncated" in dialog_error(app)
        assert app.runner.latest.epoch == 100


async def test_export_the_history_as_csv_and_the_screen_as_svg(tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("N")
        await pilot.press("ctrl+e")
        await type_into(pilot, str(tmp_path / "history.csv"))
        rows = list(csv.reader((tmp_path / "history.csv").open()))
        assert rows[0] == ["epoch", "train_loss", "val_loss"] and len(rows) == 101
        assert float(rows[-1][1]) < float(rows[1][1])
        await pilot.press("ctrl+g")
        await type_into(pilot, str(tmp_path / "screen.svg"))
        await pilot.pause()
        await pilot.pause()
        svg = (tmp_path / "screen.svg").read_text()
        root = ElementTree.fromstring(svg)  # well-formed XML
        assert root.tag.endswith("svg")
        assert "epoch" in svg and "Save the screen" not in svg  # the trainer, not the dialog
        await pilot.press("ctrl+g")
        await type_into(pilot, str(tmp_path / "no-such-folder" / "screen.svg"))
        assert "no such folder" in dialog_error(app)


async def test_a_typed_setup_string_starts_that_configuration_and_a_bad_one_names_the_key():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("S")
        dialog = app.screen
        assert isinstance(dialog, TextDialog)
        assert dialog.query_one(Input).value == "lr=0.01,opt=sgd,scale=0.1,model=linear,data=thermometer"
        await type_into(pilot, "lr=0.1,opt=adam,scale=std,model=poly:2,data=curve")
        s = app.runner.latest
        assert (s.setup.dataset, s.setup.model, s.setup.input_transform) == ("curve", "poly:2", "standardize")
        assert s.hyper.optimizer == "adam" and s.hyper.learning_rate == 0.1
        await pilot.press("S")
        await type_into(pilot, "lr=0.1,modle=linear")
        assert isinstance(app.screen, TextDialog)
        assert "modle" in dialog_error(app)
        await pilot.press("escape")
        assert app.runner.latest.setup.model == "poly:2"


async def test_the_help_shows_the_setup_string():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        sections = dict(app.screen.sections)
        assert sections["This run as a setup string (S types one)"] == [
            ("", "lr=0.01,opt=sgd,scale=0.1,model=linear,data=thermometer")]
        assert ("ctrl+o", "open your own CSV file (the run starts over)") in sections["Data and sessions"]


async def test_moving_one_point_up_pulls_the_fit_towards_it():
    app = make_app(pretrain=0)
    async with app.run_test(size=SIZE) as pilot:
        before = app.runner.trainer.dataset
        await pilot.press("e")
        editor = app.screen
        assert isinstance(editor, PointEditor)
        assert app.query_one(FitPlot).highlighted == editor.selected
        await pilot.press("right", "right")
        chosen = editor.selected
        await pilot.press(*["up"] * 10)  # one whole y span above where it was
        data = app.runner.trainer.dataset
        assert data.y[chosen] > before.y[chosen] + 0.9 * np.ptp(before.y)
        assert app.runner.latest.epoch == 0
        assert any("edited points: the run starts over" in n for n in notifications(app))
        await pilot.press("a")
        assert len(app.runner.trainer.dataset) == len(before) + 1
        await pilot.press("x", "x")
        assert len(app.runner.trainer.dataset) == len(before) - 1
        await pilot.press("escape")
        assert app.query_one(FitPlot).highlighted is None

        # The fit with the outlier sits above the fit on the original points.
        app.runner.step(3000)
        edited_fit = app.runner.latest.fit_y.mean()
    original = make_app()
    original.runner.step(3000)
    assert edited_fit > original.runner.latest.fit_y.mean()


async def test_the_palette_offers_the_data_and_session_commands():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        for title in ("Open your own CSV file (the run starts over) (ctrl+o)", "Save the session to a file (ctrl+s)",
                      "Export the loss history as CSV (ctrl+e)", "Save the screen as an SVG picture (ctrl+g)"):
            assert title in commands
        commands["Show the setup string"].callback()
        await pilot.pause()
        assert "lr=0.01,opt=sgd,scale=0.1,model=linear,data=thermometer" in notifications(app)
