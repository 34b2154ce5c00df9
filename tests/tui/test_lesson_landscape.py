"""The loss landscape of the line: exact loss map, the descent path, the minimum, the start
point moved with the arrow keys."""
from __future__ import annotations

import re

import numpy as np
import pytest

from engine.lesson.landscape import grid, line_minimum
from engine.lesson.presets import preset
from engine.training.trainer import Hyperparameters, Setup
from tui.screens.landscape import LandscapeScreen
from tui.loss_colours import luminance
from tui.widgets.landscape_map import SHADES_ASCII, LandscapeMap, cell_of, loss_label, ticks
from tui.widgets.loss_plot import LossPlot

from pilot_helpers import burst, make_app, notifications


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


def map_cells(widget: LandscapeMap):
    """What the map shows, cell by cell: (characters, styles, losses) as rows x columns arrays,
    the axis labels and legend left out."""
    columns, rows = widget.map_size(*widget.content_size)
    left = widget.label_width(rows) + 2
    console = widget.app.console
    chars, styles = [], []
    for line in widget.lines[1:1 + rows]:
        chars.append([line.plain[left + c] for c in range(columns)])
        styles.append([line.get_style_at_offset(console, left + c) for c in range(columns)])
    (w_lo, w_hi), (b_lo, b_hi) = widget.window
    loss = grid(widget.x, widget.y, (w_lo, w_hi), (b_hi, b_lo), columns=columns, rows=rows).loss
    return np.array(chars), styles, loss


def brightness(style) -> float:
    return float(luminance(style.bgcolor.get_truecolor()))


async def test_the_map_is_brighter_where_the_loss_is_higher():
    app = raw_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("w")
        await pilot.pause()
        chars, styles, loss = map_cells(app.screen.query_one(LandscapeMap))
        light = np.array([[brightness(style) for style in row] for row in styles])
        order = np.argsort(loss, axis=None)
        assert np.all(np.diff(light.flat[order]) > -5e-4)  # never darker uphill (but for 8-bit rounding)
        assert light.max() - light.min() > 0.5  # from the dark valley to bright walls
        row, column = np.argwhere(chars == "✕")[0]
        assert light[row, column] <= np.sort(light, axis=None)[3]  # the minimum: among the darkest


async def test_the_legend_gives_the_loss_at_each_contour_line():
    app = raw_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("w")
        await pilot.pause()
        widget = app.screen.query_one(LandscapeMap)
        legend = widget.lines[0]
        # raw readings: from the minimum 2.93 up to 2,600 in this window
        assert widget.levels == [3, 10, 30, 100, 300, 1000]
        assert legend.plain.split() == ["b", "loss", "3", "10", "30", "100", "300", "1e3"]
        # between the values, the colours of the map, brightening to the right
        console = app.console
        colours = [legend.get_style_at_offset(console, i).bgcolor for i in range(len(legend))]
        light = [float(luminance(c.get_truecolor())) for c in colours if c is not None]
        assert len(light) > 30 and light == sorted(light)
        # each contour glyph sits where its neighbours straddle one of those values
        chars, _, loss = map_cells(widget)
        lines = np.argwhere(np.isin(chars, list("─╱│╲")))
        assert len(lines) > 50
        for r, c in lines:
            around = [loss[r + dr, c + dc] for dr, dc in ((0, 1), (0, -1), (1, 0), (-1, 0))
                      if 0 <= r + dr < loss.shape[0] and 0 <= c + dc < loss.shape[1]]
            assert any(min(loss[r, c], n) < level <= max(loss[r, c], n) for n in around for level in widget.levels)


async def test_the_minimum_stays_visible_when_the_run_reaches_it():
    app = make_app(Setup(input_transform="scale"), Hyperparameters(learning_rate=1e-2), pretrain=5000)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("w")
        await pilot.pause()
        text = app.screen.query_one(LandscapeMap).text
        assert text.count("⊗") == 1 and "●" not in text and "✕" not in text
        assert "⊗ epoch 5000" in app.screen.text and "in the minimum's cell" in app.screen.text
        # close enough in, they part: 5000 epochs are 0.001 short of w* = 5.368
        w_star, b_star, _ = line_minimum(*app.screen.training_data(app.snapshot))
        app.screen.window = ((w_star - 0.004, w_star + 0.004), (b_star - 0.02, b_star + 0.02))
        app.screen.show(app.snapshot)
        await pilot.pause()
        text = app.screen.query_one(LandscapeMap).text
        assert text.count("✕") == 1 and text.count("●") == 1 and "⊗" not in text
        assert "● epoch 5000" in app.screen.text


@pytest.mark.parametrize("ascii_plots, arrow", [(False, "↙"), (True, "v")])
async def test_zoomed_away_from_the_minimum_an_arrow_points_to_it(ascii_plots, arrow):
    app = raw_app(ascii_plots=ascii_plots)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("N", "w", "i", "i", "i")  # about the window's centre, w ~ 0.6, b ~ -9
        await pilot.pause()
        widget = app.screen.query_one(LandscapeMap)
        (w_lo, _), (b_lo, _) = widget.window
        assert w_lo > 0.5368 and b_lo > -17.3  # the minimum is left of the map, and far below it
        chars, _, _ = map_cells(widget)
        assert chars[-1, 0] == arrow  # in the bottom left corner: down and to the left
        assert "✕" not in widget.text and "X" not in widget.text
        assert f"L=2.928, off the map {arrow} (f fits)" in app.screen.text
        await pilot.press("f")
        assert "✕X"[ascii_plots] in widget.text and "off the map" not in app.screen.text


def tick_row_ok(widget: LandscapeMap) -> None:
    """Every w tick label under the map whole, each under the w it names; every b label beside
    its row; both axes titled."""
    lines = widget.text.splitlines()
    columns, rows = widget.map_size(*widget.content_size)
    left = widget.label_width(rows) + 2
    (w_lo, w_hi), (b_lo, b_hi) = widget.window
    assert lines[0].split()[0] == "b" and lines[-1].endswith(" w")
    cell = (w_hi - w_lo) / (columns - 1)
    labels = [(m.start(), m.group()) for m in re.finditer(r"\S+", lines[-1][:-2])]
    assert len(labels) >= 2
    for at, text in labels:
        value = float(text)
        centre = w_lo + (at + (len(text) - 1) / 2 - left) * cell
        assert abs(centre - value) <= cell, f"w label {text!r} under w={centre:.4g}"
    rows_cell = (b_hi - b_lo) / (rows - 1)
    b_labels = 0
    for r, line in enumerate(lines[1:1 + rows]):
        label = line[:left - 1].strip()
        if label:
            b_labels += 1
            assert abs(b_hi - r * rows_cell - float(label)) <= rows_cell / 2 + 1e-12, f"b label {label!r}"
    assert b_labels >= 2


async def test_axis_labels_are_whole_at_80x24_when_zoomed():
    app = raw_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("N", "w")
        await pilot.pause()
        widget = app.screen.query_one(LandscapeMap)
        tick_row_ok(widget)
        for key in ("i", "i", "i", "i", "i", "O", "f", "O", "O"):
            await pilot.press(key)
            await pilot.pause()
            tick_row_ok(widget)


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


async def test_arrow_keys_in_a_burst_add_up():
    app = raw_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("N", "w")
        (w_lo, w_hi), (b_lo, b_hi) = app.screen.current_window()
        await burst(pilot, "left", "left", "up", "up", "up")
        s = app.runner.latest
        assert s.setup.init_w == pytest.approx(1 - 2 * 0.1 * (w_hi - w_lo), rel=1e-3)  # 4 digits a step
        assert s.setup.init_b == pytest.approx(3 * 0.1 * (b_hi - b_lo), rel=1e-3)
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


@pytest.mark.parametrize("width, beside", [(119, False), (120, True)])
async def test_the_loss_curve_sits_beside_the_map_from_120_columns(width, beside):
    app = make_app(pretrain=300)
    async with app.run_test(size=(width, 40)) as pilot:
        await pilot.press("w", "n", "n")
        await pilot.pause()
        plot = app.screen.query_one("#landscape-loss", LossPlot)
        widget = app.screen.query_one(LandscapeMap)
        assert plot.display == beside and (plot.region.width > 40) == beside
        assert widget.region.width == (width - plot.region.width - 1 if beside else width)
        if beside:
            assert plot.snapshot is app.screen.snapshot and plot.snapshot.epoch == 302  # the same frame
        else:
            assert plot.snapshot is None  # hidden: not drawn at all
        tick_row_ok(widget)


async def test_widening_the_terminal_brings_the_loss_curve_in_at_the_same_epoch():
    app = make_app(pretrain=300)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("w", "n")
        plot = app.screen.query_one("#landscape-loss", LossPlot)
        assert not plot.display and plot.snapshot is None  # hidden: not drawn at all
        await pilot.resize_terminal(130, 40)
        await pilot.pause()
        assert plot.display and plot.snapshot is app.screen.snapshot and plot.snapshot.epoch == 301
        tick_row_ok(app.screen.query_one(LandscapeMap))


async def test_a_zoom_is_kept_while_the_start_moves_but_not_on_new_input():
    app = raw_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("N", "w", "i", "right")
        zoomed = app.screen.current_window()
        await pilot.press("N")
        assert app.screen.current_window() == zoomed  # the same surface: the view stays still
        await pilot.press("z")  # standardised input: another surface, fitted afresh
        await pilot.pause()
        assert app.screen.window is None
        assert "✕" in app.screen.query_one(LandscapeMap).text


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
        widget = app.screen.query_one(LandscapeMap)
        text = widget.text
        assert all(ord(ch) < 128 for ch in text + app.screen.text)
        assert "X" in text and "S" in text and "@" in text
        chars, styles, loss = map_cells(widget)
        assert all(style.bgcolor is None for row in styles for style in row)
        assert np.count_nonzero(np.isin(chars, list("-/|\\"))) > 50  # contour lines
        assert widget.lines[0].plain.split()[:4] == ["b", "loss", "[", "]"]  # band 0: blank
        assert "3 [....] 10 [::::] 30 [;;;;] 100 [++++] 300 [****] 1e3 [####]" in widget.lines[0].plain
        tick_row_ok(widget)
        # the shade thickens uphill, band by band
        shaded = np.isin(chars, list(SHADES_ASCII))
        order = np.argsort(loss[shaded])
        shade_rank = np.array([SHADES_ASCII.index(ch) for ch in chars[shaded]])[order]
        assert np.all(np.diff(shade_rank) >= 0) and shade_rank[-1] == len(SHADES_ASCII) - 1


async def test_without_colour_the_bands_are_shaded(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = raw_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("N", "w")
        await pilot.pause()
        assert app.no_color
        widget = app.screen.query_one(LandscapeMap)
        chars, styles, loss = map_cells(widget)
        assert all(style.bgcolor is None for row in styles for style in row)
        assert np.count_nonzero(np.isin(chars, list("─╱│╲"))) > 50
        assert {"░", "▒", "▓", "█"} <= set(chars.flat)
        assert "✕" in widget.text and "●" in widget.text and "○" in widget.text
        assert "3 ▕····▏ 10 ▕::::▏ 30 ▕░░░░▏ 100 ▕▒▒▒▒▏ 300 ▕▓▓▓▓▏ 1e3 ▕████▏" in widget.lines[0].plain


def test_ticks_are_round_values_inside_the_window():
    assert ticks(-19.9, 2.6, 6) == [(-15.0, "-15"), (-10.0, "-10"), (-5.0, "-5"), (0.0, "0")]
    assert ticks(2.6, -19.9, 6) == ticks(-19.9, 2.6, 6)  # either way round
    assert [t for _, t in ticks(0.118, 1.11, 5)] == ["0.2", "0.4", "0.6", "0.8", "1.0"]
    assert [t for _, t in ticks(0.5357, 0.5379, 4)] == ["0.536", "0.537"]  # steps of 0.001: 0.0005 is too fine for 4
    assert [t for _, t in ticks(-2.1e15, 1e14, 3)] == ["-2e+15", "-1e+15", "0"]
    assert ticks(1.0, 1.0, 4) == [] and ticks(0.0, float("inf"), 4) == []


def test_loss_labels_fit_in_five_characters():
    assert [loss_label(v) for v in (2.928, 3, 10, 300, 1000, 2500, 0.05, 0.005, 1e35)] == \
        ["2.93", "3", "10", "300", "1e3", "2.5e3", "0.05", "5e-3", "1e35"]


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
