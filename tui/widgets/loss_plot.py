"""Training and validation loss against epoch, live, on a linear or a log scale.

The x axis ends at a round number of epochs (at most the epoch budget) and the history is
binned into the plot's pixel columns, so as training goes on only the growing tip of the
curve changes on screen. Only finite losses are drawn: a run that overflows keeps readable
axes and gets a marked line at the epoch where the loss stopped being a number.

With mini-batches the training curve is each epoch's mean over its batches (the legend says
"train mean"), and the steps' own batch losses are scattered faintly behind it ("step", as
the status line counts them), every one the snapshot holds, so the noise that small batches
bring shows as a band around the curve. The y axis stays the curves': a single batch's loss
can be far above or below its epoch's mean, and those beyond the axis are left out.
"""
from __future__ import annotations

import math
from functools import partial

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.color import Color
from textual.content import Content
from textual.markup import escape
from textual.reactive import reactive

from engine.training.trainer import Snapshot

from .. import format as fmt
from ..ghosts import Ghost, difference_label
from ..themes import contrast_ratio, plot_colour, text_style
from .plot import Plot, loss_forms, nice_ticks, nice_up

TRAIN_RGB = (80, 140, 240)
TRAIN_MARKS = frozenset(chr(c) for c in range(0x2801, 0x2900))  # braille
VAL_MARKS = frozenset(chr(c) for c in range(0x2580, 0x25A0))  # plotext's "hd" blocks
TRAIN_MARKS_ASCII, VAL_MARKS_ASCII = frozenset("*"), frozenset("+")
WASH_STRENGTHS = (0.4, 0.3, 0.2, 0.15, 0.1, 0.05, 0.0)  # of the training colour under a shared cell
TINY_LOSS = 1e-12  # a log axis cannot show 0: a perfect fit is drawn at this floor


def decade_label(power: int) -> str:
    return {-2: "0.01", -1: "0.1", 0: "1", 1: "10", 2: "100"}.get(power, f"1e{power}")


def epoch_label(epoch: float) -> str:
    """An epoch tick: 2000, 20k (never 2e4)."""
    epoch = int(round(epoch))
    return f"{epoch // 1000}k" if epoch >= 10_000 and epoch % 1000 == 0 else str(epoch)


def epoch_ticks(x_max: float, columns: int) -> list[float]:
    """Round-numbered epochs along [0, x_max], about one per ten columns, with the end of
    the axis (the budget) labelled too when it falls between two round numbers."""
    label_width = len(epoch_label(x_max)) + 2
    ticks = [t for t in nice_ticks(0, x_max, max(2, columns // 10)) if t == int(t)] or [0.0]
    if ticks[-1] < x_max:
        if (x_max - ticks[-1]) / x_max * columns >= label_width:
            ticks.append(float(x_max))
        elif len(ticks) > 1:
            ticks[-1] = float(x_max)  # too close to label both: the budget wins
    return ticks


def x_axis_end(s: Snapshot, last_epoch: float) -> float:
    """Where the epoch axis ends: a round number just past the run on screen, so the first
    epochs are not squeezed into a column, but never past the epoch budget, unless the run
    itself went beyond it (a budget lowered after the fact). Pinned runs do not stretch it:
    an explosion at epoch 11 stays wide beside a pinned 5,000-epoch run (cut at the edge)."""
    reached = max(last_epoch, float(s.epoch))
    return max(reached, min(float(s.hyper.epochs), nice_up(max(reached, 10.0))), 1.0)


def label_start(at: float, x_max: float, columns: int, length: int) -> float:
    """Where a label about epoch `at` starts so that it is whole on the plot: just right of
    the epoch's line, else ending just left of it, else flush with the right edge."""
    column = at / x_max * columns
    if column + 1 + length <= columns:
        start = column + 1
    elif column - 1 - length >= 0:
        start = column - 1 - length
    else:
        start = max(0, columns - length)
    return start / columns * x_max


def bin_last(epochs: np.ndarray, values: np.ndarray, x_max: float, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep the last point in each of `bins` equal columns of [0, x_max]: at most two points
    per character cell, in columns that stay where they are as training goes on."""
    if epochs.size == 0:
        return epochs, values
    column = np.minimum((epochs / x_max * bins).astype(np.int64), bins - 1)
    last = np.r_[column[1:] != column[:-1], True]
    last[0] = True  # the starting loss is the lesson's first number: always keep it
    return epochs[last], values[last]


def ghost_curves(ghost: Ghost) -> list[np.ndarray]:
    """A pinned run's loss curves: training, and validation if it had a split."""
    return [ghost.train_loss] if ghost.val_loss is None else [ghost.train_loss, ghost.val_loss]


class LossPlot(Plot):
    """Loss curves with the best-validation epoch and any divergence marked, over the dimmed
    ghosts of pinned earlier runs."""

    log_scale: reactive[bool] = reactive(False)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.snapshot: Snapshot | None = None
        self._drawn_key = None
        self.ghosts: tuple[Ghost, ...] = ()

    def set_ghosts(self, ghosts: tuple[Ghost, ...]) -> None:
        self.ghosts = tuple(ghosts)
        self.update_plot(force=True)

    def watch_log_scale(self) -> None:
        self.update_plot(force=True)

    def show(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.update_plot()

    def rebuild(self) -> None:
        self.update_plot(force=True)

    # ------------------------------------------------------------------ drawing
    def update_plot(self, force: bool = False) -> None:
        s = self.snapshot
        if s is None or not self.is_mounted:
            return
        key = (s.epoch, s.history.total_epochs, s.state, s.best_val_epoch, s.setup, s.train_loss, s.hyper,
               self.log_scale, self.content_size, len(self.ghosts))  # hyper: the budget, the ghosts' legend
        if key == self._drawn_key and not force:
            self.repainted_cells = 0  # nothing new to show: nothing sent
            return
        self._drawn_key = key
        self.set_titles(self.title_markup(s), self.subtitle_text(s))
        self.draw(self.paint, caption=self.ghost_caption(s), x_label=("epoch",), y_label=loss_forms(s.dataset))

    def base_title(self, s: Snapshot) -> str:
        train = self.line_symbol("⠒⠒", "**")
        val = self.line_symbol("▀▀", "++")
        legend = f"[$kepler-train]{train}[/] train"
        if s.batch_history is not None and len(s.batch_history):
            legend += f" mean [$kepler-muted]{self.batch_symbol()}[/] step"  # each dot: one step's batch loss
        if s.val_loss is not None:
            legend += f" [$kepler-val]{val}[/] val"
        # "(linear)" was read as the linear model: only a log axis is named, as an axis
        return f"[b]Loss[/b] {'(log axis) ' if self.log_scale else ''}{legend}"

    def title_markup(self, s: Snapshot) -> str:
        title = self.base_title(s)
        if self.ghosts:
            if self.ghost_caption(s) is None:
                labels = self.ghost_labels(s, self.size.width)[0]
            else:  # counted here, told on the line above the plot
                labels = f"{self.line_symbol('··', '..')} {len(self.ghosts)} pinned (P)"
            title += f" [$kepler-muted]{escape(labels)}[/]"
        return title

    def ghost_caption(self, s: Snapshot) -> Text | None:
        """The pinned runs' legend on a line of its own when the title has no room for all
        of them (a narrow terminal); None when it has."""
        if not self.ghosts:
            return None
        room = self.size.width - 5 - len(Content.from_markup(self.base_title(s)).plain)
        if self.ghost_labels(s, room)[1] == len(self.ghosts):
            return None
        labels, count = self.ghost_labels(s, self.content_size.width)
        return Text(labels if count else f"{len(self.ghosts)} pinned: P lists them", style=text_style(self.app, "note"))

    def subtitle_text(self, s: Snapshot) -> str:
        if s.divergence is not None:
            what = "inf" if math.isinf(s.divergence.loss) else "NaN"
            return f"{what} at epoch {fmt.count(s.divergence.epoch)}"
        if s.best_val_epoch is not None:
            return f"best val epoch {fmt.count(s.best_val_epoch)}"
        return ""

    def ghost_labels(self, s: Snapshot, room: int) -> tuple[str, int]:
        """The pinned runs, numbered as on their curves, each with what differs from this
        run, as many as fit in `room` cells (the rest counted: P lists them all); and how
        many were told."""
        dots = self.line_symbol("··", "..")
        parts: list[str] = []
        for number, ghost in enumerate(self.ghosts, 1):
            part = f"{dots}{number} {difference_label(ghost, s.setup, s.hyper)}"
            rest = len(self.ghosts) - number
            more = f" +{rest} (P)" if rest else ""
            if len(" ".join(parts + [part])) + len(more) > room:
                break
            parts.append(part)
        left = len(self.ghosts) - len(parts)
        return " ".join(parts) + (f" +{left} (P)" if left and parts else ""), len(parts)

    def batch_symbol(self) -> str:
        return self.line_symbol("˙˙", "''")

    def batch_points(self, s: Snapshot, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
        """The mini-batch steps' losses at their fractions of an epoch, on the axis, within
        [low, high] of it."""
        b = s.batch_history
        if b is None:
            return np.empty(0), np.empty(0)
        positions, losses = b.epochs.astype(np.float64), self.to_axis(b.train_loss.astype(np.float64))
        keep = np.isfinite(losses) & (losses >= low) & (losses <= high)
        return positions[keep], losses[keep]

    def to_axis(self, values: np.ndarray) -> np.ndarray:
        if self.log_scale:
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.log10(np.maximum(values, TINY_LOSS))
        return values

    def after_build(self, lines: list[Text], width: int, height: int) -> list[Text]:
        """Where the validation curve covers the training curve (the same cell), the cell
        keeps the validation mark and takes the training colour as its background, so both
        curves stay visible where they meet (under NO_COLOR the marks, not colours, remain)."""
        if self.snapshot is None or self.snapshot.val_loss is None:
            return lines
        under = self.build_lines(partial(self.paint, only_train=True), width, height)
        train, val = (TRAIN_MARKS_ASCII, VAL_MARKS_ASCII) if self.ascii_only else (TRAIN_MARKS, VAL_MARKS)
        # A faint wash of the training colour: the thin training line is not drawn as a bar.
        # As strong as it can be while the validation mark on it stays readable (4.5:1): 40%
        # on the dark theme, fainter on the light ones.
        background = Color(*plot_colour(self.app, "background", (30, 30, 30)))
        train_colour, val_colour = Color(*plot_colour(self.app, "train", TRAIN_RGB)), plot_colour(self.app, "val")
        for strength in WASH_STRENGTHS:
            wash = background.blend(train_colour, strength)
            if contrast_ratio(val_colour, wash.rgb) >= 4.5:
                break
        both = Style(bgcolor=wash.rich_color)
        for line, below in zip(lines, under):
            shown, hidden = line.plain, below.plain
            for column in (i for i, (mark, under_it) in enumerate(zip(shown, hidden)) if under_it in train):
                if shown[column] in val:
                    line.stylize(both, column, column + 1)
        return lines

    def paint(self, figure, width: int, height: int, only_train: bool = False) -> None:
        """The figure; `only_train`: the same axes with the training curve alone (to find the
        cells where validation covers it)."""
        s = self.snapshot
        h = s.history
        epochs = h.epochs.astype(np.float64)
        train = h.train_loss.astype(np.float64)
        val = h.val_loss.astype(np.float64)
        if epochs.size == 0:  # nothing trained yet: show where it starts
            epochs, train = np.array([0.0]), np.array([s.train_loss], dtype=np.float64)
            val = np.array([np.nan if s.val_loss is None else s.val_loss], dtype=np.float64)
        x_max = x_axis_end(s, float(epochs[-1]))
        bins = max(8, 2 * (width - 8))
        curves = []
        for values in (train, val):
            finite = np.isfinite(values)
            x, y = bin_last(epochs[finite], values[finite], x_max, bins)
            curves.append((x, self.to_axis(y)))
        # The y range comes from every finite loss of the run on screen, not just the plotted
        # ones, so the axis does not move when the binning changes. Pinned runs are cut at its
        # edges: a run on other data, or one that diverged, never flattens this run's curves.
        every = self.to_axis(np.concatenate([train, val]))
        every = every[np.isfinite(every)]
        low, high, ticks, labels = self.y_axis(every, height)
        columns = width - len(max(labels, key=len)) - 3  # the plot's own columns, inside the frame
        x_ticks = epoch_ticks(x_max, columns)
        self.set_axis(figure, "x", 0, x_max, x_ticks, [epoch_label(t) for t in x_ticks])
        self.set_axis(figure, "y", low, high, ticks, labels)
        # Ghosts under everything, dimmed, as dots: the live run is drawn over them.
        for number, ghost in enumerate(() if only_train else self.ghosts, 1):
            for values in ghost_curves(ghost):  # train loss, then validation loss if it had a split
                finite = np.isfinite(values) & (ghost.epochs <= x_max)
                x, y = bin_last(ghost.epochs[finite], values[finite], x_max, bins)
                inside = (self.to_axis(y) >= low) & (self.to_axis(y) <= high)
                x, y = x[inside], y[inside]
                if x.size:
                    marker = self.marker(self.line_symbol("·", "."), "pinned")
                    figure.draw(figure.signal(x.tolist(), self.to_axis(y).tolist(), marker=marker).lines(False))
                    # its number, as the legend gives it, where the curve ends
                    end = float(x[-1])
                    figure.draw(figure.text(end, float(self.to_axis(y[-1:])[0]), str(number),
                                            alignment="right" if end > 0.8 * x_max else "left"))
        x, y = self.batch_points(s, low, high)
        if x.size and not only_train:  # the batch losses, faint and unjoined, under the live curves
            marker = self.marker(self.batch_symbol()[0], "pinned")  # faint grey
            figure.draw(figure.signal(x.tolist(), y.tolist(), marker=marker).lines(False))
        # The best validation epoch, once it is behind the tip (while validation improves it
        # is the tip itself, and a marker there would only follow the curve around): a
        # dotted line under the curves, and a mark on the dip over them.
        behind = s.best_val_epoch is not None and s.epoch - s.best_val_epoch >= 0.02 * x_max
        best = behind and s.divergence is None and s.best_val_loss is not None and not only_train
        if best:
            marker = self.marker(self.line_symbol("┆", ":"), "best")
            figure.draw(figure.segment((s.best_val_epoch, s.best_val_epoch), (low, high), marker=marker))
        # Training first, validation over it: where they meet, the validation curve (whose
        # dip is the lesson) shows; each keeps its own mark and colour.
        symbols = (self.line_symbol("braille", "*"), self.line_symbol("hd", "+"))
        for (x, y), symbol, role in zip(curves[:1] if only_train else curves, symbols, ("train", "val")):
            if x.size:
                signal = figure.signal(x.tolist(), y.tolist(), marker=self.marker(symbol, role))
                figure.draw(signal.lines(x.size > 1))
        if best:
            at_best = float(self.to_axis(np.array([s.best_val_loss], dtype=np.float64))[0])
            marker = self.marker(self.line_symbol("◆", "@"), "best")
            figure.draw(figure.signal([float(s.best_val_epoch)], [at_best], marker=marker))
        if s.divergence is not None and not only_train:  # on top of everything: the line, and its label whole
            at = float(s.divergence.epoch)
            marker = self.marker(self.line_symbol("┃", "!"), "diverged")
            figure.draw(figure.segment((at, at), (low, high), marker=marker))
            label = f"{'inf' if math.isinf(s.divergence.loss) else 'NaN'} at epoch {fmt.count(s.divergence.epoch)}"
            figure.draw(figure.text(label_start(at, x_max, columns, len(label)), high, label, alignment="left"))

    def y_axis(self, values: np.ndarray, height: int) -> tuple[float, float, list[float], list[str]]:
        count = max(2, (height - 3) // 3)
        if self.log_scale:
            if values.size == 0:
                return 0.0, 1.0, [0.0, 1.0], [decade_label(0), decade_label(1)]
            low, high = math.floor(values.min()), math.ceil(values.max())
            if high <= low:
                high = low + 1
            step = max(1, math.ceil((high - low) / count))
            high = low + step * math.ceil((high - low) / step)  # end the axis on a labelled decade
            powers = list(range(int(low), int(high) + 1, step))
            return float(low), float(high), [float(p) for p in powers], [decade_label(p) for p in powers]
        top = nice_up(float(values.max())) if values.size else 1.0
        ticks = nice_ticks(0.0, top, count)
        return 0.0, top, ticks, [fmt.compact(t) for t in ticks]
