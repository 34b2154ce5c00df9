"""The message line: the newest thing the app said, on a line of its own above the keys.

It never covers a panel. A long message (a preset's story) shows as many whole words as
fit, then points to the message screen (`M`) that has every message in full. Once the user
presses another key the message stays but dims: still readable, no longer news.
"""
from __future__ import annotations

from rich.text import Text

from ..message_log import Said, fit_words
from .diff_lines import DiffLines

MORE_HINT = " … (M)"


class MessageBar(DiffLines):
    """`first`: show only messages numbered above it (a dialog's line shows what was said
    while it is open, not what came before); `hint`: what the empty line says."""

    COMPONENT_CLASSES = {"message-bar--title", "message-bar--warning", "message-bar--error", "message-bar--dim"}

    def __init__(self, *, first: int = 0, hint: str = "", more: str = MORE_HINT, **kwargs) -> None:
        super().__init__(**kwargs)
        self.first = first
        self.hint = hint
        self.more = more
        self.said: Said | None = None
        self.faded = False

    def say(self, said: Said) -> None:
        if said.number <= self.first:
            return
        self.said, self.faded = said, False
        self.rebuild()

    def fade(self) -> None:
        """Another key was pressed: the message is no longer news."""
        if self.said is not None and not self.faded:
            self.faded = True
            self.rebuild()

    def rebuild(self) -> None:
        if not self.is_mounted:
            return
        width = max(1, self.content_size.width)
        dim = self.get_component_rich_style("message-bar--dim")
        said = self.said
        if said is None:
            self.show_lines([Text(fit_words(self.hint, width, ""), style=dim)])
            return
        head = f" {said.mark} {said.heading}"
        body = fit_words(said.text, max(1, width - len(head)), self.more)
        if len(head) + len(body) > width:  # a long title at a narrow width: the text first
            head = f" {said.mark} "
            body = fit_words(said.text, max(1, width - len(head)), self.more)
        if self.faded:
            self.show_lines([Text(head + body, style=dim)])
            return
        tone = {"warning": "message-bar--warning", "error": "message-bar--error"}.get(said.severity)
        line = Text()
        line.append(head, style=self.get_component_rich_style(tone or "message-bar--title"))
        line.append(body, style=self.get_component_rich_style(tone) if tone else "")
        self.show_lines([line])

    @property
    def shown(self) -> str:
        return self.text.strip()
