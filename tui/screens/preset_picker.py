"""Pick one of the chapter's experiments: each row is its title and what to look for."""
from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from engine.lesson.presets import PRESETS, Preset

from ..themes import text_style
from .dismiss_once import DismissOnce


def preset_prompt(number: int, p: Preset, note: str = "dim") -> Text:
    text = Text()
    text.append(f"{number}. {p.title}\n", style="bold")
    text.append(p.story, style=note)
    return text


class PresetPicker(DismissOnce, ModalScreen[str | None]):
    """Dismissed with the chosen preset's key, or None when cancelled. A preset's number
    picks it at once (the lesson says "p, 7")."""

    BINDINGS = [Binding("escape,p", "cancel", "Cancel"),
                *(Binding(str(n), f"pick({n - 1})", f"Preset {n}", show=False) for n in range(1, len(PRESETS) + 1))]

    def compose(self) -> ComposeResult:
        with Vertical(id="presets"):
            yield Static(f"[b]The chapter's experiments[/b]  (enter or 1-{len(PRESETS)} starts one over; "
                         "escape cancels)",
                         id="presets-title")
            yield OptionList(*(Option(preset_prompt(i, p, text_style(self.app, "note")), id=p.key) for i, p in enumerate(PRESETS, 1)),
                             id="presets-list")

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_pick(self, index: int) -> None:
        self.dismiss(PRESETS[index].key)

    def action_cancel(self) -> None:
        self.dismiss(None)
