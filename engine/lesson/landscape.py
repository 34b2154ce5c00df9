"""The loss landscape of the line t_p = w x + b: exact, over a grid of (w, b).

The mean squared error of a line is a quadratic in (w, b):

    L(w, b) = w^2 <x^2> + 2 w b <x> + b^2 - 2 w <xy> - 2 b <y> + <y^2>

(<.> is the mean over the points), so the whole grid comes from five averages, in float64,
without evaluating the model point by point. Its level sets are ellipses; their shape is the
lesson: on raw readings (x ~ 50) the <x^2> term dwarfs the others and the valley is long
and narrow in w, so a step that suits b overshoots in w. Scaling the input to x ~ 5 rounds
the bowl.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Landscape:
    w: np.ndarray  # grid columns
    b: np.ndarray  # grid rows
    loss: np.ndarray  # [len(b), len(w)]
    minimum: tuple[float, float, float]  # (w*, b*, L*)


def line_loss(x: np.ndarray, y: np.ndarray, w, b) -> np.ndarray:
    """L(w, b) for arrays of w and b (broadcasting), exactly, in float64."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    mx, mxx, my, myy, mxy = x.mean(), (x * x).mean(), y.mean(), (y * y).mean(), (x * y).mean()
    w = np.asarray(w, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return w * w * mxx + 2 * w * b * mx + b * b - 2 * w * mxy - 2 * b * my + myy


def line_minimum(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """The least-squares line (w*, b*) and its loss."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    var = x.var()
    if var == 0:
        raise ValueError("every input is the same: the line is not determined")
    w = float(((x - x.mean()) * (y - y.mean())).mean() / var)
    b = float(y.mean() - w * x.mean())
    return w, b, float(line_loss(x, y, w, b))


def grid(x, y, w_range: tuple[float, float], b_range: tuple[float, float],
         columns: int = 60, rows: int = 30) -> Landscape:
    w = np.linspace(w_range[0], w_range[1], columns)
    b = np.linspace(b_range[0], b_range[1], rows)
    loss = line_loss(x, y, w[None, :], b[:, None])
    return Landscape(w, b, loss, line_minimum(x, y))


def window_around(points: np.ndarray, minimum: tuple[float, float, float], margin: float = 0.15):
    """A (w_range, b_range) that holds every finite point of a descent path and the minimum,
    with a margin: the "zoom to fit" of the landscape view."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    pts = np.vstack([pts, [minimum[0], minimum[1]]])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = np.maximum(hi - lo, np.maximum(np.abs(hi), 1.0) * 0.05)
    lo, hi = lo - margin * span, hi + margin * span
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))
