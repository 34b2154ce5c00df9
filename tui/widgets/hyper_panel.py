"""The run's settings, each with the key that changes it; pick one to type a value.

Up/down (or a click) picks a setting and Enter opens a dialog to type its value. A mark
tells which settings start the run over (the model, the input, the split) and which only
steer it (the optimizer, the learning rate, ...).
"""
from __future__ import annotations

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.reactive import reactive

from engine.training.trainer import Snapshot

from ..messages import SettingChosen
from ..settings import Setting, visible_settings
from .diff_lines import DiffLines

RESTART_MARK = "↺"


class HyperPanel(DiffLines, can_focus=True):
    BINDINGS = [
        Binding("up", "move(-1)", "Previous setting", show=False),
        Binding("down", "move(1)", "Next setting", show=False),
        Binding("enter", "choose", "Type a value", show=False),
    ]
    COMPONENT_CLASSES = {"hyper-panel--cursor", "hyper-panel--key", "hyper-panel--mark"}

    cursor: reactive[int] = reactive(0, init=False)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.snapshot: Snapshot | None = None
        self.speed: float | None = None
        self.rows: list[Setting] = []

    def show(self, snapshot: Snapshot) -> None:
        self.snapshot, self.speed = snapshot, snapshot.speed_limit
        self.rebuild()

    @property
    def selected(self) -> Setting | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def select(self, name: str) -> None:
        for i, setting in enumerate(self.rows):
            if setting.name == name:
                self.cursor = i

    # ------------------------------------------------------------------ keys and mouse
    def action_move(self, step: int) -> None:
        if self.rows:
            self.cursor = (self.cursor + step) % len(self.rows)

    def action_choose(self) -> None:
        if self.selected is not None:
            self.post_message(SettingChosen(self.selected.name))

    def on_click(self, event: events.Click) -> None:
        event.stop()
        row = event.y - self.styles.gutter.top  # the click is relative to the border box
        if 0 <= row < len(self.rows):
            self.cursor = row
            self.action_choose()

    def watch_cursor(self) -> None:
        self.rebuild()

    def on_focus(self) -> None:
        self.rebuild()

    def on_blur(self) -> None:
        self.rebuild()

    # ------------------------------------------------------------------ drawing
    def rebuild(self) -> None:
        if self.snapshot is None or not self.is_mounted:
            return
        selected = self.selected.name if self.selected is not None else None
        self.rows = visible_settings(self.snapshot)
        names = [s.name for s in self.rows]
        if selected in names:
            self.set_reactive(HyperPanel.cursor, names.index(selected))
        else:
            self.set_reactive(HyperPanel.cursor, min(self.cursor, len(self.rows) - 1))
        cursor_style = self.get_component_rich_style("hyper-panel--cursor")
        key_style = self.get_component_rich_style("hyper-panel--key")
        mark_style = self.get_component_rich_style("hyper-panel--mark")
        width = self.content_size.width
        label_w = max(len(s.label) for s in self.rows)
        keys_w = max(len(s.keys) for s in self.rows)
        value_w = max(4, width - label_w - keys_w - 3)
        lines = []
        for i, setting in enumerate(self.rows):
            value = setting.show(self.snapshot, self.speed)
            if len(value) > value_w:
                value = value[: value_w - 1] + "…"
            line = Text(f"{setting.label:<{label_w}} {value:<{value_w}}")
            line.append(RESTART_MARK if setting.restarts else " ", style=mark_style)
            line.append(f"{setting.keys:>{keys_w + 1}}", style=key_style)
            if i == self.cursor and self.has_focus:
                line.stylize(cursor_style)
            lines.append(line)
        self.set_titles(subtitle=f"{RESTART_MARK} restarts the run · ↑↓ enter: type")
        self.show_lines(lines)
