"""Edit the data by keys, to see what one point does to the fit: select a point, move it up
or down, add one, delete one. Every edit starts the run over on the edited points (the
fit is a new run on new data); with training playing, the new fit grows at once.

The editor is a see-through screen over the trainer: the plots stay visible and keep
updating beneath it, and only its own keys (and one line at the bottom) are its own.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static

from .dismiss_once import DismissOnce

MOVE_FRACTION = 0.1  # up/down moves the point by this much of the data's y span


class PointEditor(DismissOnce, ModalScreen[None]):
    """`apply(x, y)` restarts the run on those points and returns an error or None;
    `select(i)` shows which point is selected (an index into x, or None)."""

    BINDINGS = [
        Binding("left", "select(-1)", "Previous point", key_display="←"),
        Binding("right", "select(1)", "Next point", key_display="→"),
        Binding("up", "move(1)", "Move up", key_display="↑"),
        Binding("down", "move(-1)", "Move down", key_display="↓"),
        Binding("a", "add", "Add a point"),
        Binding("x,delete", "delete", "Delete the point"),
        Binding("escape,e", "done", "Done editing"),
    ]

    def __init__(self, x: np.ndarray, y: np.ndarray, apply: Callable[[np.ndarray, np.ndarray], str | None],
                 select: Callable[[int | None], None]) -> None:
        super().__init__()
        self.x = np.array(x, dtype=np.float64)
        self.y = np.array(y, dtype=np.float64)
        self.apply = apply
        self.select = select
        self.step = MOVE_FRACTION * (float(self.y.max() - self.y.min()) or 1.0)
        self.selected = int(np.argsort(self.x, kind="stable")[len(self.x) // 2])  # the middle point
        self.error = ""

    def compose(self) -> ComposeResult:
        yield Static("", id="point-editor-line", markup=False)

    def on_mount(self) -> None:
        self.show()

    def order(self) -> list[int]:
        return np.argsort(self.x, kind="stable").tolist()  # left to right on the plot

    def show(self) -> None:
        self.select(self.selected)
        order = self.order()
        i = self.selected
        line = (f"point {order.index(i) + 1}/{len(self.x)}: x = {self.x[i]:.4g}, y = {self.y[i]:.4g}  "
                f"←→ select ↑↓ move a add x delete e done · each edit restarts the run")
        if self.error:
            line = f"{self.error}   (e/esc: done)"
        self.query_one("#point-editor-line", Static).update(line)
        self.query_one("#point-editor-line").set_class(bool(self.error), "-error")

    def edit(self, x: np.ndarray, y: np.ndarray, selected: int) -> None:
        error = self.apply(x, y)
        if error is None:
            self.x, self.y, self.selected, self.error = x, y, selected, ""
        else:
            self.error = error  # nothing changed: the points stay as they were
        self.show()

    def action_select(self, step: int) -> None:
        order = self.order()
        self.selected = order[(order.index(self.selected) + step) % len(order)]
        self.error = ""
        self.show()

    def action_move(self, direction: int) -> None:
        y = self.y.copy()
        y[self.selected] += direction * self.step
        self.edit(self.x, y, self.selected)

    def action_add(self) -> None:
        """A new point halfway to the next one on the right (or as far beyond the last
        one as the last gap), on the line between the two: then move it with ↑↓."""
        order = self.order()
        at = order.index(self.selected)
        i = self.selected
        if at + 1 < len(order):
            j = order[at + 1]
            new_x, new_y = (self.x[i] + self.x[j]) / 2, (self.y[i] + self.y[j]) / 2
        else:
            j = order[at - 1]
            new_x, new_y = 2 * self.x[i] - self.x[j], 2 * self.y[i] - self.y[j]
        self.edit(np.append(self.x, new_x), np.append(self.y, new_y), len(self.x))

    def action_delete(self) -> None:
        keep = np.arange(len(self.x)) != self.selected
        x, y = self.x[keep], self.y[keep]
        if len(x) == 0:
            return
        # Select the neighbour that was next to the right (or the new last point).
        right = [k for k in np.argsort(x, kind="stable").tolist() if x[k] >= self.x[self.selected]]
        self.edit(x, y, right[0] if right else int(np.argmax(x)))

    def action_done(self) -> None:
        self.select(None)
        self.dismiss(None)
