"""A scrolling container whose keys move at once, without the smooth-scroll animation.

Textual animates a key's scroll and defers it to the next refresh; a second key before then
does not add to the first, so a burst of twenty Downs (a held key over SSH) moved the code
view one line. Here every key moves the full amount at once: twenty Downs, twenty lines.
"""
from __future__ import annotations

from textual.containers import VerticalScroll


class InstantScroll(VerticalScroll):
    def action_scroll_up(self) -> None:
        self.scroll_up(animate=False, immediate=True)

    def action_scroll_down(self) -> None:
        self.scroll_down(animate=False, immediate=True)

    def action_page_up(self) -> None:
        self.scroll_page_up(animate=False)

    def action_page_down(self) -> None:
        self.scroll_page_down(animate=False)

    def action_scroll_home(self) -> None:
        self.scroll_home(animate=False, immediate=True)

    def action_scroll_end(self) -> None:
        self.scroll_end(animate=False, immediate=True)

    def action_scroll_left(self) -> None:
        self.scroll_left(animate=False, immediate=True)

    def action_scroll_right(self) -> None:
        self.scroll_right(animate=False, immediate=True)
