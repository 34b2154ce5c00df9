"""A widget that repaints only the cells that changed.

Textual resends the whole region of a refreshed widget to the terminal. Over SSH at ten
frames a second that is most of the bandwidth, though from one frame to the next a loss
plot changes at its growing tip and a table in a few digits. This widget keeps the lines it
showed last, compares the new ones cell by cell and marks only the changed span of each
changed line as dirty, so the terminal receives only the changed lines (Textual 8 sends each
from the widget's left edge up to the last changed cell). Border titles repaint the whole
widget: set them through `set_titles`, which skips unchanged ones.

Subclasses produce lines (Rich `Text` or `Strip`s) for their current size and call
`show_lines`; `render_line` hands Textual the stored strips.
"""
from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget


def _cells(strip: Strip) -> list[tuple[str, Style | None]] | None:
    """One (character, style) per cell; None if some character is wider than a cell."""
    cells = []
    for text, style, control in strip:
        if control:
            continue
        cells.extend((ch, style) for ch in text)
    return cells if len(cells) == strip.cell_length else None


def changed_span(old: Strip, new: Strip) -> tuple[int, int] | None:
    """The [start, end) cell range where two lines differ, or None if they are the same."""
    if old == new:
        return None
    a, b = _cells(old), _cells(new)
    if a is None or b is None:
        return 0, max(old.cell_length, new.cell_length)
    n = min(len(a), len(b))
    start = 0
    while start < n and a[start] == b[start]:
        start += 1
    if start == len(a) == len(b):
        return None
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
    return start, max(end_a, end_b)


class DiffLines(Widget):
    """Line-API widget whose content is a list of lines, repainted by changed spans."""

    DEFAULT_CSS = """
    DiffLines { height: 1fr; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._strips: list[Strip] = []
        self._shown_size = Size(0, 0)
        self._wanted_height = 1
        self._fits_content = False
        self.repainted_cells = 0  # how many cells the last update marked dirty (for tests and benchmarks)

    def set_titles(self, title: str | None = None, subtitle: str | None = None) -> None:
        """Set the border title and subtitle, only if they changed: setting either one
        repaints the whole widget, which is what this class exists to avoid."""
        if title is not None and title != getattr(self, "_title_shown", None):
            self._title_shown = title
            self.border_title = title
        if subtitle is not None and subtitle != getattr(self, "_subtitle_shown", None):
            self._subtitle_shown = subtitle
            self.border_subtitle = subtitle

    def on_mount(self) -> None:
        # `height: auto` in the stylesheet means "as tall as the lines shown".
        self._fits_content = self.styles.height is not None and self.styles.height.is_auto

    def rebuild(self) -> None:
        """Compute the lines again from the widget's state and show them (subclasses)."""

    def on_resize(self) -> None:
        self.rebuild()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        # With `height: auto` the widget is as tall as its last content.
        return self._wanted_height

    # ------------------------------------------------------------------ content
    def to_strips(self, lines: list[Text | Strip], width: int) -> list[Strip]:
        """Lines as strips of exactly `width` cells, over the widget's own colours (the Line
        API draws what it is given: unstyled cells would show the terminal's background)."""
        console = self.app.console
        base = self.rich_style
        strips = []
        for line in lines:
            if isinstance(line, Strip):
                segments = list(line)
            else:
                line = line.copy()
                line.no_wrap = True
                line.end = ""
                segments = list(line.render(console, end=""))
            # Every segment gets a Style (Textual's NO_COLOR filter cannot take a None).
            segments = [Segment(text, base + style if style else base, control)
                        for text, style, control in Segment.simplify(segments)]
            strips.append(Strip(segments).crop(0, width).adjust_cell_length(width, base))
        return strips

    def show_lines(self, lines: list[Text | Strip]) -> int:
        """Show these lines (one per row of the content area); returns the cells repainted."""
        self._wanted_height = len(lines)
        if self._fits_content:
            # As tall as the content, border and padding included (they change with the
            # layout); set as a style so Textual lays the screen out again at once.
            height = len(lines) + self.styles.gutter.height
            if self.styles.height is None or self.styles.height.value != height or self.styles.height.is_auto:
                self.styles.height = height
        width, height = self.content_size
        new = self.to_strips(lines[:height], width)
        new += [Strip.blank(width, self.rich_style)] * (height - len(new))
        old = self._strips
        if self.content_size != self._shown_size or len(old) != len(new):
            self._strips = new
            self._shown_size = self.content_size
            self.refresh()
            self.repainted_cells = width * height
            return self.repainted_cells
        cells = 0
        for y, (before, after) in enumerate(zip(old, new)):
            span = changed_span(before, after)
            if span is None:
                continue
            start, end = span
            self.refresh(Region(start, y, end - start, 1))
            cells += end - start
        self._strips = new
        self.repainted_cells = cells
        return cells

    @property
    def text(self) -> str:
        """What the widget shows, as plain text (for tests and the benchmark's eyes)."""
        return "\n".join(strip.text.rstrip() for strip in self._strips)

    def render_line(self, y: int) -> Strip:
        if 0 <= y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.content_size.width, self.rich_style)
