"""A screen that goes away once, however many keys ask.

Over a slow SSH link keys arrive in bursts: `p` then two Enters in one read reach a picker
before its first dismissal has taken it off the stack, and the second dismissal would pop
the screen underneath (the trainer: `ScreenStackError`) or run the callback twice. A screen
built on `DismissOnce` ignores every dismissal after the first, and any that comes while it
is not the screen on top.
"""
from __future__ import annotations

from textual import on
from textual.await_complete import AwaitComplete
from textual.command import CommandPalette
from textual.widgets import Button, Input


class DismissOnce:
    """Mix into a Screen class (before Screen/ModalScreen) to make `dismiss` idempotent."""

    _dismissed = False

    def dismiss(self, result=None) -> AwaitComplete:
        if self._dismissed or not self.is_current:
            return AwaitComplete()
        self._dismissed = True
        return super().dismiss(result)


class CommandPaletteOnce(DismissOnce, CommandPalette):
    """Textual's command palette, closed (and its command run) by the first Enter only."""

    @on(Input.Submitted)
    @on(Button.Pressed)
    def _only_once(self, event: Input.Submitted | Button.Pressed) -> None:
        if self._dismissed:  # a later Enter of the burst: the palette's own handler must not see it
            event.stop()
            event.prevent_default()
