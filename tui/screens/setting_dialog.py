"""Type a value for one setting. A bad value keeps the dialog open with a message naming the
setting and what it accepts; nothing changes until a good value is applied."""
from __future__ import annotations

from typing import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from .dismiss_once import DismissOnce


class Dialog(DismissOnce, ModalScreen[bool]):
    """A typed-value dialog: dismissed with True once the text was applied, False when
    cancelled; an error stays shown until the user types again."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def show_error(self, error: str) -> None:
        message = self.query_one("#dialog-error", Static)
        message.update(error)
        message.add_class("-shown")

    @on(Input.Changed)
    def typing(self, event: Input.Changed) -> None:
        event.stop()
        self.query_one("#dialog-error", Static).remove_class("-shown")

    def action_cancel(self) -> None:
        self.dismiss(False)


class SettingDialog(Dialog):
    """One setting's value, typed."""

    def __init__(self, label: str, current: str, hint: str, apply: Callable[[str], str | None],
                 restarts: bool = False) -> None:
        super().__init__()
        self.label = label
        self.current = current
        self.hint = hint
        self.apply = apply  # applies the text; returns an error message, or None when it worked
        self.restarts = restarts

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(f"[b]Set {self.label}[/b]", id="dialog-title")
            note = " (the run starts over)" if self.restarts else " (the run continues)"
            yield Static(f"{self.hint}{note}", id="dialog-hint", markup=False)
            yield Input(value=self.current, id="dialog-input", select_on_focus=True)
            yield Static("", id="dialog-error", markup=False)
            yield Static("enter: apply   escape: cancel", id="dialog-keys")

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._dismissed:
            return  # a second Enter of a burst: the first one has applied it
        error = self.apply(event.value)
        if error is None:
            self.dismiss(True)
            return
        self.show_error(error)
