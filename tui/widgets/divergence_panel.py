"""When the loss stops being a number: what happened, in plain words and with the numbers,
and what to try, each one key away."""
from __future__ import annotations

import math

from rich.text import Text

from engine.training.trainer import Snapshot

from .. import format as fmt
from ..settings import divergence_fixes, edge_of_stability, lopsided_gradients
from .diff_lines import DiffLines
from .param_table import short_name


def explanation(s: Snapshot) -> list[str]:
    d = s.divergence
    lines = [f"At epoch {fmt.count(d.epoch)} {d.reason}; training stopped."]
    norms = sorted(d.grad_norms.items(), key=lambda kv: -kv[1] if math.isfinite(kv[1]) else -math.inf)
    sizes = ", ".join(f"{short_name(n)} {fmt.signed(v).lstrip('+')}" for n, v in norms[:4])
    lines.append(f"Gradient size on that step: {sizes}.")
    ratio = lopsided_gradients(s)
    if ratio is not None:
        big, small, r = ratio
        big, small = short_name(big), short_name(small)
        lines.append(f"The gradient for {big} is {r:,.0f}× the one for {small}: a step that suits {small} "
                     f"overshoots in {big}, and every overshoot is bigger than the last.")
        return lines
    edge = edge_of_stability(s)
    if edge is not None:
        lines.append(f"The step is too large for the loss's curvature: above lr {fmt.rate(float(f'{edge:.2g}'))} (2 / the largest "
                     f"curvature, for this input) every step overshoots the minimum by more than the last.")
    else:
        lines.append("The step is too large for the loss's curvature: each step overshot the minimum "
                     "by more than the last one.")
    return lines


class DivergencePanel(DiffLines):
    COMPONENT_CLASSES = {"divergence-panel--key", "divergence-panel--head"}

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.snapshot: Snapshot | None = None

    def show(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.rebuild()

    def rebuild(self) -> None:
        s = self.snapshot
        if s is None or s.divergence is None or not self.is_mounted:
            return
        key_style = self.get_component_rich_style("divergence-panel--key")
        head_style = self.get_component_rich_style("divergence-panel--head")
        width = max(10, self.content_size.width)
        lines: list[Text] = []
        for i, paragraph in enumerate(explanation(s)):
            wrapped = Text(paragraph, style=head_style if i == 0 else "").wrap(self.app.console, width)
            lines.extend(wrapped)
        lines.append(Text("Try (each starts over):", style=head_style))
        badge = 4  # " " and the key's " 1 "
        for fix in divergence_fixes(s):
            # A long fix wraps under itself (at 80x24 'lower the rate: lr 0.000346 → 3.46e-05'
            # is wider than the panel): every fix is read whole.
            wrapped = Text(fix.label).wrap(self.app.console, max(4, width - badge - 1))
            for i, part in enumerate(wrapped):
                line = Text(" ")
                line.append(f" {fix.key} ", style=key_style) if i == 0 else line.append(" " * (badge - 1))
                line.append(f" {part.plain}")
                lines.append(line)
        self.show_lines(lines)
