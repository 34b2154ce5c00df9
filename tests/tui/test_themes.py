"""Kepler's themes: each one applies (to the stylesheet and to the plots' colours), the
palette offers exactly Kepler's three, `--theme` is parsed with one clear line for a bad
name, and the high-contrast and light themes keep every piece of text readable (WCAG
contrast, measured on the cells the app draws)."""
from __future__ import annotations

import io
import sys
import types

import pytest
from rich.cells import cell_len
from rich.console import Console
from textual.command import CommandList

from engine.training.trainer import Hyperparameters, Setup
from tui import cli
from tui.themes import THEMES, contrast_ratio, plot_colour
from tui.widgets.fit_plot import FitPlot
from tui.widgets.loss_plot import LossPlot

from pilot_helpers import make_app, overfitting_app, raw_diverging_app

SPLIT = dict(setup=Setup(input_transform="scale", val_fraction=0.2), hyper=Hyperparameters(epochs=5000))


def colours_in(widget) -> set[tuple[int, int, int]]:
    """The foreground colours of the cells a plot shows."""
    found = set()
    for strip in widget._strips:
        for segment in strip:
            if segment.style is not None and segment.style.color is not None and segment.text.strip():
                found.add(tuple(segment.style.color.get_truecolor()))
    return found


# ---------------------------------------------------------------------- each theme applies
def test_light_at_80x24(snap_compare):
    assert snap_compare(make_app(pretrain=1000, theme_name="light", **SPLIT), terminal_size=(80, 24))


def test_high_contrast_at_80x24(snap_compare):
    assert snap_compare(make_app(pretrain=1000, theme_name="high-contrast", **SPLIT), terminal_size=(80, 24))


BACKGROUNDS = {"dark": (0x12, 0x12, 0x12), "light": (0xF7, 0xF7, 0xF7), "high-contrast": (0xFF, 0xFF, 0xFF)}


@pytest.mark.parametrize("name", list(THEMES))
async def test_the_app_starts_in_the_theme_it_is_given(name):
    app = make_app(pretrain=200, theme_name=name, **SPLIT)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == name
        assert app.screen.styles.background.rgb == BACKGROUNDS[name]
        loss, fit = app.trainer_screen.query_one(LossPlot), app.trainer_screen.query_one(FitPlot)
        wanted = {role: plot_colour(app, role) for role in ("train", "val", "model")}
        assert wanted["train"] == tuple(int(THEMES[name].variables["kepler-train"][i:i + 2], 16) for i in (1, 3, 5))
        assert {wanted["train"], wanted["val"]} <= colours_in(loss)
        assert {wanted["train"], wanted["val"], wanted["model"]} <= colours_in(fit)


async def test_plot_colour_reads_keplers_roles_and_textuals_variables():
    app = make_app(theme_name="high-contrast")
    async with app.run_test(size=(80, 24)) as pilot:
        assert plot_colour(app, "val") == (0xB3, 0x47, 0x00)  # kepler-val
        assert plot_colour(app, "primary") == (0, 50, 204)  # Textual's $primary (its #0033CC, as Textual generates it)
        assert plot_colour(app, "text-muted", (1, 2, 3)) == (1, 2, 3)  # "auto 60%": not one colour
        app.theme = "textual-light"  # one of Textual's, without Kepler's variables: the dark ones
        await pilot.pause()
        assert plot_colour(app, "train") == (0x01, 0x78, 0xD4)


def test_the_dark_theme_is_textuals_dark_colour_for_colour():
    from textual.theme import BUILTIN_THEMES

    dark, textual = THEMES["dark"], BUILTIN_THEMES["textual-dark"]
    for field in ("primary", "secondary", "accent", "warning", "error", "success", "foreground", "background",
                  "surface", "panel", "boost", "dark"):
        assert getattr(dark, field) == getattr(textual, field), field


def test_an_unknown_theme_name_is_refused_by_the_app():
    with pytest.raises(ValueError, match="no theme 'blue'; Kepler's themes: dark, light, high-contrast"):
        make_app(theme_name="blue")


# ---------------------------------------------------------------------- the palette
async def test_the_palettes_theme_list_is_keplers_three_and_switches_the_plots():
    app = make_app(pretrain=200, **SPLIT)
    async with app.run_test(size=(80, 24)) as pilot:
        dark_train = plot_colour(app, "train")
        app.action_change_theme()  # the palette's "Theme" command
        await pilot.pause()
        await pilot.pause(0.3)
        options = app.screen.query_one(CommandList)
        names = sorted(str(options.get_option_at_index(i).prompt).split("\n")[0] for i in range(options.option_count))
        assert names == ["dark", "high-contrast", "light"]
        await pilot.press(*"light", "enter")
        await pilot.pause()
        assert app.theme == "light" and app.screen is app.trainer_screen
        light_train = plot_colour(app, "train")
        assert light_train != dark_train
        # The plots are drawn again in the new colours (the one that changed: the training series).
        colours = colours_in(app.trainer_screen.query_one(LossPlot))
        assert light_train in colours and dark_train not in colours


async def test_the_main_palette_switches_theme_in_one_command():
    app = make_app(pretrain=50)
    async with app.run_test(size=(80, 24)) as pilot:
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        assert {"Theme: light", "Theme: high-contrast"} <= set(commands) and "Theme: dark" not in commands
        commands["Theme: high-contrast"].callback()
        await pilot.pause()
        assert app.theme == "high-contrast"
        assert "Theme: dark" in {c.title for c in app.get_system_commands(app.screen)}


# ---------------------------------------------------------------------- contrast
DECORATION = set("▏")  # the footer's separator: a line, not text


def text_contrasts(app, region=None) -> list[tuple[float, str]]:
    """(WCAG contrast, text) for every run of non-blank cells on screen (or in `region` of
    it), as the terminal gets them."""
    console = Console(width=app.size.width, height=app.size.height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    found = []
    x = y = 0
    for segment in console._record_buffer:
        if segment.control:
            continue
        if segment.text == "\n":
            x, y = 0, y + 1
            continue
        at, x = x, x + cell_len(segment.text)
        text = segment.text.strip()
        if not text or set(text) <= DECORATION or (region is not None and not region.contains(at, y)):
            continue
        style = segment.style
        foreground, background = style.color.get_truecolor(), style.bgcolor.get_truecolor()
        if style.reverse:
            foreground, background = background, foreground
        found.append((contrast_ratio(tuple(foreground), tuple(background)), text))
    return found


def text_only(found):
    return [(ratio, text) for ratio, text in found if any(c.isalnum() for c in text)]


@pytest.mark.parametrize("make", [lambda **o: make_app(pretrain=1000, **SPLIT, **o),
                                  lambda **o: raw_diverging_app(pretrain=20, **o),
                                  lambda **o: overfitting_app(pretrain=600, **o)],
                         ids=["split", "diverged", "overfitting"])
async def test_high_contrast_text_is_at_least_4_5_to_1_everywhere(make):
    app = make(theme_name="high-contrast")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        found = text_contrasts(app)
        assert found
        low = [(round(ratio, 2), text) for ratio, text in found if ratio < 4.5]  # curves and frames included
        assert not low


@pytest.mark.parametrize("make", [lambda **o: make_app(pretrain=1000, **SPLIT, **o),
                                  lambda **o: raw_diverging_app(pretrain=20, **o)], ids=["split", "diverged"])
async def test_light_text_is_at_least_4_5_to_1(make):
    app = make(theme_name="light")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        low = [(round(ratio, 2), text) for ratio, text in text_only(text_contrasts(app)) if ratio < 4.5]
        assert not low


@pytest.mark.parametrize("theme", ["light", "high-contrast"])
@pytest.mark.parametrize("key", ["question_mark", "p", "g", "c", "d", "ctrl+s", "C"])
async def test_dialogs_text_is_at_least_4_5_to_1(theme, key):
    app = make_app(pretrain=300, theme_name=theme, **SPLIT)
    async with app.run_test(size=(100, 34)) as pilot:
        await pilot.press(key)
        await pilot.pause()
        assert app.screen is not app.trainer_screen
        dialog = app.screen.children[0].region  # the dialog, not the dimmed trainer behind it
        found = text_only(text_contrasts(app, dialog))
        assert len(found) > 3
        assert not [(round(ratio, 2), text) for ratio, text in found if ratio < 4.5]


# ---------------------------------------------------------------------- --theme
@pytest.fixture
def app_calls(monkeypatch) -> list[dict]:
    calls: list[dict] = []
    fake = types.ModuleType("tui.app")
    fake.run_app = lambda **kwargs: calls.append(kwargs) or 0
    monkeypatch.setitem(sys.modules, "tui.app", fake)
    return calls


def test_kepler_theme_reaches_the_app(app_calls):
    assert cli.main(["--theme", "high-contrast"]) == 0
    assert cli.main([]) == 0
    assert [call["theme_name"] for call in app_calls] == ["high-contrast", "dark"]


def test_a_bad_theme_gets_one_line_and_exit_2(app_calls, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--theme", "solarized"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and not app_calls
    assert err.strip() == ("kepler: error: argument --theme: no theme 'solarized'; "
                           "Kepler's themes are dark, light, high-contrast")


def test_the_servers_pass_the_theme_to_every_session(tmp_path):
    from serve.ssh import SSHSettings, student_options
    from serve.web import KeplerWebServer

    parser = cli.build_parser()
    assert parser.parse_args(["serve-ssh", "--theme", "light"]).theme == "light"
    assert parser.parse_args(["serve-web"]).theme == "dark"
    assert student_options(SSHSettings(speed_cap=None, theme="light"), {}) == ["--low-bandwidth", "--theme", "light"]
    # A student asks for another one; a name that is not a theme leaves the server's.
    assert student_options(SSHSettings(speed_cap=None), {"KEPLER_THEME": "High-Contrast"})[-2:] == [
        "--theme", "high-contrast"]
    assert student_options(SSHSettings(speed_cap=None, theme="light"), {"KEPLER_THEME": "../x"})[-1] == "light"
    assert student_options(SSHSettings(speed_cap=None), {}) == ["--low-bandwidth"]
    server = KeplerWebServer(theme="high-contrast", speed_cap=None, state_dir=tmp_path)
    assert server.app_options == ["--theme", "high-contrast"]
    assert cli.build_parser().parse_args(["--theme", "light"] + server.app_options).theme == "high-contrast"
