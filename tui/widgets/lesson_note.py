"""One warning line above the loss plot, shown only while something in the run is a known
trap (today: gradients that accumulate because they are never zeroed)."""
from __future__ import annotations

from textual.widgets import Static

from engine.training.trainer import Snapshot

ACCUMULATING = ("zero_grad is off: gradients are added up epoch after epoch instead of replaced: "
                "each step uses the sum of all past gradients (a to zero them again)")


class LessonNote(Static):
    def __init__(self, **kwargs) -> None:
        super().__init__("", markup=False, **kwargs)
        self.message = ""

    def show(self, s: Snapshot) -> None:
        message = "" if s.hyper.zero_grad else ACCUMULATING
        if message == self.message:
            return  # unchanged: nothing to send
        self.message = message
        self.update(message)
        self.set_class(bool(message), "-shown")
