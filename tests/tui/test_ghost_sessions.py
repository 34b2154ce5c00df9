"""Pinned runs are kept with the session (ctrl+s / ctrl+l, `kepler --load`) and their
paths stay on the loss landscape, dimmed, while the next run trains."""
from __future__ import annotations

import json

import numpy as np

from engine.training.session import load_session, save_session
from engine.training.trainer import Hyperparameters, Setup
from tui.screens.file_dialogs import TextDialog
from tui.screens.landscape import LandscapeScreen
from tui.ghosts import Ghost
from tui.widgets.loss_plot import LossPlot

from pilot_helpers import make_app, notifications
from test_data_and_sessions import dialog_error, type_into

SIZE = (100, 30)


def raw_line_app(**options):
    return make_app(Setup(), Hyperparameters(learning_rate=1e-4, epochs=5000), **options)


async def test_a_pinned_run_is_saved_and_drawn_again_in_a_fresh_app(tmp_path):
    path = tmp_path / "pinned.json"
    app = make_app(Setup(input_transform="scale", input_scale=0.1, val_fraction=0.2),
                   Hyperparameters(learning_rate=1e-2, epochs=5000))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("N", "k")
        pinned = app.pinned_ghosts[0]
        assert pinned.val_loss is not None and pinned.path is not None and len(pinned.path)
        await pilot.press("ctrl+s")
        await type_into(pilot, str(path))
        assert not isinstance(app.screen, TextDialog)
    saved = json.loads(path.read_text())["ghosts"]
    assert len(saved) == 1 and saved[0]["label"] == pinned.label

    fresh = make_app()
    async with fresh.run_test(size=SIZE) as pilot:
        plot = fresh.query_one(LossPlot)
        assert plot.ghosts == ()
        await pilot.press("ctrl+l")
        await type_into(pilot, str(path))
        await pilot.pause()
        (ghost,) = fresh.pinned_ghosts
        assert ghost.label == pinned.label
        np.testing.assert_array_equal(ghost.epochs, pinned.epochs)
        np.testing.assert_array_equal(ghost.train_loss, pinned.train_loss)
        np.testing.assert_array_equal(ghost.val_loss, pinned.val_loss)
        np.testing.assert_array_equal(ghost.path, pinned.path)
        assert ghost.settings == pinned.settings and "··1 same settings" in plot.border_title
        await pilot.press("r", "n")  # a new run: the ghost's dots stay under it
        await pilot.pause()
        assert "·" in plot.text and "··1 same settings" in plot.border_title
        await pilot.press("v")  # another split: the legend says the pinned run had the other one
        await pilot.pause()
        assert "··1 val 20%" in plot.border_title


async def test_the_app_takes_a_loaded_sessions_ghosts_at_start(tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("N", "k")
        pinned = app.pinned_ghosts
    from tui.ghosts import ghost_to_saved

    path = save_session(app.runner.trainer, tmp_path / "s.json", [ghost_to_saved(g) for g in pinned])
    trainer, saved = load_session(path)
    started = make_app(ghosts=saved)
    async with started.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert [g.label for g in started.pinned_ghosts] == [pinned[0].label]
        assert [g.settings for g in started.pinned_ghosts] == [pinned[0].settings]
        assert "··1 same settings" in started.query_one(LossPlot).border_title


async def test_a_session_with_a_wrong_ghost_is_refused_naming_the_field(tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        path = save_session(app.runner.trainer, tmp_path / "bad.json",
                            [{"label": 3, "epochs": np.arange(3.0), "train_loss": np.ones(3)}])
        await pilot.press("N", "k")
        await pilot.press("ctrl+l")
        await type_into(pilot, str(path))
        assert isinstance(app.screen, TextDialog)
        error = dialog_error(app)
        assert "ghosts[0].label" in error and "should be a string" in error and "\n" not in error
        assert app.runner.latest.epoch == 100 and len(app.pinned_ghosts) == 1  # nothing lost


async def test_a_version_1_session_without_ghosts_loads_with_none_pinned(tmp_path):
    app = make_app()
    path = save_session(app.runner.trainer, tmp_path / "plain.json")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("N", "k", "ctrl+l")
        await type_into(pilot, str(path))
        assert app.pinned_ghosts == () and app.runner.latest.epoch == 0
        assert any("Session loaded" in n or "epoch 0" in n for n in notifications(app))


async def test_a_pinned_runs_path_stays_on_the_landscape_dimmed_while_the_next_trains():
    app = raw_line_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("w")
        for _ in range(4):
            await pilot.press("N")
        await pilot.pause()
        assert "∘" not in app.screen.text
        await pilot.press("k")  # the app's keys work on the landscape
        (ghost,) = app.pinned_ghosts
        assert len(ghost.path) >= 2
        await pilot.press("minus", "r", "n")  # a slower run from the start
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LandscapeScreen)
        text = screen.text
        assert "∘ 1 pinned" in text.splitlines()[0]
        assert "∘" in "\n".join(text.splitlines()[1:])  # the pinned path, in its own character
        assert "●" in text  # and this run's point over it
        await pilot.press("K")
        await pilot.pause()
        assert "∘" not in app.screen.text


async def test_ghost_paths_use_an_ascii_character_in_ascii_mode():
    app = raw_line_app(ascii_plots=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("N", "N", "N", "k", "minus", "r", "n", "w")
        await pilot.pause()
        text = app.screen.text
        assert "~ 1 pinned" in text.splitlines()[0] and "~" in "\n".join(text.splitlines()[1:])
        assert "∘" not in text


async def test_a_pinned_runs_validation_curve_is_drawn_too():
    app = make_app(Setup(input_transform="scale", input_scale=0.1, val_fraction=0.2),
                   Hyperparameters(learning_rate=1e-2, epochs=5000))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("N", "N", "k", "r")
        await pilot.pause()
        plot = app.query_one(LossPlot)
        with_val = plot.text.count("·")
        (ghost,) = app.pinned_ghosts
        app.controller.ghosts = (Ghost(ghost.label, ghost.epochs, ghost.train_loss),)  # the same, train loss only
        app.show_ghosts()
        await pilot.pause()
        assert with_val > plot.text.count("·") > 0


async def test_a_pinned_path_is_only_drawn_on_the_surface_it_descended():
    app = raw_line_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("N", "N", "k")  # pinned on raw readings
        assert app.pinned_ghosts[0].surface is not None
        await pilot.press("z")  # normalised input: another loss surface
        await pilot.press("n", "w")
        await pilot.pause()
        assert "pinned" not in app.screen.text.splitlines()[0]
        assert app.screen.ghost_paths() == []
        await pilot.press("escape")
        for _ in range(3):  # z cycles the input transforms: back round to raw readings
            if app.runner.latest.transform.kind == "none":
                break
            await pilot.press("z")
        assert app.runner.latest.transform.kind == "none"
        await pilot.press("n", "w")
        await pilot.pause()
        assert len(app.screen.ghost_paths()) == 1
        assert "∘ 1 pinned" in app.screen.text.splitlines()[0]


async def test_a_pinned_runs_settings_must_be_a_setup_string(tmp_path):
    app = make_app()
    good = {"label": "x", "epochs": np.arange(1.0, 4.0), "train_loss": np.ones(3), "settings": "lr=0.1,opt=adam"}
    async with app.run_test(size=SIZE) as pilot:
        for settings, wanted in (("lr=fast", "ghosts[0].settings': setup string: lr='fast' is not a number"),
                                 (7, "ghosts[0].settings' should be a setup string, or null")):
            path = save_session(app.runner.trainer, tmp_path / "bad.json", [dict(good, settings=settings)])
            await pilot.press("ctrl+l")
            await type_into(pilot, str(path))
            error = dialog_error(app)
            assert wanted in error and "\n" not in error
            await pilot.press("escape")
        path = save_session(app.runner.trainer, tmp_path / "good.json", [good])
        await pilot.press("ctrl+l")
        await type_into(pilot, str(path))
        await pilot.pause()
        assert app.pinned_ghosts[0].settings == "lr=0.1,opt=adam"
        assert "··1 Adam, lr 0.1" in app.query_one(LossPlot).border_title


async def test_a_session_saved_before_settings_were_kept_shows_its_label(tmp_path):
    app = make_app()
    old = {"label": "linear, raw, SGD lr 0.0001", "epochs": np.arange(1.0, 4.0), "train_loss": np.ones(3)}
    path = save_session(app.runner.trainer, tmp_path / "old.json", [old])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+l")
        await type_into(pilot, str(path))
        await pilot.pause()
        (ghost,) = app.pinned_ghosts
        assert ghost.settings is None
        assert "··1 linear, raw, SGD lr 0…" in app.query_one(LossPlot).border_title
