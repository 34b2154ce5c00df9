"""The seven-step lesson: one step at a time, what it means and what to press.

Enter sets the step up (its preset; the run starts over) and returns to the trainer, where
the step's keys do the rest; the lesson key brings the lesson back at the same step.
"""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from engine.lesson.presets import preset

from .dismiss_once import DismissOnce
from ..lesson_steps import STEPS


class LessonScreen(DismissOnce, ModalScreen[int | None]):
    """Dismissed with the step to set up (0-based), or None to just close."""

    BINDINGS = [
        Binding("right,period,space", "move(1)", "Next"),
        Binding("left,comma", "move(-1)", "Previous"),
        *(Binding(str(n), f"jump({n - 1})", f"Step {n}", show=False) for n in range(1, len(STEPS) + 1)),
        Binding("enter", "try_it", "Set it up"),
        Binding("escape,c", "close", "Close"),
    ]

    def __init__(self, step: int = 0) -> None:
        super().__init__()
        self.step = step

    def compose(self) -> ComposeResult:
        with Vertical(id="lesson"):
            yield Static("", id="lesson-steps")
            yield Static("", id="lesson-title", markup=False)
            yield Static("", id="lesson-text", markup=False)
            yield Static("", id="lesson-keys", markup=False)
            yield Static("← → previous/next   1-7 jump   enter: set it up and try   escape: close",
                         id="lesson-help", markup=False)

    def on_mount(self) -> None:
        self.show_step()

    def show_step(self) -> None:
        step = STEPS[self.step]
        progress = "  ".join(f"[b reverse] {n} [/]" if n - 1 == self.step else f" {n} "
                             for n in range(1, len(STEPS) + 1))
        self.query_one("#lesson-steps", Static).update(f"Kepler's seven steps  {progress}")
        self.query_one("#lesson-title", Static).update(f"{self.step + 1}. {step.title}")
        self.query_one("#lesson-text", Static).update(step.explanation)
        self.query_one("#lesson-keys", Static).update(
            f"Enter sets up \"{preset(step.preset).title}\" (the run starts over). Then: {step.keys}")

    @property
    def text(self) -> str:
        return "\n".join(str(self.query_one(f"#lesson-{part}", Static).content)
                         for part in ("title", "text", "keys"))

    def action_move(self, direction: int) -> None:
        self.step = min(max(self.step + direction, 0), len(STEPS) - 1)
        self.show_step()

    def action_jump(self, step: int) -> None:
        self.step = step
        self.show_step()

    def action_try_it(self) -> None:
        self.dismiss(self.step)

    def action_close(self) -> None:
        self.dismiss(None)
