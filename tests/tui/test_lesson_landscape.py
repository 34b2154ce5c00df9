"""The loss landscape of the line: exact loss map, the descent path, the minimum, the start
point moved with the arrow keys."""
from __future__ import annotations

import numpy as np
import pytest

from engine.lesson.landscape import line_minimum
from engine.lesson.presets import preset
from engine.training.trainer import Hyperparameters, Setup
from tui.screens.landscape import LandscapeScreen
from tui.widgets.landscape_map import LandscapeMap, cell_of

from pilot_helpers import make_app, notifications


def raw_app(**options):
    return make_app(Setup(), Hyperparameters(learning_rate=1e-4, epochs=5000), **options)


def marker_cell(text: str, marker: str) -> tuple[int, int]:
    """(row, column) of `marker` in the map's lines (the header line excluded)."""
    rows = text.splitlines()[1:]
    hits = [(r, line.index(marker)) for r, line in enumerate(rows) if marker in line]
    assert len(hits) == 1, f"{marker!r} appears {len(hits)} times"
    return hits[0]


async def test_w_shows_the_minimum_start_and_current_point_on_raw_input():
    app = raw_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("N")
        await pilot.press("w")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LandscapeScreen)
        text = screen.text
        x = app.runner.trainer.dataset.x.astype(float)
        y = app.runner.trainer.dataset.y.astype(float)
        w_star, b_star, l_star = line_minimum(x, y)
        assert f"minimum w={w_star:.4g} b={b_star:.4g} L={l_star:.4g}" in text
        assert "input raw" in text and "start (1, 0)" in text and "epoch 100" in text
        for marker in "✕○●":
            marker_cell(text, marker)
        # the start (1, 0) sits above and to the right of the minimum (0.54, -17.3)
        start, minimum = marker_cell(text, "○"), marker_cell(text, "✕")
        assert start[0] < minimum[0] and start[1] > minimum[1]


async def test_the_map_is_darkest_far_from_the_minimum():
    app = raw_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("w")
        await pilot.pause()
        lines = app.screen.query_one(LandscapeMap).text.splitlines()
        row, column = marker_cell("\n" + "\n".join(lines), "✕")
        assert lines[row][column - 1] in " ·"  # the valley floor is light
        assert "█" in lines[0] or "█" in lines[-3]  # the walls are dark


async def test_the_path_follows_the_run_and_a_new_run_starts_a_new_path():
    app = raw_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("w")
        for _ in range(5):
            await pilot.press("n")
        assert len(app.trainer_screen.descent_path.points) == 6
        assert "•" in app.screen.text  # the points between start and now
        assert "epoch 5" in app.screen.text
        await pilot.press("z")  # the input changes: a new run, a new map
        await pilot.pause()
        assert len(app.trainer_screen.descent_path.points) == 1
        assert "input standardised" in app.screen.text


async def test_arrow_keys_move_the_start_and_run_again():
    app = raw_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("N")
        await pilot.press("w")
        await pilot.press("right")
        s = app.runner.latest
        assert s.setup.init_w > 1 and s.setup.init_b == 0 and s.epoch == 0
        assert float(s.params["w"]) == pytest.approx(s.setup.init_w)
        await pilot.press("up")
        s = app.runner.latest
        assert s.setup.init_b > 0 and float(s.params["b"]) == pytest.approx(s.setup.init_b)
        await pilot.press("N")  # train from the new start
        assert app.runner.latest.epoch == 100
        assert f"start ({s.setup.init_w:.3g}, {s.setup.init_b:.3g})" in app.screen.text


async def test_zoom_and_fit():
    app = raw_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("N", "w")
        fitted = app.screen.current_window()
        await pilot.press("i")
        (w_lo, w_hi), _ = app.screen.current_window()
        assert w_hi - w_lo == pytest.approx((fitted[0][1] - fitted[0][0]) / 2)
        await pilot.press("f")
        assert app.screen.current_window() == fitted


async def test_the_landscape_is_for_the_line_only():
    p = preset("overfit")
    app = make_app(p.setup, p.hyper)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("w")
        assert not isinstance(app.screen, LandscapeScreen)
        assert any("line only" in n for n in notifications(app))


async def test_ascii_landscape_uses_plain_characters():
    app = raw_app(ascii_plots=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("N", "w")
        text = app.screen.query_one(LandscapeMap).text
        assert all(ord(ch) < 128 for ch in text)
        assert "X" in text and "S" in text and "@" in text


def test_cell_of_runs_either_way_and_drops_points_off_the_map():
    assert cell_of(0.0, 0.0, 1.0, 11) == 0 and cell_of(1.0, 0.0, 1.0, 11) == 10
    assert cell_of(1.0, 1.0, 0.0, 11) == 0  # a top-down axis
    assert cell_of(2.0, 0.0, 1.0, 11) is None and cell_of(np.inf, 0.0, 1.0, 11) is None


async def test_stepping_back_shortens_the_path():
    app = raw_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n", "n", "n", "comma")
        assert app.trainer_screen.descent_path.epochs == [0, 1, 2]


def test_a_moved_start_survives_a_saved_session(tmp_path):
    from engine.training.session import load_session, save_session
    from engine.training.trainer import Trainer

    trainer = Trainer(Setup(init_w=2.5, init_b=-4.0), Hyperparameters(learning_rate=1e-4))
    trainer.train(3)
    loaded, _ = load_session(save_session(trainer, tmp_path / "run.kepler.json"))
    assert (loaded.setup.init_w, loaded.setup.init_b) == (2.5, -4.0)
    loaded.reset()
    assert float(loaded.model.w.data) == 2.5 and float(loaded.model.b.data) == -4.0


def test_a_start_that_is_not_a_number_is_refused():
    from engine.training.trainer import SettingError

    with pytest.raises(SettingError, match="initial w must be a finite number"):
        Setup(init_w=float("nan")).validate()
