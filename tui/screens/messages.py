"""Every message of the session, in full and in order: the preset stories, the warnings,
what each key did. The message line under the plots shows only the newest, in a few words;
this is where the whole text is read."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..message_log import MessageLog
from .dismiss_once import DismissOnce

SEVERITY_COLOURS = {"warning": ("warning", "yellow"), "error": ("error", "red")}


class MessagesScreen(DismissOnce, ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,M", "dismiss", "Close"),
        Binding("home", "scroll('home')", "Oldest", show=False),
        Binding("end", "scroll('end')", "Newest", show=False),
    ]

    def __init__(self, log: MessageLog) -> None:
        super().__init__()
        self.message_log = log

    def compose(self) -> ComposeResult:
        with Vertical(id="messages"):
            yield Static(f"[b]Messages of this session[/b]  ({len(self.message_log)}, newest last)", id="messages-title")
            with VerticalScroll(id="messages-scroll"):
                yield Static(self.listing(), id="messages-text")
            yield Static("↑↓ pgup pgdn scroll   home/end oldest/newest   escape close", id="messages-keys",
                         markup=False)

    def on_mount(self) -> None:
        scroll = self.query_one("#messages-scroll", VerticalScroll)
        scroll.focus()
        scroll.scroll_end(animate=False, immediate=True)

    def listing(self) -> Text:
        if not len(self.message_log):
            return Text("Nothing said yet: what the keys do, the presets' stories and any warning land here.",
                        style="dim")
        text = Text()
        for said in self.message_log:
            if text:
                text.append("\n\n")
            text.append(f"{said.number:>3} {said.mark} ", style="dim")
            text.append(said.heading, style=self.heading_style(said.severity))
            text.append(said.text)
        return text

    def heading_style(self, severity: str) -> str:
        if severity not in SEVERITY_COLOURS:
            return "bold"
        variable, fallback = SEVERITY_COLOURS[severity]
        return f"bold {self.app.theme_variables.get(variable, fallback)}"

    @property
    def text(self) -> str:
        return self.listing().plain

    def action_scroll(self, where: str) -> None:
        scroll = self.query_one("#messages-scroll", VerticalScroll)
        (scroll.scroll_home if where == "home" else scroll.scroll_end)(animate=False)
