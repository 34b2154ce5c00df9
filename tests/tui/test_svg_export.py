"""The screen's SVG (ctrl+g) for slides: braille, blocks and box drawing become shapes on the
cell grid, so a browser draws the curves as a terminal does (tui/svg_export.py)."""
from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ElementTree

from engine.training.trainer import Hyperparameters, Setup
from tui.svg_export import MARK, for_slides, shapes_for
from tui.themes import plot_colour

from pilot_helpers import make_app

SPLIT = dict(setup=Setup(input_transform="scale", val_fraction=0.2), hyper=Hyperparameters(epochs=5000))
SVG = "{http://www.w3.org/2000/svg}"


def drawn_text(svg: str) -> str:
    return "".join(html.unescape(t) for t in re.findall(r"<text [^>]*>([^<]*)</text>", svg))


def numbers(shape: str) -> dict[str, float]:
    return {name: float(value) for name, value in re.findall(r'(\w+)="([-\d.]+)"', shape)}


# ---------------------------------------------------------------------- one cell
def test_a_braille_cell_is_its_dots_spread_over_the_whole_cell():
    # A cell 12 wide and 24 tall at (100, 50): dots on a 6 x 6 grid, at the sub-cells' centres.
    (dot,) = shapes_for("⠁", 100, 50, 12, 24)  # dot 1: left column, top row
    assert numbers(dot)["cx"] == 103 and numbers(dot)["cy"] == 53
    (dot,) = shapes_for("⢀", 100, 50, 12, 24)  # dot 8: right column, bottom row
    assert numbers(dot)["cx"] == 109 and numbers(dot)["cy"] == 71
    full = [numbers(d) for d in shapes_for("⣿", 100, 50, 12, 24)]
    assert sorted((d["cx"], d["cy"]) for d in full) == [(x, y) for x in (103, 109) for y in (53, 59, 65, 71)]
    assert shapes_for("⠀", 100, 50, 12, 24) == []  # the blank pattern: nothing


def test_lines_and_blocks_reach_the_cells_edges():
    bars = [numbers(s) for s in shapes_for("│", 0, 0, 10, 20)]
    assert min(b["y"] for b in bars) == 0 and max(b["y"] + b["height"] for b in bars) == 20  # no gap between rows
    assert all(4 < b["x"] < 5 < b["x"] + b["width"] < 6 for b in bars)  # a thin line down the middle
    arms = [numbers(s) for s in shapes_for("┤", 0, 0, 10, 20)]
    assert min(a["x"] for a in arms) == 0 and len(arms) == 3
    (upper,) = [numbers(s) for s in shapes_for("▀", 0, 0, 10, 20)]
    assert (upper["y"], upper["height"], upper["width"]) == (0, 10, 10)
    assert shapes_for("a", 0, 0, 10, 20) is None and shapes_for("●", 0, 0, 10, 20) is None  # stays text


def test_a_rounded_corner_joins_the_lines_beside_it():
    # ╭ in a cell 10 x 20 at the origin: from the right edge's middle to the bottom edge's middle.
    (path,) = shapes_for("╭", 0, 0, 10, 20)
    points = [tuple(map(float, p.split(","))) for p in re.findall(r"[-\d.]+,[-\d.]+", path)]
    assert points[0] == (10, 9.4) and points[-1] == (10, 10.6)  # the right edge, a line's width apart
    assert (4.4, 20) in points and (5.6, 20) in points  # the bottom edge, around its middle
    (path,) = shapes_for("╯", 0, 0, 10, 20)
    assert re.search(r"M0,10\.6 ", path) and "5.6,0" in path  # mirrored: the left edge and the top edge


# ---------------------------------------------------------------------- a whole screen
async def test_the_exported_svg_has_the_plots_as_shapes_and_the_text_as_before(tmp_path):
    app = make_app(pretrain=1000, **SPLIT)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        textual = app.export_screenshot()
        slides = for_slides(textual)
        assert for_slides(slides) == slides  # once only
        root = ElementTree.fromstring(slides)  # well-formed
        assert MARK in slides
        before, after = drawn_text(textual), drawn_text(slides)
        assert re.search("[\u2801-\u28ff]", before) and not re.search("[\u2801-\u28ff]", after)
        # Every other character is where it was, and the frame's corners became shapes.
        assert [c for c in before if c.isalnum()] == [c for c in after if c.isalnum()]
        # Each word sits at its own cell (renderers that ignore textLength cannot drift it).
        words = re.findall(r'<text class="terminal[^"]*" x="([-\d.]+)"[^>]*>([^<]*)</text>', slides)
        assert len(words) > 150 and all("&#160;" not in word and " " not in word for _, word in words)
        assert all(abs(float(x) / 12.2 - round(float(x) / 12.2)) < 1e-6 for x, _ in words)
        dots = [c for c in root.iter(f"{SVG}circle") if c.get("fill") is None]  # not the window's buttons
        braille_dots = sum(bin(ord(c) - 0x2800).count("1") for c in before if 0x2800 < ord(c) <= 0x28FF)
        assert len(dots) == braille_dots > 200
        # The dots are in the plots' colours, by the same CSS classes as the text was.
        train = "#{:02x}{:02x}{:02x}".format(*plot_colour(app, "train"))
        classes = {g.get("class") for g in root.iter(f"{SVG}g") if g.find(f"{SVG}circle") is not None and g.get("class")}
        rules = dict(re.findall(r"\.(terminal-\d+-r\d+) \{ fill: (#[0-9a-f]{6})", slides))
        assert train in {rules[c] for c in classes}


async def test_ctrl_g_writes_the_svg_for_slides(tmp_path):
    app = make_app(pretrain=300, theme_name="light")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+g")
        app.screen.query_one("Input").value = str(tmp_path / "screen.svg")
        await pilot.press("enter")
        await pilot.pause()
        svg = (tmp_path / "screen.svg").read_text()
        assert MARK in svg and "<circle" in svg and "DejaVu Sans Mono" in svg
        assert not re.search("[\u2801-\u28ff]", drawn_text(svg))


async def test_a_served_students_export_is_for_slides_too(tmp_path):
    from tui.workspace import ServedWorkspace

    app = make_app(pretrain=300, workspace=ServedWorkspace(tmp_path, None))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+g")
        await pilot.pause()
        (written,) = tmp_path.glob("kepler-screen-*.svg")
        assert MARK in written.read_text()


async def test_the_palette_exports_the_screen_only_through_ctrl_g():
    app = make_app()
    async with app.run_test(size=(80, 24)):
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert "Save the screen as an SVG picture (ctrl+g)" in titles and "Screenshot" not in titles
