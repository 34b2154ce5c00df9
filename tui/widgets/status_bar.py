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
        head = Text.assemble((f" {STATE_MARKS.get(s.state, '?')} {s.state} ", state_style))
        head.append(f" epoch {fmt.count(s.epoch)}")
        head.append(f"/{fmt.count(s.hyper.epochs)}", style=dim)
        # What may go when the line is too narrow, the least needed first (the step count,
        # then the rate); then the last item in a shorter form: it says less, it is never cut.
        step = f"  step {fmt.count(s.step_count)}"
        if s.hyper.batch_size is not None:  # mini-batches: several steps an epoch
            step += f" ({fmt.count(s.steps_per_epoch)}/epoch)"
        optional = [step]
        if self.show_rate and s.state == "running":
            optional.append(f"  {fmt.count(round(s.epochs_per_second))} ep/s")
        if s.divergence is not None:
            tail = [f"  loss {fmt.loss(s.divergence.loss)} at epoch {fmt.count(s.divergence.epoch)}",
                    f"  {fmt.loss(s.divergence.loss)} at epoch {fmt.count(s.divergence.epoch)}"]
            tail_style = warning_style
        elif s.warning:
            tail = [f"  ⚠ {form}" for form in warning_forms(s.warning)]
            tail_style = warning_style
        else:
            tail = [f"  loss {fmt.loss(s.train_loss)}"]
            if s.val_loss is not None:
                tail.insert(0, f"{tail[0]}  val {fmt.loss(s.val_loss)}")
            tail_style = ""
        width = self.content_size.width or 80
        room = width - head.cell_len
        # The longest form of the last item that fits once the fewest optional items are gone.
        choices = [(form, optional[drop:]) for form in tail for drop in range(len(optional) + 1)]
        form, kept = next(((f, k) for f, k in choices if len(f) + sum(map(len, k)) <= room), (tail[-1], []))
        line = head
        for part in kept:
            line.append(part)
        line.append(form, style=tail_style)
        self.show_lines([line])


def warning_forms(warning: str) -> list[str]:
    """The trainer's warning, then shorter forms of it (up to its first ' and ', up to its
    colon): 'the loss is exploding: 3.3e+03x its starting value and growing every epoch',
    '... 3.3e+03x its starting value', 'loss exploding: ...', 'the loss is exploding'."""
    shorter = warning.split(" and ")[0]
    forms = [warning, shorter, shorter.replace("the loss is exploding", "loss exploding"), warning.split(":")[0]]
    return list(dict.fromkeys(forms))
