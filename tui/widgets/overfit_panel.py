"""Training against validation: the gap, the best validation epoch, and a plain notice once
the validation loss has been rising for a while (the model has started to memorise)."""
from __future__ import annotations

from rich.text import Text

from engine.training.trainer import Snapshot

from .. import format as fmt
from .diff_lines import DiffLines


class OverfitPanel(DiffLines):
    COMPONENT_CLASSES = {"overfit-panel--alert", "overfit-panel--good", "overfit-panel--dim"}

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.snapshot: Snapshot | None = None

    def show(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.rebuild()

    def rebuild(self) -> None:
        if self.snapshot is None or not self.is_mounted:
            return
        s = self.snapshot
        alert = self.get_component_rich_style("overfit-panel--alert")
        good = self.get_component_rich_style("overfit-panel--good")
        dim = self.get_component_rich_style("overfit-panel--dim")
        # Early stopping is a setting of this panel's lesson: its state sits in the title.
        self.set_titles(f"Train/val · early stop {'on' if s.hyper.early_stopping else 'off'} (E)")
        self.set_class(s.overfitting_since is not None and not s.stopped_early, "-overfitting")
        if s.val_loss is None:
            self.show_lines([Text("no validation split: every point trains"),
                             Text("press v to hold some points out", style=dim)])
            return
        gap = s.val_loss - s.train_loss
        lines = [Text(f"train {fmt.short(s.train_loss)}  val {fmt.short(s.val_loss)}  gap {gap:+.3g}")]
        if s.best_val_epoch is not None:
            lines.append(Text(f"best val {fmt.short(s.best_val_loss)} at epoch {fmt.count(s.best_val_epoch)}"))
        else:
            lines.append(Text("best val: not yet", style=dim))
        if s.stopped_early:
            lines.append(Text(f"stopped early: back to epoch {fmt.count(s.best_val_epoch)}", style=good))
        elif s.overfitting_since is not None:
            rising = s.epoch - s.overfitting_since
            lines.append(Text(f"⚠ overfitting since epoch {fmt.count(s.overfitting_since)}", style=alert))
            lines.append(Text(f"val above its best for {fmt.count(rising)} epochs", style=alert))
        elif s.epoch:
            lines.append(Text("validation loss still improving", style=good))
        self.show_lines(lines)
