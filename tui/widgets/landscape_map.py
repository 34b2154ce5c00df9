"""The line's loss L(w, b) over a grid, as a colour map with contour lines, a legend and
labelled axes, and the descent path on top.

Each cell is the exact loss at its (w, b) (engine.lesson.landscape), coloured by log10 of
the loss on viridis (tui/loss_colours.py): dark in the valley, bright up the walls. Contour
lines at round loss values are drawn as characters over the colour (─ ╱ │ ╲ along the
level), and the legend on the top line gives the loss at each of them. On raw readings the
valley is a long thin diagonal (a step that suits b overshoots in w); on 0.1 x raw it opens
up into a round bowl.

Without colour (`--ascii`, or NO_COLOR in the environment) the bands between contour lines
are shaded with characters instead, densest up the walls, so the map still reads.

Drawn in this order, each over the last: the map, the contour lines, pinned runs' paths
(ghosts), this run's path, its start, where it is now, and the minimum, so the minimum is
never hidden (when the run sits on it, one glyph says both).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rich.style import Style
from rich.text import Span, Text
from textual import events
from textual.message import Message
from textual.widget import Widget

from engine.lesson.landscape import grid, line_minimum

from ..loss_colours import (LogScale, colour_at, contour_cells, contour_directions, contour_levels,
                            hex_colour, luminance, nice_step)


# ---------------------------------------------------------------------------- looks
# Every colour and glyph of the map that is not the colour map itself, in one place (so they
# can follow a theme). A colour of None means "black or white, whichever stands out on the
# cell underneath": the map runs from dark to bright, so no one colour reads everywhere.
@dataclass(frozen=True)
class Mark:
    glyph: str
    ascii: str
    colour: str | None = None
    bold: bool = True
    faint: bool = False  # halfway between its colour and the cell's (pinned runs)


MARKS = {
    "ghost": Mark("∘", "~", bold=False, faint=True),
    "path": Mark("•", "o"),
    "start": Mark("○", "S"),
    "now": Mark("●", "@", colour="#ff4f4f"),
    "minimum": Mark("✕", "X"),
    "now_on_minimum": Mark("⊗", "&", colour="#ff4f4f"),  # the run has reached the minimum's cell
    "minimum_off_map": Mark("✕", "X"),  # drawn as an arrow at the edge, towards the minimum
}
# (columns, rows) to go, by sign, -> the arrow at the map's edge that points to the minimum
ARROWS = {(-1, -1): "↖", (0, -1): "↑", (1, -1): "↗", (-1, 0): "←", (1, 0): "→",
          (-1, 1): "↙", (0, 1): "↓", (1, 1): "↘"}
CONTOUR_GLYPHS = "─╱│╲"
CONTOUR_ASCII = "-/|\\"
CONTOUR_STRENGTH = 0.6  # contour lines: this far from the cell's colour towards black or white
SHADES = " ·:░▒▓█"  # the bands between contour lines, without colour: lowest loss first
SHADES_ASCII = " .:;+*#"
AXIS_STYLE = Style()  # axis titles and tick labels: the theme's text colour
RULE_STYLE = Style()  # axis lines and tick marks
MOST_LEVELS = 6  # contour lines at most (one shade per band in the colourless map)
COLOUR_STEPS = 64  # the colour map in this many steps: smooth to the eye, and neighbouring
                   # cells often share one, so a row is fewer spans and fewer bytes to send


def cell_of(value: float, low: float, high: float, cells: int) -> int | None:
    """The cell index of `value` on an axis of `cells` cells running from `low` to `high`
    (either way round), or None when it is off the map."""
    if not math.isfinite(value) or high == low:
        return None
    position = (value - low) / (high - low) * (cells - 1)
    if position < -0.5 or position > cells - 0.5:
        return None
    return int(round(position))


def loss_label(value: float) -> str:
    """A loss in at most 5 characters: 2.93, 0.05, 300, 1e3, 2.5e3."""
    if value >= 1000 or (0 < value < 0.01):
        mantissa, exponent = f"{value:.1e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exponent)}"
    return f"{value:.3g}"


def tick_label(value: float, step: float) -> str:
    """A tick value with as many decimals as the step between ticks needs."""
    if abs(value) >= 1e5 or 0 < step < 1e-4:
        return f"{value:.3g}"
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    text = f"{value:.{decimals}f}"
    return "0" if float(text) == 0 else text


def ticks(low: float, high: float, most: int) -> list[tuple[float, str]]:
    """Round values between `low` and `high` (in either order), at most `most` of them."""
    low, high = min(low, high), max(low, high)
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low or most < 1:
        return []
    step = nice_step((high - low) / most)
    first = math.ceil(low / step - 1e-9)
    values = [(first + i) * step for i in range(most + 2)]
    values = [v for v in values if low - 1e-9 * step <= v <= high + 1e-9 * step]
    return [(v, tick_label(v, step)) for v in values]


def band_shades(band: np.ndarray, levels: int, shades: str) -> np.ndarray:
    """The shade of each band between `levels` contour levels (band 0: below the lowest),
    spread over `shades` from the sparsest to the densest."""
    index = np.rint(np.asarray(band) * (len(shades) - 1) / max(levels, 1)).astype(int)
    return np.array(list(shades))[np.clip(index, 0, len(shades) - 1)]


class LandscapeMap(Widget):
    """Shows `x`, `y` (the inputs the model sees and the targets) as a loss map over the
    window `w_range` x `b_range`, with `path` (n x 2, (w, b)) and the run's `start` on it, over
    the fainter paths of pinned runs."""

    DEFAULT_CSS = "LandscapeMap { width: 1fr; height: 1fr; text-wrap: nowrap; text-overflow: clip; }"

    class Resized(Message):
        """The map has a new size: which cells the points fall in may have changed."""

    def __init__(self, *, ascii_only: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.ascii_only = ascii_only
        self.message: str | None = "(nothing to draw yet)"
        self.x = self.y = None
        self.window = ((0.0, 1.0), (0.0, 1.0))
        self.path = np.zeros((0, 2))
        self.start = (1.0, 0.0)
        self.ghost_paths: list[np.ndarray] = []
        self.lines: list[Text] = []
        self.levels: list[float] = []  # the contour levels last drawn (the legend's values)
        self._drawn: tuple | None = None  # what the last frame showed, to skip repainting it
        self.now_on_minimum = False  # the run's point and the minimum share a cell (one glyph for both)
        self.minimum_arrow: str | None = None  # zoomed away from the minimum: the arrow pointing to it

    @property
    def coloured(self) -> bool:
        """Colours for the map, unless --ascii or NO_COLOR (Textual reads NO_COLOR into
        app.no_color and turns every colour to grey; the shaded map reads better then)."""
        return not self.ascii_only and not self.app.no_color

    def show_message(self, message: str) -> None:
        self.message = message
        self._drawn = None
        self.refresh()

    def show(self, x: np.ndarray, y: np.ndarray, window, path: np.ndarray, start: tuple[float, float],
             ghost_paths: list[np.ndarray] = ()) -> None:
        """`ghost_paths`: the paths of pinned earlier runs, drawn fainter under this one's."""
        self.message = None
        self.x, self.y, self.window, self.path, self.start = x, y, window, path, start
        self.ghost_paths = list(ghost_paths)
        self.now_on_minimum, self.minimum_arrow = self._where_the_minimum_is()
        # A new snapshot often leaves the picture as it was (a converged run stays in its
        # cell): repaint only when a cell would change, which saves a slow link a frame.
        drawn = self._picture_key()
        if drawn != self._drawn:
            self._drawn = drawn
            self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self.post_message(self.Resized())

    def _where_the_minimum_is(self) -> tuple[bool, str | None]:
        """(the run's point shares the minimum's cell, the arrow to the minimum if it is off the map)."""
        columns, rows = self.map_size(*self.content_size)
        if columns < 1 or rows < 1:
            return False, None
        (w_lo, w_hi), (b_lo, b_hi) = self.window
        minimum = line_minimum(self.x, self.y)

        def cell(w: float, b: float):
            return cell_of(w, w_lo, w_hi, columns), cell_of(b, b_hi, b_lo, rows)

        at_minimum = cell(minimum[0], minimum[1])
        if None in at_minimum:
            arrow = self.arrow_to(minimum, columns, rows)
            return False, None if arrow is None else arrow[1]
        return bool(len(self.path)) and at_minimum == cell(*self.path[-1]), None

    def _picture_key(self) -> tuple:
        width, height = self.content_size
        (w_lo, w_hi), (b_lo, b_hi) = self.window
        columns, rows = self.map_size(width, height)

        def cells(points) -> frozenset:
            found = set()
            for w, b in np.asarray(points, dtype=np.float64).reshape(-1, 2):
                found.add((cell_of(w, w_lo, w_hi, columns), cell_of(b, b_hi, b_lo, rows)))
            return frozenset(found)

        data = (self.x.tobytes(), self.y.tobytes()) if self.x is not None else None
        return (width, height, self.window, data, cells(self.path[:-1]), cells(self.path[-1:]),
                cells([self.start]), cells(np.vstack([np.zeros((0, 2)), *self.ghost_paths])), self.coloured)

    @property
    def text(self) -> str:
        return "\n".join(line.plain for line in self.lines)

    def render(self) -> Text:
        self.lines = self.build(*self.content_size)
        return Text("\n", no_wrap=True, overflow="crop").join(self.lines)

    # ------------------------------------------------------------------ drawing
    def b_ticks(self, rows: int) -> list[tuple[float, str]]:
        (_, _), (b_lo, b_hi) = self.window
        return ticks(b_lo, b_hi, max(2, rows // 3))

    def label_width(self, rows: int) -> int:
        return max([len(text) for _, text in self.b_ticks(rows)] + [1])

    def map_size(self, width: int, height: int) -> tuple[int, int]:
        rows = height - 3  # the legend above, the w axis and its labels below
        columns = width - self.label_width(max(rows, 1)) - 2 - 2  # b labels, a space, the axis; " w" at the right
        return columns, rows

    def build(self, width: int, height: int) -> list[Text]:
        if self.message is not None:
            return [Text(self.message, style="bold")]
        columns, rows = self.map_size(width, height)
        if columns < 12 or rows < 4:
            return [Text("(too small to draw the landscape)", style="dim")]
        (w_lo, w_hi), (b_lo, b_hi) = self.window
        land = grid(self.x, self.y, (w_lo, w_hi), (b_hi, b_lo), columns=columns, rows=rows)  # top row: highest b
        loss = land.loss
        scale = LogScale(float(loss.min()), float(loss.max()))
        self.levels = levels = contour_levels(scale.low, scale.high, MOST_LEVELS)
        canvas = self.paint(loss, scale, levels)
        self.draw_marks(canvas, land.minimum, columns, rows)

        label_width = self.label_width(rows)
        b_labels = {}
        for value, text in self.b_ticks(rows):
            row = cell_of(value, b_hi, b_lo, rows)
            if row is not None:
                b_labels[row] = text
        bar, tick = ("|", "+") if self.ascii_only else ("│", "┤")
        lines = [self.legend(scale, levels, label_width, width)]
        for r in range(rows):
            line = Text()
            if r in b_labels:
                line.append(f"{b_labels[r]:>{label_width}} ", AXIS_STYLE)
                line.append(tick, RULE_STYLE)
            else:
                line.append(" " * (label_width + 1))
                line.append(bar, RULE_STYLE)
            line.append_text(canvas.row(r))
            lines.append(line)
        lines.extend(self.w_axis(label_width, columns, width))
        return lines

    def paint(self, loss: np.ndarray, scale: LogScale, levels: list[float]) -> "Canvas":
        """The map's cells: colour (or shade), and contour lines."""
        on_contour = contour_cells(loss, levels) >= 0
        glyphs = np.array(list(CONTOUR_GLYPHS if not self.ascii_only else CONTOUR_ASCII))
        lines = glyphs[contour_directions(loss)]
        if self.coloured:
            step = np.rint(scale.position(loss) * (COLOUR_STEPS - 1)).astype(int)
            palette, styles = colour_steps()
            return Canvas(np.where(on_contour, lines, " "), step + COLOUR_STEPS * on_contour, list(styles),
                          palette[step])
        shades = SHADES_ASCII if self.ascii_only else SHADES
        band = np.searchsorted(np.asarray(levels, dtype=np.float64), loss, side="right")
        return Canvas(np.where(on_contour, lines, band_shades(band, len(levels), shades)),
                      on_contour.astype(int), [Style(), Style(bold=True)], None)

    def draw_marks(self, canvas: "Canvas", minimum, columns: int, rows: int) -> None:
        (w_lo, w_hi), (b_lo, b_hi) = self.window

        def where(w: float, b: float):
            c, r = cell_of(w, w_lo, w_hi, columns), cell_of(b, b_hi, b_lo, rows)
            return None if c is None or r is None else (r, c)

        def put(at, mark: Mark) -> None:
            if at is None:
                return
            glyph = mark.ascii if self.ascii_only else mark.glyph
            if canvas.background is None:
                canvas.put(*at, glyph, Style(bold=mark.bold, dim=mark.faint))
                return
            under = canvas.background[at]
            colour = mark.colour
            if colour is None:
                colour = "#000000" if luminance(under) > 0.35 else "#ffffff"
            if mark.faint:
                over = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
                colour = hex_colour(np.rint((over + under) / 2))
            canvas.put(*at, glyph, _style(colour, hex_colour(under), bold=mark.bold))

        for ghost in self.ghost_paths:
            for w, b in ghost:
                put(where(w, b), MARKS["ghost"])
        for w, b in self.path[:-1]:
            put(where(w, b), MARKS["path"])
        put(where(*self.start), MARKS["start"])
        now = where(*self.path[-1]) if len(self.path) else None
        put(now, MARKS["now"])
        at_minimum = where(minimum[0], minimum[1])
        arrow = self.arrow_to(minimum, columns, rows) if at_minimum is None else None
        if arrow is not None:  # zoomed away from it: an arrow at the edge says where it is
            edge, glyph = arrow
            mark = MARKS["minimum_off_map"]
            put(edge, Mark(glyph, glyph, mark.colour, mark.bold, mark.faint))
        elif at_minimum is not None:
            put(at_minimum, MARKS["now_on_minimum"] if at_minimum == now else MARKS["minimum"])

    def arrow_to(self, point, columns: int, rows: int):
        """For a point off the map: the cell at the map's edge nearest to it, and the arrow
        that points from there to it (None for a point on the map, or not a number)."""
        (w_lo, w_hi), (b_lo, b_hi) = self.window
        column = (point[0] - w_lo) / (w_hi - w_lo) * (columns - 1)
        row = (point[1] - b_hi) / (b_lo - b_hi) * (rows - 1)
        if not (math.isfinite(column) and math.isfinite(row)):
            return None
        edge = (int(np.clip(round(row), 0, rows - 1)), int(np.clip(round(column), 0, columns - 1)))
        across = int(np.sign(round(column) - edge[1]))
        down = int(np.sign(round(row) - edge[0]))
        if not (across or down):
            return None
        if self.ascii_only:  # no diagonal arrows in ASCII: the longer way (a row is two columns tall)
            far_across = abs(column - edge[1]) >= 2 * abs(row - edge[0])
            glyph = ("<" if across < 0 else ">") if (far_across and across) or not down else ("^" if down < 0 else "v")
        else:
            glyph = ARROWS[(across, down)]
        return edge, glyph

    def legend(self, scale: LogScale, levels: list[float], label_width: int, width: int) -> Text:
        """The top line: the b axis title, then the loss at each contour line with the colours
        (or shades) between them: a colour bar with its values written in it."""
        line = Text()
        line.append(f"{'b':>{label_width}}", Style(bold=True))
        line.append("   loss ", AXIS_STYLE)
        labels = [loss_label(v) for v in levels]
        room = width - len(line) - 1 - sum(len(t) + 2 for t in labels)
        segments = len(levels) + 1
        if room < 2 * segments:  # too narrow for a bar: the values alone
            line.append(" ".join(labels), AXIS_STYLE)
            return line
        bounds = [scale.low] + list(levels) + [scale.high]
        if self.coloured:
            # A colour bar: each stretch as wide as its share of the scale (log loss), so the
            # values sit where their colours are.
            edges = [round(room * float(scale.position(v))) for v in bounds]
            for i in range(segments):
                for k in range(edges[i], edges[i + 1]):
                    line.append(" ", colour_steps()[1][round((k + 0.5) / room * (COLOUR_STEPS - 1))])
                if i < len(levels):
                    line.append(f" {labels[i]} ", AXIS_STYLE)
            return line
        # Without colour: each band's shade between brackets, the values between the bands.
        shades = SHADES_ASCII if self.ascii_only else SHADES
        share = min(room // segments, 6)
        for i in range(segments):
            shade = str(band_shades(np.array([i]), len(levels), shades)[0])
            line.append("▕" if not self.ascii_only else "[", RULE_STYLE)
            line.append(shade * max(share - 2, 1))
            line.append("▏" if not self.ascii_only else "]", RULE_STYLE)
            if i < len(levels):
                line.append(f" {labels[i]} ", AXIS_STYLE)
        return line

    def w_axis(self, label_width: int, columns: int, width: int) -> list[Text]:
        """The w axis under the map: a rule with tick marks, their values, and the title."""
        (w_lo, w_hi), _ = self.window
        left = label_width + 2  # where the map's first column is
        corner, rule, mark = ("+", "-", "+") if self.ascii_only else ("└", "─", "┬")
        axis = [rule] * columns
        under = [" "] * (width - 2)
        widest = max([len(t) for _, t in ticks(w_lo, w_hi, 5)] + [1])
        for value, text in ticks(w_lo, w_hi, max(2, columns // (widest + 4))):
            column = cell_of(value, w_lo, w_hi, columns)
            if column is None:
                continue
            axis[column] = mark
            start = min(left + column - (len(text) - 1) // 2, len(under) - len(text))
            if start < 0 or any(ch != " " for ch in under[max(start - 1, 0):start + len(text) + 1]):
                continue  # would not fit whole, or would touch its neighbour: the mark alone
            under[start:start + len(text)] = list(text)
        rule_line = Text(" " * (label_width + 1))
        rule_line.append(corner + "".join(axis), RULE_STYLE)
        labels = Text("".join(under), AXIS_STYLE)
        labels.append(" w", Style(bold=True))
        return [rule_line, labels]


@dataclass
class Canvas:
    """The map's cells: a character and a style (an index into `styles`) each, and the colour
    under each cell (None without colour). A row becomes one Text with a span per run of
    equal styles, not a span per cell."""

    chars: np.ndarray  # rows x columns of one-character strings
    style_index: np.ndarray  # rows x columns of int
    styles: list[Style]
    background: np.ndarray | None  # rows x columns x 3 of uint8

    def put(self, row: int, column: int, char: str, style: Style) -> None:
        self.chars[row, column] = char
        self.style_index[row, column] = len(self.styles)
        self.styles.append(style)

    def row(self, r: int) -> Text:
        index = self.style_index[r]
        cuts = [0, *(np.flatnonzero(np.diff(index)) + 1).tolist(), len(index)]
        spans = [Span(start, end, self.styles[index[start]]) for start, end in zip(cuts, cuts[1:])]
        return Text("".join(self.chars[r].tolist()), spans=spans)


@lru_cache(maxsize=1)
def colour_steps() -> tuple[np.ndarray, tuple[Style, ...]]:
    """The colour map in COLOUR_STEPS steps (RGB), and a style for each step: the plain
    cell, then (COLOUR_STEPS on) a contour line over it, in black or white, whichever shows."""
    palette = colour_at(np.linspace(0.0, 1.0, COLOUR_STEPS))
    towards = np.where((luminance(palette) > 0.35)[:, None], 0.0, 255.0)
    line = np.rint(palette + (towards - palette) * CONTOUR_STRENGTH).astype(np.uint8)
    plain = [Style(bgcolor=hex_colour(p)) for p in palette]
    lined = [Style(color=hex_colour(ln), bgcolor=hex_colour(p)) for p, ln in zip(palette, line)]
    return palette, tuple(plain + lined)


_STYLES: dict[tuple, Style] = {}


def _style(colour: str | None, background: str | None, bold: bool = False) -> Style:
    """One Style per (colour, background, bold): the map asks for the same few many times."""
    key = (colour, background, bold)
    if key not in _STYLES:
        if len(_STYLES) > 4096:
            _STYLES.clear()
        _STYLES[key] = Style(color=colour, bgcolor=background, bold=bold)
    return _STYLES[key]
