"""A screen that goes away once, however many keys ask.

Over a slow SSH link keys arrive in bursts: `p` then two Enters in one read reach a picker
before its first dismissal has taken it off the stack, and the second dismissal would pop
the screen underneath (the trainer: `ScreenStackError`) or run the callback twice. A screen
built on `DismissOnce` ignores every dismissal after the first, and any that comes while it
is not the screen on top.
"""
from __future__ import annotations

from textual.await_complete import AwaitComplete


class DismissOnce:
    """Mix into a Screen class (before Screen/ModalScreen) to make `dismiss` idempotent."""

    _dismissed = False

    def dismiss(self, result=None) -> AwaitComplete:
        if self._dismissed or not self.is_current:
            return AwaitComplete()
        self._dismissed = True
        return super().dismiss(result)
