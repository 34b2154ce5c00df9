"""The pinned runs side by side: what each was, how far its training loss came down, and
its best validation loss and the epoch of it, with the run on screen as the last row.

A dialog rather than a panel: the trainer has no spare rows at 80x24, and the table is
looked up now and then (which lr did best?), not watched while a run trains. Each pinned
run's numbers come from its own recorded history (`Ghost.final_train_loss`,
`Ghost.best_validation`); this run's from the snapshot on screen when the dialog opened.
"""
from __future__ import annotations

import math

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from engine.training.trainer import Snapshot

from .. import format as fmt
from ..themes import text_style
from ..ghosts import Ghost, differences
from .dismiss_once import DismissOnce


def loss_text(value: float | None) -> str:
    """A loss as the Train/val panel writes it (so the same number reads the same)."""
    if value is None:
        return "—"
    if not math.isfinite(value):
        return "inf" if value > 0 else "NaN"
    return fmt.short(value)


def pinned_runs_table(ghosts: tuple[Ghost, ...], s: Snapshot, this_run: str, note: str = "dim") -> Table:
    """One row per pinned run (numbered as in the legend) and one for the run on screen."""
    table = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold", expand=True)
    table.add_column("#", no_wrap=True)
    table.add_column("settings (≠: what differs from now)", ratio=1)
    table.add_column("final train", justify="right", no_wrap=True)
    table.add_column("best val", justify="right", no_wrap=True)
    table.add_column("epoch", justify="right", no_wrap=True)
    for number, ghost in enumerate(ghosts, 1):
        pinned = ghost.pinned_setup
        if pinned is None:
            differs = "(its settings were not kept: an older session, or a file name a setup string cannot hold)"
        else:
            told = differences(pinned, s.setup, s.hyper)
            differs = f"≠ {', '.join(told)}" if told else "the same settings as now"
        best = ghost.best_validation
        settings = Text(ghost.label)
        settings.append(f"\n{differs}", style=note)
        table.add_row(str(number), settings, loss_text(ghost.final_train_loss),
                      loss_text(None if best is None else best[0]), "—" if best is None else fmt.count(best[1]))
    h = s.history
    final = float(h.train_loss[-1]) if h.epochs.size else s.train_loss
    table.add_row("now", Text(this_run, style="bold"), loss_text(final), loss_text(s.best_val_loss),
                  "—" if s.best_val_epoch is None else fmt.count(s.best_val_epoch), end_section=False)
    return table


class PinnedRunsScreen(DismissOnce, ModalScreen[None]):
    """The table of pinned runs; any of its keys closes it."""

    BINDINGS = [Binding("escape,P,enter,q", "close", "Close")]

    def __init__(self, ghosts: tuple[Ghost, ...], snapshot: Snapshot, this_run: str) -> None:
        super().__init__()
        self.ghosts = ghosts
        self.snapshot = snapshot
        self.this_run = this_run
        if ghosts:
            self.table = pinned_runs_table(ghosts, snapshot, this_run, text_style(self.app, "note"))
        else:
            self.table = Text("Nothing pinned yet: k keeps the run on screen as a dimmed curve, to compare "
                              "the next runs with.")

    def compose(self) -> ComposeResult:
        s = self.snapshot
        with Vertical(id="pinned-runs"):
            yield Static(Text.assemble(("Pinned runs", "bold"),
                                       f"  ({len(self.ghosts)} of at most 5; k pins, K clears)"), id="pinned-title")
            with VerticalScroll(id="pinned-scroll"):
                yield Static(self.table, id="pinned-table")
            yield Static(f"Losses from each run's own history; 'now' is this run at epoch {fmt.count(s.epoch)}. "
                         "escape closes.", id="pinned-keys")

    @property
    def text(self) -> str:
        """The table as plain text (for tests)."""
        from io import StringIO

        from rich.console import Console

        out = StringIO()
        Console(file=out, width=self.query_one("#pinned-table").content_size.width, color_system=None).print(self.table)
        return out.getvalue()

    def action_close(self) -> None:
        self.dismiss(None)
