"""One line: what the run is doing (running, paused, diverged, finished), where it is
(epoch, optimizer step, and with mini-batches the steps an epoch), how fast it goes, and the
latest loss or warning."""
from __future__ import annotations

from rich.text import Text

from engine.training.trainer import Snapshot

from .. import format as fmt
from .diff_lines import DiffLines

STATE_MARKS = {"ready": "■", "running": "▶", "paused": "‖", "diverged": "✖", "finished": "✔"}


class StatusBar(DiffLines):
    COMPONENT_CLASSES = {"status-bar--state", "status-bar--warning", "status-bar--dim"}

    def __init__(self, *, show_rate: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.show_rate = show_rate  # off in tests and snapshots: a measured rate is never the same twice
        self.snapshot: Snapshot | None = None

    def show(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.rebuild()

    def rebuild(self) -> None:
        s = self.snapshot
        if s is None or not self.is_mounted:
            return
        for state in STATE_MARKS:
            self.set_class(s.state == state, f"-{state}")
        state_style = self.get_component_rich_style("status-bar--state")
        warning_style = self.get_component_rich_style("status-bar--warning")
        dim = self.get_component_rich_style("status-bar--dim")
        line = Text.assemble((f" {STATE_MARKS.get(s.state, '?')} {s.state} ", state_style))
        line.append(f" epoch {fmt.count(s.epoch)}")
        line.append(f"/{fmt.count(s.hyper.epochs)}", style=dim)
        line.append(f"  step {fmt.count(s.step_count)}")
        if s.hyper.batch_size is not None:  # mini-batches: several steps an epoch
            line.append(f" ({fmt.count(s.steps_per_epoch)}/epoch)", style=dim)
        if self.show_rate and s.state == "running":
            line.append(f"  {fmt.count(round(s.epochs_per_second))} ep/s")
        if s.divergence is not None:
            line.append(f"  loss {fmt.loss(s.divergence.loss)} at epoch {fmt.count(s.divergence.epoch)}", style=warning_style)
        elif s.warning:
            line.append(f"  ⚠ {s.warning}", style=warning_style)
        else:
            line.append(f"  loss {fmt.loss(s.train_loss)}")
            if s.val_loss is not None:
                line.append(f"  val {fmt.loss(s.val_loss)}")
        self.show_lines([line])
