"""The data and the current model drawn through it.

Training points and validation points get different marks (not only different colours, so
they stay apart under NO_COLOR); the model's curve is clipped to the data's range, so a
diverging model shoots off the plot instead of squashing the points into a line.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.text import Text

from engine.training.trainer import Snapshot

from .plot import Plot, axis_forms, nice_ticks

CURVE_LIMIT = 100.0  # the curve is clipped to this many data spans beyond the plot


@dataclass(frozen=True)
class FitData:
    """The dataset's points and which of them validate (they change only with a new run)."""

    x: np.ndarray
    y: np.ndarray
    train: np.ndarray
    val: np.ndarray
    x_label: str
    y_label: str


def fit_caption(s: Snapshot, data: FitData, times: str = "·") -> str:
    """The model as a formula in raw units, the way the book writes it."""
    if s.raw_line is not None:
        w, b = s.raw_line
        if np.isfinite(w) and np.isfinite(b) and abs(w) < 1e6 and abs(b) < 1e6:
            sign = "-" if b < 0 else "+"
            return f"{data.y_label} = {w:.4f} {times} {data.x_label} {sign} {abs(b):.4f}"
        return f"{data.y_label} = w {times} {data.x_label} + b, far off the scale"
    kind = s.setup.model.split(":")
    if kind[0] == "poly":
        return f"{data.y_label} = polynomial of degree {kind[1]} in {data.x_label}"
    if kind[0] == "mlp":
        return f"{data.y_label} = 1-{kind[1]}-1 tanh network of {data.x_label}"
    return f"{data.y_label} = model({data.x_label})"


class FitPlot(Plot):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.snapshot: Snapshot | None = None
        self.data: FitData | None = None
        self._source = None  # (dataset, split) the data came from
        self._drawn_key = None
        self.highlighted: int | None = None  # the point the point editor has selected

    def highlight(self, index: int | None) -> None:
        """Mark one point (an index into the data), or none."""
        self.highlighted = index
        self.update_plot(force=True)

    def show(self, snapshot: Snapshot) -> None:
        """Draw the snapshot's model over the snapshot's points (the points change with a
        new run: a loaded file, an edit, another split)."""
        self.snapshot = snapshot
        d, split = snapshot.dataset, snapshot.split
        # By identity, holding the objects: an id() could be reused by the next run's data.
        if self.data is None or self._source is None or self._source[0] is not d or self._source[1] is not split:
            self._source = (d, split)
            self.data = FitData(d.x, d.y, split.train, split.val, d.x_label, d.y_label)
        self.update_plot()

    def rebuild(self) -> None:
        self.update_plot(force=True)

    def update_plot(self, force: bool = False) -> None:
        s, data = self.snapshot, self.data
        if s is None or data is None or not self.is_mounted or not self.display:
            return
        low, high = self.y_range()
        # Redraw only when the curve moved by a visible amount: half a braille dot (4 per row).
        rows = 2 * 4 * max(1, self.content_size.height)
        with np.errstate(all="ignore"):
            scaled = np.nan_to_num((s.fit_y - low) / (high - low) * rows, nan=-1e9, posinf=1e9, neginf=-1e9)
        curve = tuple(np.clip(np.round(scaled), -1e9, 1e9).astype(np.int64).tolist())
        caption = " " + fit_caption(s, data, "*" if self.ascii_only else "·")
        x_range = (float(s.fit_x[0]), float(s.fit_x[-1]))  # new data, new axis: drawn at once
        key = (curve, caption, x_range, self.content_size, id(data), s.state, self.highlighted)
        if key == self._drawn_key and not force:
            self.repainted_cells = 0  # nothing new to show: nothing sent
            return
        self._drawn_key = key
        train, val, model = self.symbols()
        legend = f"[$kepler-train]{train}[/] train"
        if data.val.size:
            legend += f" [$kepler-val]{val}[/] val"
        self.set_titles(f"[b]Fit[/b] {legend} [$kepler-model]{model}[/] model")
        d = s.dataset
        self.draw(self.paint, caption=Text(caption, style="bold"),
                  x_label=axis_forms(d, data.x_label), y_label=axis_forms(d, data.y_label))

    def symbols(self) -> tuple[str, str, str]:
        return ("o", "x", ".") if self.ascii_only else ("●", "×", "⠒")

    def y_range(self) -> tuple[float, float]:
        y = self.data.y
        span = float(y.max() - y.min()) or 1.0
        return float(y.min()) - 0.15 * span, float(y.max()) + 0.15 * span

    def paint(self, figure, width: int, height: int) -> None:
        s, data = self.snapshot, self.data
        low, high = self.y_range()
        x_low, x_high = float(s.fit_x[0]), float(s.fit_x[-1])
        self.set_axis(figure, "x", x_low, x_high, nice_ticks(x_low, x_high, max(3, (width - 8) // 8)))
        self.set_axis(figure, "y", low, high, nice_ticks(low, high, max(3, (height - 3) // 3)))
        span = high - low
        with np.errstate(all="ignore"):
            curve_y = np.clip(s.fit_y, low - CURVE_LIMIT * span, high + CURVE_LIMIT * span)
        x, y = self.finite_points(s.fit_x, curve_y)
        train_symbol, val_symbol, _ = self.symbols()
        if x:
            line = self.marker(self.line_symbol("braille", "."), "model")
            figure.draw(figure.signal(x, y, marker=line).lines(len(x) > 1))
        figure.draw(figure.signal(data.x[data.train].tolist(), data.y[data.train].tolist(),
                                  marker=self.marker(train_symbol, "train")))
        if data.val.size:
            figure.draw(figure.signal(data.x[data.val].tolist(), data.y[data.val].tolist(),
                                      marker=self.marker(val_symbol, "val")))
        if self.highlighted is not None and self.highlighted < len(data.x):
            i = self.highlighted
            figure.draw(figure.signal([float(data.x[i])], [float(data.y[i])],
                                      marker=self.marker("@" if self.ascii_only else "◉", "selected")))
