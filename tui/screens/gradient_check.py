"""The gradient at the current parameters, three ways, side by side.

A central finite difference (L(p + h) - L(p - h)) / 2h estimates each derivative by nudging
one parameter; for the line the closed form mean(2 (w x + b - y) x), mean(2 (w x + b - y))
gives it exactly; autograd is what the trainer uses. They agree to float32 rounding: the
relative error column says how closely. `<` and `>` change the step h tenfold, which shows
the finite difference's own trade-off (too big: curvature error; too small: rounding).
"""
from __future__ import annotations

import io

import numpy as np
from typing import Callable

from rich.console import Console
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from engine.lesson.gradcheck import GradientCheck, GradientChecks

from ..widgets.param_table import ELEMENT_ROWS, short_name

from ..themes import text_style
from .dismiss_once import DismissOnce

DEFAULT_STEP = 1e-3
STEPS = tuple(10.0 ** k for k in range(-7, 2))  # 1e-7 .. 10


def number(value: float | None) -> str:
    if value is None:
        return "—"
    if value == 0 or 1e-3 <= abs(value) < 1e6:
        return f"{value:.4f}"
    return f"{value:.4e}"


def element_label(check: GradientCheck, total_elements: int) -> str:
    """The element as the Parameters table names it: `w`, `w2` (a row per number, for a
    few numbers) or `hidden.w[3, 0]` (a row per tensor, for bigger models)."""
    if total_elements <= ELEMENT_ROWS:
        if not check.index or all(n == 1 for n in check.shape):
            return check.parameter
        flat = int(np.ravel_multi_index(check.index, check.shape))
        return f"{check.parameter}{flat + 1}"
    name = short_name(check.parameter)
    return name if not check.index else f"{name}[{', '.join(map(str, check.index))}]"


def check_table(checks: GradientChecks, verdicts: tuple[str, str, str] = ("green", "yellow", "red bold")) -> Table:
    """`verdicts`: the styles of a relative error under 1e-4, under 1e-2, and above."""
    has_closed_form = any(c.analytic is not None for c in checks)
    table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold")
    table.add_column("param", no_wrap=True)
    table.add_column("finite diff.", justify="right", no_wrap=True)
    if has_closed_form:
        table.add_column("closed form", justify="right", no_wrap=True)
    table.add_column("autograd", justify="right", no_wrap=True)
    table.add_column("rel. error", justify="right", no_wrap=True)
    total = getattr(checks, "total_elements", len(checks))
    for c in checks:
        error = c.relative_error
        style = verdicts[0] if error < 1e-4 else (verdicts[1] if error < 1e-2 else verdicts[2])
        row = [element_label(c, total), number(c.finite_difference)]
        if has_closed_form:
            row.append(number(c.analytic))
        row += [number(c.autograd), Text(f"{error:.1e}", style=style)]
        table.add_row(*row)
    return table


class GradientCheckScreen(DismissOnce, ModalScreen[None]):
    """`run_check(step)` returns the checks at the current parameters and where that is
    (e.g. "epoch 0: w = 1, b = 0, input raw"), read together (the app runs it
    between two epochs, through the runner)."""

    BINDINGS = [
        Binding("less_than_sign", "step(-1)", "h ÷10", key_display="<"),
        Binding("greater_than_sign", "step(1)", "h ×10", key_display=">"),
        Binding("escape,g,q", "dismiss", "Close"),
    ]

    def __init__(self, run_check: Callable[[float], tuple[list[GradientCheck], str]]) -> None:
        super().__init__()
        self.run_check = run_check
        self.where = ""
        self.step = DEFAULT_STEP
        self.checks: GradientChecks = GradientChecks((), 0)

    def compose(self) -> ComposeResult:
        with Vertical(id="gradcheck"):
            yield Static("[b]The gradient at the current parameters, three ways[/b]", id="gradcheck-title")
            yield Static("", id="gradcheck-where", markup=False)
            yield Static("", id="gradcheck-table")
            yield Static("", id="gradcheck-note", markup=False)
            yield Static("< > finite-difference step h ÷10 ×10   escape: close", id="gradcheck-keys")

    def on_mount(self) -> None:
        self.recompute()

    def action_step(self, direction: int) -> None:
        index = min(range(len(STEPS)), key=lambda i: abs(STEPS[i] - self.step))
        self.step = STEPS[min(max(index + direction, 0), len(STEPS) - 1)]
        self.recompute()

    def recompute(self) -> None:
        self.checks, self.where = self.run_check(self.step)
        self.query_one("#gradcheck-where", Static).update(f"at {self.where}; finite-difference step h = {self.step:g}")
        verdicts = tuple(text_style(self.app, role) for role in ("good", "fair", "bad"))
        self.query_one("#gradcheck-table", Static).update(check_table(self.checks, verdicts))
        if any(c.analytic is not None for c in self.checks):
            note = ("Closed form: dL/dw = mean(2(wx+b-y)x), dL/db = mean(2(wx+b-y)). "
                    "Finite differences and the closed form are float64; autograd is the "
                    "trainer's float32: the error is its rounding.")
        else:
            note = ("No closed form for this model: finite differences (float64) against "
                    "autograd. Autograd gets every gradient in one backward pass; finite "
                    "differences need two forward passes per parameter.")
        if self.checks.is_sample:  # say so: the table is not every parameter
            note = (f"Rows: {self.checks.describe()} (the first of each tensor), named as in the "
                    f"Parameters table. " + note)
        self.query_one("#gradcheck-note", Static).update(note)

    @property
    def text(self) -> str:
        """What the screen shows, as plain text (for tests)."""
        console = Console(width=100, record=True, file=io.StringIO())
        console.print(check_table(self.checks))
        where = self.query_one("#gradcheck-where", Static).content
        note = self.query_one("#gradcheck-note", Static).content
        return f"{where}\n{console.export_text()}\n{note}"
