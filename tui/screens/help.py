"""Every key, grouped by what it does, with the one idea behind each group."""
from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static

from .dismiss_once import DismissOnce
from ..widgets.instant_scroll import InstantScroll


class HelpScreen(DismissOnce, ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close help"),
    ]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.sections = sections  # (heading, [(keys, what they do)])

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(justify="right", style="bold", no_wrap=True)
        table.add_column()
        for heading, rows in self.sections:
            table.add_row("", Text(heading, style="bold underline"))
            for keys, what in rows:
                table.add_row(keys, what)
            table.add_row("", "")
        with InstantScroll(id="help"):
            yield Static("[b]Kepler keys[/b]   (escape closes; ctrl+p finds any action by name)", id="help-title")
            yield Static(table, id="help-table")
