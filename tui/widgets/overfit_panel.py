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
        # Each line in the longest wording that fits the panel: nothing is cut at 80x24.
        width = max(1, self.content_size.width)

        def line(*forms: str, style=None) -> Text:
            return Text(fmt.first_fitting(forms, width), style=style or "")

        train, val = fmt.short(s.train_loss), fmt.short(s.val_loss)
        gap = fmt.signed_short(s.val_loss - s.train_loss)
        lines = [line(f"train {train}  val {val}  gap {gap}", f"train {train} val {val} gap {gap}",
                      f"val {val}  gap {gap}", f"gap {gap}")]
        if s.best_val_epoch is not None:
            best, at = fmt.short(s.best_val_loss), fmt.count(s.best_val_epoch)
            lines.append(line(f"best val {best} at epoch {at}", f"best val {best}, epoch {at}", f"best {best} @ {at}"))
        else:
            lines.append(line("best val: not yet", style=dim))
        if s.stopped_early:
            at = fmt.count(s.best_val_epoch)
            lines.append(line(f"stopped early: back to epoch {at}", f"stopped early: epoch {at}", f"stopped: {at}",
                              style=good))
        elif s.overfitting_since is not None:
            rising, since = fmt.count(s.epoch - s.overfitting_since), fmt.count(s.overfitting_since)
            lines.append(line(f"⚠ overfitting since epoch {since}", f"⚠ overfitting since {since}", style=alert))
            lines.append(line(f"val above its best for {rising} epochs", f"val above best for {rising} epochs",
                              f"val up for {rising} epochs", f"{rising} epochs past best", style=alert))
        elif s.epoch:
            lines.append(line("validation loss still improving", "val still improving", style=good))
        self.show_lines(lines)
