"""Our one wrapper around plotext: draw a figure into a widget, repainting changed cells only.

plotext keeps its figure in module-global state, so figures are built on the UI thread only.
We never use plotext's own log scale or automatic ticks: a log axis is drawn as log10 of the
values on a linear axis with our labels, and every axis gets round-numbered ticks from
`nice_ticks`, so the axes stay put while the data moves (fewer changed cells to send).
"""
from __future__ import annotations

import ctypes
import math
import sys
from typing import Callable, Sequence

import numpy as np
import plotext
from rich.text import Text

from .. import format as fmt
from ..themes import plot_colour
from .diff_lines import DiffLines

plotext.terminal.limit(False, False)  # our widget decides the size, not the terminal


def keep_interpreter_in_plotext_kernel() -> int:
    """Call plotext's C++ kernel without releasing the GIL; returns how many functions moved.

    plotext loads its kernel with `ctypes.CDLL`, whose calls release the GIL. One figure makes
    hundreds of tiny kernel calls, and while the trainer's thread is busy each release hands
    it the interpreter for up to a switch interval (5 ms): a 4 ms figure took 40-90 ms and
    key presses waited behind it. `ctypes.PyDLL` opens the same library (the same loaded
    copy, so kernel objects stay valid) with calls that keep the GIL; we rebind every kernel
    function, and any module-level alias of one, to it. If plotext's layout ever differs,
    nothing is changed and plots are only slower.
    """
    try:
        from plotext._kernel import tools
        from plotext._kernel.clink import clink
        held = ctypes.PyDLL(tools.kernel_file_path)
    except (ImportError, AttributeError, OSError):
        return 0
    swapped = {}
    for name, function in list(vars(clink).items()):
        if name == "last_function" or not isinstance(function, ctypes._CFuncPtr):
            continue
        replacement = getattr(held, name)
        replacement.argtypes, replacement.restype = function.argtypes, function.restype
        setattr(clink, name, replacement)
        swapped[id(function)] = replacement
    for module_name, module in list(sys.modules.items()):
        if module_name.startswith("plotext") and module is not None:
            for attribute, value in list(vars(module).items()):
                if id(value) in swapped:
                    setattr(module, attribute, swapped[id(value)])
    return len(swapped)


keep_interpreter_in_plotext_kernel()

# For terminals that draw braille as garbage: plain ASCII for the frame as well.
ASCII_FRAME = str.maketrans({"─": "-", "│": "|", "┌": "+", "┐": "+", "└": "+", "┘": "+",
                             "┬": "+", "┴": "+", "┤": "+", "├": "+", "┼": "+"})
ASCII_UNITS = str.maketrans({"°": "deg", "²": "^2"})
MIN_WIDTH, MIN_HEIGHT = 16, 5


def nice_step(span: float, count: int) -> float:
    """A 1-2-5 step that cuts `span` into about `count` pieces."""
    raw = span / max(count, 1)
    if not raw > 0 or not math.isfinite(raw):
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def nice_up(value: float) -> float:
    """The next value of the 1-2-5 sequence at or above `value` (axis ends that rarely move)."""
    if not value > 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 5, 10):
        if value <= factor * power * (1 + 1e-9):
            return factor * power
    return 10 * power


def nice_ticks(low: float, high: float, count: int) -> list[float]:
    step = nice_step(high - low, count)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9 and len(ticks) < 50:
        ticks.append(0.0 if abs(value) < step * 1e-9 else value)
        value += step
    return ticks


# Units of the built-in data's columns, where the data has them (a CSV's own column names
# are its labels). The book's t_u is a reading in a unit nobody told us; t_c is Celsius.
UNITS = {("thermometer", "t_u"): "unknown unit", ("thermometer", "t_c"): "°C"}


def unit_of(dataset, column: str) -> str:
    return UNITS.get((getattr(dataset, "name", ""), column), "")


def axis_forms(dataset, column: str) -> tuple[str, ...]:
    """An axis label, longest first: 't_c (°C)', then 't_c'."""
    unit = unit_of(dataset, column)
    return (f"{column} ({unit})", column) if unit else (column,)


def loss_forms(dataset) -> tuple[str, ...]:
    """The loss axis: a mean squared error, in the square of the target's unit."""
    unit = unit_of(dataset, getattr(dataset, "y_label", ""))
    return (f"loss ({unit}²)", "loss") if unit and unit != "unknown unit" else ("loss",)


def frame_gaps(plain: str, left: int, right: int) -> list[tuple[int, int]]:
    """The [start, end) runs of plain frame line ('─') between two corners."""
    gaps, start = [], None
    for i in range(left + 1, right):
        if plain[i] == "─":
            start = i if start is None else start
        elif start is not None:
            gaps.append((start, i))
            start = None
    if start is not None:
        gaps.append((start, right))
    return gaps


def put_label(line: Text, at: int, label: str) -> Text:
    return Text.assemble(line[:at], (label, "bold"), line[at + len(label):], end="")


def label_axes(lines: list[Text], x_label: Sequence[str], y_label: Sequence[str]) -> list[Text]:
    """Write what the axes are into the plot's frame, so a label costs no row at any size:
    the y axis's name at the top of the axis (`┌ t_c (°C) ───┐`), the x axis's at the
    right of the bottom line, in a stretch between two ticks (`┬──── epoch ─┬──┘`). Each
    gets the longest of its forms that fits; a tick is never covered."""
    lines = list(lines)
    top = next((i for i, line in enumerate(lines) if "┌" in line.plain), None)
    bottom = next((i for i, line in enumerate(lines) if "└" in line.plain), None)
    if top is not None and y_label:
        plain = lines[top].plain
        left, right = plain.index("┌"), plain.rfind("┐")
        room = (right if right > left else len(plain)) - left - 2  # one dash stays before the corner
        label = next((f" {form} " for form in y_label if len(form) + 2 <= room), None)
        if label:
            lines[top] = put_label(lines[top], left + 1, label)
    if bottom is not None and x_label:
        plain = lines[bottom].plain
        left, right = plain.index("└"), plain.rfind("┘")
        gaps = frame_gaps(plain, left, right if right > left else len(plain))
        for form in x_label:
            label = f" {form} "
            # The rightmost stretch with a dash left on each side of the label.
            fits = [(start, end) for start, end in gaps if end - start >= len(label) + 2]
            if fits:
                start, end = fits[-1]
                lines[bottom] = put_label(lines[bottom], end - 1 - len(label), label)
                break
    return lines


class Plot(DiffLines):
    """A plotext figure the size of the widget's content area."""

    def __init__(self, *, ascii_only: bool = False, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.ascii_only = ascii_only

    # ------------------------------------------------------------------ colours and markers
    def marker(self, symbol: str, role: str, fallback: tuple[int, int, int] = (200, 200, 200)):
        """A plotext marker in the theme's colour for `role` (tui/themes.py: train, val, ...;
        or a Textual theme variable). Textual maps it down on 16-colour terminals and removes
        it under NO_COLOR, so shapes, not colours, must tell series apart."""
        return plotext.marker(symbol, plotext.pixel(foreground=plot_colour(self.app, role, fallback)))

    def line_symbol(self, fancy: str, plain: str) -> str:
        return plain if self.ascii_only else fancy

    # ------------------------------------------------------------------ drawing
    def draw(self, paint: Callable[["plotext.figure", int, int], None], caption: Text | None = None,
             x_label: Sequence[str] = (), y_label: Sequence[str] = ()) -> int:
        """Build a figure with `paint(figure, width, height)` and show it, under a one-line
        `caption` if given (a changing caption lives here, not in the border title, since a
        new title repaints the whole widget); returns the number of cells that changed.

        `x_label`, `y_label`: what the axes are, each as forms from the longest to the
        shortest; the longest that fits is written into the frame (see `label_axes`)."""
        width, height = self.content_size
        captions = [] if caption is None else [caption]
        height -= len(captions)
        if width < MIN_WIDTH or height < MIN_HEIGHT:
            return self.show_lines(captions + [Text("(too small to plot)", style="dim")])
        try:
            lines = self.after_build(self.build_lines(paint, width, height), width, height)
        except Exception as exc:  # plotext failing on odd data must never take the lesson down
            return self.show_lines(captions + [Text(f"(cannot draw this plot: {exc})", style="dim")])
        if self.ascii_only:  # the units too: 'degC', '^2'
            x_label, y_label = ([form.translate(ASCII_UNITS) for form in forms] for forms in (x_label, y_label))
        lines = label_axes(lines, x_label, y_label)
        if self.ascii_only:
            lines = [Text(line.plain.translate(ASCII_FRAME), spans=line.spans, end="") for line in lines]
        return self.show_lines(captions + lines)

    @staticmethod
    def build_lines(paint: Callable[["plotext.figure", int, int], None], width: int, height: int) -> list[Text]:
        """The figure `paint` draws, as lines of styled text (plotext's frame, not yet ASCII)."""
        figure = plotext.figure
        figure.clear()
        figure.plot_size(width, height)
        figure.theme("colorless")
        figure.canvas("default")  # no background of its own: the widget's shows through
        paint(figure, width, height)
        return list(Text.from_ansi(figure.build().string()).split("\n", allow_blank=True))

    def after_build(self, lines: list[Text], width: int, height: int) -> list[Text]:
        """A last touch to the built lines (subclasses); as built by default."""
        return lines

    @staticmethod
    def set_axis(figure, axis: str, low: float, high: float, ticks: list[float],
                 labels: list[str] | None = None) -> None:
        ruler = figure.ruler(axis)
        ruler.lim(low, high)
        ruler.ticks(ticks, labels if labels is not None else [fmt.compact(t) for t in ticks])

    @staticmethod
    def finite_points(x: np.ndarray, y: np.ndarray) -> tuple[list[float], list[float]]:
        keep = np.isfinite(x) & np.isfinite(y)
        return x[keep].tolist(), y[keep].tolist()
