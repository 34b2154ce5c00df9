"""The line's loss L(w, b) over a grid, as a shaded map, with the descent path on it.

Each cell is the exact loss at its (w, b) (engine.lesson.landscape), shaded by log10(L - L*): light
in the valley, dark up the walls. The shades are characters, not colours, so the map reads
the same on a 16-colour terminal, under NO_COLOR, and in --ascii mode. On raw readings the
valley is a long thin diagonal (a step that suits b overshoots in w); on 0.1 x raw it opens up.
"""
from __future__ import annotations

import math

import numpy as np
from rich.text import Text
from textual.widget import Widget

from engine.lesson.landscape import grid

UNICODE_SHADES = " ·:░▒▓█"
ASCII_SHADES = " .:-=+*#%@"
LABEL_WIDTH = 9  # "-17.30 │"


def cell_of(value: float, low: float, high: float, cells: int) -> int | None:
    """The cell index of `value` on an axis of `cells` cells running from `low` to `high`
    (either way round), or None when it is off the map."""
    if not math.isfinite(value) or high == low:
        return None
    position = (value - low) / (high - low) * (cells - 1)
    if position < -0.5 or position > cells - 0.5:
        return None
    return int(round(position))


def axis_label(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1e4 else f"{value:.1e}"


class LandscapeMap(Widget):
    """Shows `x`, `y` (the inputs the model sees and the targets) as a loss map over the
    window `w_range` x `b_range`, with `path` (n x 2, (w, b)) and the run's `start` on it, over
    the dimmed paths of pinned runs."""

    DEFAULT_CSS = "LandscapeMap { height: 1fr; text-wrap: nowrap; text-overflow: clip; }"

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

    def show_message(self, message: str) -> None:
        self.message = message
        self.refresh()

    def show(self, x: np.ndarray, y: np.ndarray, window, path: np.ndarray, start: tuple[float, float],
             ghost_paths: list[np.ndarray] = ()) -> None:
        """`ghost_paths`: the paths of pinned earlier runs, drawn dimmed under this one's."""
        self.message = None
        self.x, self.y, self.window, self.path, self.start = x, y, window, path, start
        self.ghost_paths = list(ghost_paths)
        self.refresh()

    @property
    def text(self) -> str:
        return "\n".join(line.plain for line in self.lines)

    def render(self) -> Text:
        self.lines = self.build(*self.content_size)
        return Text("\n", no_wrap=True, overflow="crop").join(self.lines)

    # ------------------------------------------------------------------ drawing
    def build(self, width: int, height: int) -> list[Text]:
        if self.message is not None:
            return [Text(self.message, style="bold")]
        columns, rows = width - LABEL_WIDTH, height - 2
        if columns < 10 or rows < 4:
            return [Text("(too small to draw the landscape)", style="dim")]
        (w_lo, w_hi), (b_lo, b_hi) = self.window
        land = grid(self.x, self.y, (w_lo, w_hi), (b_hi, b_lo), columns=columns, rows=rows)  # top row: highest b
        w_star, b_star, l_star = land.minimum
        with np.errstate(divide="ignore", invalid="ignore"):
            height_map = np.log10(np.maximum(land.loss - l_star, 1e-12 * max(abs(l_star), 1.0)))
        shades = ASCII_SHADES if self.ascii_only else UNICODE_SHADES
        low, high = float(height_map.min()), float(height_map.max())
        span = high - low if high > low else 1.0
        levels = np.clip(((height_map - low) / span * len(shades)).astype(int), 0, len(shades) - 1)
        cells = [[(shades[level], "") for level in row] for row in levels]

        def put(w: float, b: float, char: str, style: str) -> None:
            c, r = cell_of(w, w_lo, w_hi, columns), cell_of(b, b_hi, b_lo, rows)
            if c is not None and r is not None:
                cells[r][c] = (char, style)

        plain = self.ascii_only
        for ghost in self.ghost_paths:  # a character of their own, not a shade: dimmed, under this run
            for w, b in ghost:
                put(w, b, "~" if plain else "∘", "dim $primary")
        for w, b in self.path[:-1]:
            put(w, b, "o" if plain else "•", "bold $primary")
        put(w_star, b_star, "X" if plain else "✕", "bold $success")
        put(*self.start, "S" if plain else "○", "bold $primary")
        if len(self.path):
            put(*self.path[-1], "@" if plain else "●", "bold $warning")
        lines = []
        label_rows = {0: b_hi, rows // 2: (b_lo + b_hi) / 2, rows - 1: b_lo}
        bar = "|" if plain else "│"
        for r, row in enumerate(cells):
            label = axis_label(label_rows[r]) if r in label_rows else ""
            line = Text(f"{label:>{LABEL_WIDTH - 2}} {bar}", style="dim")
            for char, style in row:
                line.append(char, style=self.resolve(style) if style else "dim")
            lines.append(line)
        corner, rule = ("+", "-") if plain else ("└", "─")
        lines.append(Text(" " * (LABEL_WIDTH - 1) + corner + rule * columns, style="dim"))
        ticks = [axis_label(w_lo), axis_label((w_lo + w_hi) / 2), axis_label(w_hi)]
        under = [" "] * (columns + LABEL_WIDTH)
        for text, at in zip(ticks, (LABEL_WIDTH, LABEL_WIDTH + columns // 2 - len(ticks[1]) // 2,
                                     LABEL_WIDTH + columns - len(ticks[2]))):
            under[at:at + len(text)] = list(text)
        axis_line = "".join(under)[:width - 3] + " w"
        lines.append(Text(axis_line, style="dim"))
        return lines

    def resolve(self, style: str) -> str:
        """'bold $primary' -> 'bold #rrggbb' from the theme (Rich knows no $ variables)."""
        words = []
        for word in style.split():
            if word.startswith("$"):
                word = self.app.theme_variables.get(word[1:], "default")
            words.append(word)
        return " ".join(words)
