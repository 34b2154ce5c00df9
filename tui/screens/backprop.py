"""Backprop, one node at a time: the loss's computation graph, and its backward pass step by step.

The graph is the engine's own (engine/lesson/backprop.py reads what the ops record), at the
run's parameters as they were when the view opened: the run goes on, or not, without it. Each
key press runs one node's backward step, in the order autograd runs them: the gradient that
arrives from above, the node's local derivative, and what it sends to each input, until every
parameter has its .grad. Then the view sets .grad beside the gradient check (g) and the
Parameters table (as it reads after this epoch), each formatted as that screen formats it.
Stepping on takes the optimizer's step and walks the next epoch: with the zero_grad switch
off (a) the old .grad is still there and is added to.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from engine.lesson.backprop import BackpropWalk, GraphNode, Pass

from .. import format as fmt
from ..themes import text_style
from ..widgets.param_table import ELEMENT_ROWS, norm, short_name
from .dismiss_once import DismissOnce
from .gradient_check import element_label, number

# What --ascii draws instead of the characters an old console font may lack.
ASCII = str.maketrans({"├": "|", "└": "`", "│": "|", "─": "-", "▶": ">", "→": "->", "←": "<-", "×": "x",
                       "·": "*", "…": "...", "ᵀ": "^T", "²": "^2", "ᵏ": "^k", "₁": "1", "₂": "2", "↑": "^",
                       "↓": "v", "≠": "!=", "—": "-"})


def few(values: np.ndarray, shape: tuple, room: int = 24) -> str:
    """A value as it fits in `room` characters: `1.2345` for a number, `[11] 3.57 5.59 …`
    (its shape and its first values) for an array."""
    values = np.asarray(values)
    if not shape:
        return number(float(values.reshape(-1)[0]))
    head = f"[{'×'.join(str(d) for d in shape)}]"
    text = head
    flat = values.reshape(-1)
    for i, v in enumerate(flat):
        item = f" {float(v):.4g}"
        more = i + 1 < int(np.prod(shape))
        if len(text) + len(item) + (2 if more else 0) > room:
            return text + " …"
        text += item
    return text if flat.size == int(np.prod(shape)) else text + " …"


class BackpropScreen(DismissOnce, ModalScreen[None]):
    """`take_walk()` copies the run (between two epochs) and returns the walk and where the
    run is (e.g. "epoch 3, input 0.1 × raw"); it is called again when `a` switches zero_grad."""

    BINDINGS = [
        Binding("n,right,space,enter", "forward", "Next step"),
        Binding("p,left,backspace", "back", "Step back"),
        Binding("r,home", "restart", "Restart"),
        Binding("a", "accumulate", "zero_grad on/off"),
        Binding("escape,q,B", "dismiss", "Close"),
    ]

    def __init__(self, take_walk: Callable[[], tuple[BackpropWalk, str]], toggle_zero_grad: Callable[[], None],
                 ascii_only: bool = False) -> None:
        super().__init__()
        self.take_walk = take_walk
        self.toggle_zero_grad = toggle_zero_grad
        self.ascii_only = ascii_only
        self.walk, self.where = take_walk()
        self.pass_index = 0
        self.position = 0  # 0: the forward graph; 1..S: backward step k done; S + 1: .grad complete

    def compose(self) -> ComposeResult:
        with Vertical(id="backprop"):
            yield Static("", id="backprop-title")
            with VerticalScroll(id="backprop-scroll"):
                yield Static("", id="backprop-graph")
                yield Static("", id="backprop-step")
            yield Static(self.plain("n/→ next  p/← back  r restart  a zero_grad on/off  ↑↓ scroll  esc close"),
                         id="backprop-keys", markup=False)

    def on_mount(self) -> None:
        self.query_one("#backprop-scroll").focus()
        self.show()

    def on_resize(self) -> None:
        self.show()

    # ------------------------------------------------------------------ keys
    @property
    def current(self) -> Pass:
        return self.walk.pass_(self.pass_index)

    def action_forward(self) -> None:
        if self.position <= len(self.current.steps):
            self.position += 1
        else:  # the optimizer's step, then the next epoch's forward pass
            self.pass_index += 1
            self.position = 0
        self.show()

    def action_back(self) -> None:
        if self.position > 0:
            self.position -= 1
        elif self.pass_index > 0:
            self.pass_index -= 1
            self.position = len(self.current.steps) + 1
        self.show()

    def action_restart(self) -> None:
        self.pass_index = self.position = 0
        self.show()

    def action_accumulate(self) -> None:
        """Switch the run's zero_grad and walk again from the run as it is now."""
        self.toggle_zero_grad()
        self.walk, self.where = self.take_walk()
        self.pass_index = self.position = 0
        self.show()

    # ------------------------------------------------------------------ drawing
    def plain(self, text: str) -> str:
        return text.translate(ASCII) if self.ascii_only else text

    def show(self) -> None:
        if not self.is_mounted:
            return
        p = self.current
        switch = "on" if p.zero_grad else "off: .grad accumulates"
        title = (f"[b]Backprop, one node at a time:[/b] epoch {p.epoch}, from {self.where} "
                 f"(a copy: the run goes on), zero_grad {switch}")
        self.query_one("#backprop-title", Static).update(self.plain(title))
        width = max(60, self.query_one("#backprop-scroll").content_size.width or 76)
        self.query_one("#backprop-graph", Static).update(self.graph_text(width))
        step = self.query_one("#backprop-step", Static)
        step.update(self.step_text(width))
        # keep what this key did in sight (the graph stays above it; ↑ shows it)
        self.call_after_refresh(step.scroll_visible, animate=False)

    def received(self) -> tuple[dict[int, str], int | None]:
        """What each node shows in its gradient column at this position, and the node in focus."""
        p = self.current
        shown: dict[int, str] = {}
        for node in p.nodes:  # a parameter's .grad before the pass (zero_grad off: the old one)
            if node.kind == "parameter":
                before = p.grad_before.get(node.parameter)
                shown[node.key] = "none yet" if before is None else "old " + few(before, node.shape, 18)
        done = p.steps[:min(self.position, len(p.steps))]
        for step in done:
            shown[step.node] = few(step.incoming, step.shape, 20)
            for sent in step.sent:
                if sent.grad_after is not None:
                    shown[sent.to] = few(sent.grad_after, sent.shape, 20)
        focus = p.steps[self.position - 1].node if 0 < self.position <= len(p.steps) else None
        return shown, focus

    def graph_text(self, width: int) -> Text:
        p = self.current
        shown, focus = self.received()
        rows: list[tuple[str, GraphNode]] = []

        def visit(key: int, prefix: str, last: bool, top: bool) -> None:
            node = p.nodes[key]
            branch = "" if top else ("└─ " if last else "├─ ")
            rows.append((prefix + branch, node))
            child_prefix = prefix if top else prefix + ("   " if last else "│  ")
            for i, child in enumerate(node.inputs):
                visit(child, child_prefix, i == len(node.inputs) - 1, False)

        visit(p.root, "", True, True)
        name_w = max(len(prefix + node.name) for prefix, node in rows)
        op_w = max(len(node.grad_fn or node.kind) for _, node in rows)
        words = width >= 110
        value_w = 22 if width >= 100 else 17
        words_w = 30 if words else 0
        grad_w = max(10, width - 2 - name_w - op_w - value_w - words_w - 4)
        header = f"  {'node':<{name_w}} {'grad_fn':<{op_w}} "
        if words:
            header += f"{'what it is':<{words_w}} "
        header += f"{'forward value':<{value_w}} gradient dL/d(node)"
        text = Text(self.plain(header[:width]) + "\n", style="bold")
        for prefix, node in rows:
            marker = "▶ " if node.key == focus else "  "
            what = node.grad_fn or node.kind
            line = f"{marker}{prefix}{node.name:<{name_w - len(prefix)}} {what:<{op_w}} "
            if words:
                line += f"{(node.words or node.formula)[:words_w - 1]:<{words_w}} "
            line += f"{few(node.value, node.shape, value_w):<{value_w}} "
            grad = shown.get(node.key, "" if node.kind == "data" else "—")
            line += grad[:grad_w]
            style = "bold reverse" if node.key == focus else (text_style(self.app, "note") if node.kind == "data" else "")
            text.append(self.plain(line.rstrip()) + "\n", style=style)
        return text

    def step_text(self, width: int) -> Text:
        p = self.current
        steps = len(p.steps)
        text = Text()
        if p.note:
            text.append(self.plain(p.note) + "\n\n", style="italic")
        if self.position == 0:
            text.append(self.plain(self.forward_words(p)))
        elif self.position <= steps:
            text.append(self.plain(self.step_words(p, self.position)))
        else:
            text.append(self.plain(self.done_words(p)))
        return text

    def forward_words(self, p: Pass) -> str:
        lines = []
        if self.pass_index > 0:
            before = self.walk.pass_(self.pass_index - 1)
            moved = ", ".join(f"{self.param_label(n)} {few(before.params[n], np.shape(v), 14)} → {few(v, np.shape(v), 14)}"
                              for n, v in list(p.params.items())[:4])
            lines.append(f"optimizer.step() ({before.optimizer.upper()}, lr {before.learning_rate:g}) moved the "
                         f"parameters: {moved}.")
        lines.append(f"Forward pass of epoch {p.epoch}: each node's value at these parameters; the loss is "
                     f"{number(p.loss)}.")
        if p.zero_grad:
            lines.append("zero_grad is on: .grad was cleared before this pass.")
        elif all(v is None for v in p.grad_before.values()):
            lines.append("zero_grad is off, but there is no .grad yet: this pass writes the first one.")
        else:
            lines.append("zero_grad is off: the old .grad is still there, and this backward pass adds to it.")
        lines.append("n: the backward pass starts at the loss, with dL/dloss = 1.")
        return "\n".join(lines)

    def step_words(self, p: Pass, k: int) -> str:
        step = p.steps[k - 1]
        node = p.nodes[step.node]
        lines = [f"Step {k} of {len(p.steps)}: {node.grad_fn}   {node.name} = {node.formula}"
                 + (f"   {node.words}" if node.words else ""),
                 f"  arriving from above  dL/d{node.name} = {few(step.incoming, step.shape, 40)}"]
        for sent in step.sent:
            to = p.nodes[sent.to]
            if sent.gradient is None:
                lines.append(f"  to {to.name}: {to.kind}, needs no gradient")
                continue
            local = sent.local
            if sent.local_value is not None and np.ndim(sent.local_value) and to.kind != "parameter":
                local += f" = {few(sent.local_value, np.shape(sent.local_value), 30)}"
            elif sent.local_value is not None and not np.ndim(sent.local_value) and "{" not in local and \
                    not local.endswith(("1", "(-1)")):
                local += f" = {number(float(sent.local_value))}"
            summed = f", summed over the {int(np.prod(step.shape))} points" if sent.summed else ""
            lines.append(f"  to {to.name}: local derivative {local}{summed}")
            lines.append(f"      sends dL/d{to.name} = {few(sent.gradient, sent.shape, 44)}")
            if to.kind == "parameter":
                after = few(sent.grad_after, sent.shape, 30)
                if sent.grad_before is None:
                    lines.append(f"      {to.name}.grad = {after}  (a new .grad)")
                else:
                    lines.append(f"      {to.name}.grad: old {few(sent.grad_before, sent.shape, 22)} "
                                 f"+ {few(sent.gradient, sent.shape, 22)} = {after}  (added to)")
        if k == len(p.steps):
            lines.append("n: every parameter has its .grad.")
        return "\n".join(lines)

    def param_label(self, name: str) -> str:
        for node in self.current.nodes:
            if node.parameter == name:
                return node.name
        return name

    def done_words(self, p: Pass) -> str:
        lines = [f"Done: every parameter has its .grad (epoch {p.epoch}). Compared, each as that screen prints it:"]
        lines.append("")
        rows = self.check_rows(p)
        label_w = max(len(r[0]) for r in rows) if rows else 5
        what = "this backward pass" if p.zero_grad else "added by this pass"
        lines.append(f"  {'':<{label_w}}  {what:>18}   gradient check (g): autograd")
        for label, ours, theirs in rows:
            lines.append(f"  {label:<{label_w}}  {ours:>18}   {theirs:>12}   {'equal' if ours == theirs else 'DIFFERENT'}")
        lines.append("")
        rows = self.table_rows(p)
        label_w = max(len(r[0]) for r in rows) if rows else 5
        stopped = self.walk.state in ("diverged", "finished")  # n does not train there
        lines.append(f"  {'':<{label_w}}  {'.grad now':>18}   Parameters table "
                     f"{'had the run gone on' if stopped else 'after n'}: "
                     f"{'last grad' if self.element_rows(p) else '|grad|'}")
        for label, ours, theirs in rows:
            lines.append(f"  {label:<{label_w}}  {ours:>18}   {theirs:>12}   {'equal' if ours == theirs else 'DIFFERENT'}")
        if not p.zero_grad and any(v is not None for v in p.grad_before.values()):
            lines.append("")
            lines.append("zero_grad is off: .grad = the old .grad + this pass's gradient, so the table's "
                         "'last grad' is more than the gradient check's (which is this loss's alone).")
        lines.append("")
        lines.append(f"n: optimizer.step(), then epoch {p.epoch + 1}'s forward and backward pass.")
        return "\n".join(lines)

    # ------------------------------------------------------------------ the comparisons (tests read these)
    @staticmethod
    def element_rows(p: Pass) -> bool:
        return sum(int(np.size(v)) for v in p.params.values()) <= ELEMENT_ROWS

    def check_rows(self, p: Pass) -> list[tuple[str, str, str]]:
        """(element, this pass's gradient, the gradient check's autograd), both as the gradient
        check prints them (`number`), for the elements the gradient check shows."""
        total = p.gradient_check.total_elements
        return [(element_label(c, total), number(float(np.asarray(p.added[c.parameter])[c.index])), number(c.autograd))
                for c in p.gradient_check]

    def table_rows(self, p: Pass) -> list[tuple[str, str, str]]:
        """(row, .grad after this pass, the trainer's .grad after its epoch), as the Parameters
        table prints them: a row per number (`signed`) or per tensor (`short` of the norm)."""
        rows = []
        if self.element_rows(p):
            for name, grad in p.grads.items():
                ours, theirs = np.ravel(grad), np.ravel(p.trainer_grads[name])
                for i in range(ours.size):
                    label = name if ours.size == 1 else f"{name}{i + 1}"
                    rows.append((label, fmt.signed(ours[i]), fmt.signed(theirs[i])))
        else:
            for name, grad in p.grads.items():
                rows.append((short_name(name), fmt.short(norm(grad)), fmt.short(norm(p.trainer_grads[name]))))
        return rows

    @property
    def text(self) -> str:
        """What the view shows, as plain text (for tests)."""
        width = 100
        return f"{self.graph_text(width).plain}\n{self.step_text(width).plain}"
