"""Every parameter with its value, its gradient and the step it just took.

For a handful of numbers (the line's w and b, a small polynomial) each gets a row; with a
normalised input the line is also given in raw units, the numbers the book compares. For
bigger models (an MLP) a row per tensor gives its size and norms, and a few of its values,
instead of a wall of numbers.
"""
from __future__ import annotations

import numpy as np
from rich.text import Text

from engine.training.trainer import Snapshot

from .. import format as fmt
from .diff_lines import DiffLines

ELEMENT_ROWS = 4  # up to this many numbers in all, one row per number


def short_name(name: str) -> str:
    """'hidden_linear.weight' -> 'hidden.w': the layer and what it holds, in few columns."""
    return name.replace("_linear", "").replace(".weight", ".w").replace(".bias", ".b")


def norm(a: np.ndarray) -> float:
    with np.errstate(all="ignore"):
        return float(np.sqrt(np.sum(np.square(np.asarray(a, dtype=np.float64)))))


class ParamTable(DiffLines):
    COMPONENT_CLASSES = {"param-table--header", "param-table--name", "param-table--note"}

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.snapshot: Snapshot | None = None
        self.show_values = False  # a few raw values per tensor, when the screen is tall enough

    def show(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.rebuild()

    def rebuild(self) -> None:
        if self.snapshot is None or not self.is_mounted:
            return
        s = self.snapshot
        scalars = sum(int(np.size(v)) for v in s.params.values())
        lines = self.element_lines(s) if scalars <= ELEMENT_ROWS else self.tensor_lines(s)
        note = self.step_note(s) if scalars <= ELEMENT_ROWS else "grad, step: the last update's"
        forms = [note]
        if s.raw_line is not None and s.setup.input_transform != "none":
            raw = s.transform.describe()
            tight = raw.replace(" - ", "-").replace(" / ", "/")  # x = (raw-51.8)/16.05
            forms = [f"{note} · raw: {raw}", f"{note} · {tight}", f"raw: {raw}", tight, note]
        # The border keeps "╰─ " and " ─╯" around the subtitle (Textual: the outer width - 6):
        # a shorter form, never a cut one.
        self.set_titles(subtitle=fmt.first_fitting(forms, self.outer_size.width - 6))
        self.show_lines(lines)

    @staticmethod
    def step_note(s: Snapshot) -> str:
        h = s.hyper
        if h.optimizer == "sgd" and not h.momentum and not h.weight_decay:
            return "step = -lr × grad"
        return "step = actual change"

    def styles_for(self) -> tuple:
        return (self.get_component_rich_style("param-table--header"),
                self.get_component_rich_style("param-table--name"),
                self.get_component_rich_style("param-table--note"))

    # ------------------------------------------------------------------ few numbers
    def element_lines(self, s: Snapshot) -> list[Text]:
        header_style, name_style, note_style = self.styles_for()
        rows = []
        for name, value in s.params.items():
            values = np.ravel(value)
            grads = np.ravel(s.grads[name])
            steps = np.ravel(s.update[name])
            for i in range(values.size):
                label = name if values.size == 1 else f"{name}{i + 1}"
                rows.append((label, values[i], grads[i], steps[i]))
        raw = None
        if s.raw_line is not None and s.setup.input_transform != "none":
            raw = dict(zip(("w", "b"), s.raw_line))
        width = self.content_size.width
        name_w = max(len(r[0]) for r in rows)
        plain_sgd = self.step_note(s).startswith("step = -lr")
        # The gradient the last step used (the gradient check computes the one at `value`).
        columns = [("value", 9), ("last grad", 9), ("-lr×grad" if plain_sgd else "step", 9)]
        raw_column = raw is not None and width >= name_w + 4 * 10
        if raw_column:
            columns.append(("raw units", 9))
        header = Text(" " * name_w, style=header_style)
        for title, w in columns:
            header.append(f" {title:>{w}}", style=header_style)
        lines = [header]
        for label, value, grad, step in rows:
            line = Text.assemble((f"{label:<{name_w}}", name_style))
            line.append(f" {fmt.number(value):>9} {fmt.signed(grad):>9} {fmt.signed(step):>9}")
            if raw_column:
                line.append(f" {fmt.number(raw[label]) if label in raw else '':>9}")
            lines.append(line)
        if raw is not None and not raw_column:
            w, b = raw["w"], raw["b"]
            forms = [f"raw units: w {fmt.number(w)}  b {fmt.number(b)}", f"raw: w {fmt.number(w)}  b {fmt.number(b)}",
                     f"raw: w {fmt.short(w)} b {fmt.short(b)}"]
            lines.append(Text(fmt.first_fitting(forms, width), style=note_style))
        return lines

    # ------------------------------------------------------------------ many numbers
    def tensor_lines(self, s: Snapshot) -> list[Text]:
        header_style, name_style, note_style = self.styles_for()
        width = self.content_size.width
        names = list(s.params)
        name_w = max(len(short_name(n)) for n in names)
        with_size = width >= name_w + 5 + 3 * 8
        header = Text(f"{'':<{name_w}}{' size' if with_size else ''} {'|value|':>7} {'|grad|':>7} {'|step|':>7}",
                      style=header_style)
        lines = [header]
        for name in names:
            value = np.asarray(s.params[name])
            line = Text.assemble((f"{short_name(name):<{name_w}}", name_style))
            if with_size:
                line.append(f" {value.size:>4}")
            step = norm(s.update[name])  # NaN: this step's change was not recorded
            line.append(f" {fmt.short(norm(value)):>7} {fmt.short(norm(s.grads[name])):>7} "
                        f"{'—' if np.isnan(step) else fmt.short(step):>7}")
            lines.append(line)
        if not self.show_values:
            return lines
        # A few actual numbers, as many as fit: the norms hide the signs and the spread.
        for name in names:
            values = np.ravel(s.params[name])
            room = max(1, (width - name_w - 3) // 6)
            shown = " ".join(f"{v:+.2f}" if abs(v) < 10 else f"{v:+.0e}" for v in values[:room])
            more = " …" if values.size > room else ""
            lines.append(Text(f"{short_name(name):<{name_w}} {shown}{more}", style=note_style))
        return lines
