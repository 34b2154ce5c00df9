"""Colours and contour lines for a map of the loss: a perceptual colour map of log10(loss),
the loss values worth a contour line, and which cells those lines pass through.

The colour map is viridis (matplotlib's default since 2.0), written here as 11 stops taken
every tenth of the way along it and interpolated linearly between them. Its lightness rises
steadily from dark purple to yellow, so "brighter is higher" reads the same on a dark or a
light background, in greyscale (NO_COLOR turns colours to grey) and for the common colour
blindnesses; a rainbow map would show bands that are not in the data.

The loss of a line spans decades over a window of (w, b) (2.9 at the minimum of the
thermometer data, thousands up the walls), so the colour follows log10(loss): each decade
gets the same share of the map, and the valley floor is not one flat colour.

Everything here is numpy on plain numbers; the widget (tui/widgets/landscape_map.py) turns
the results into styled characters.
"""
from __future__ import annotations

import math

import numpy as np

# viridis at 0, 0.1, ..., 1
VIRIDIS = ("#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c",
           "#22a884", "#44bf70", "#7ad151", "#bddf26", "#fde725")
_STOPS = np.array([[int(h[i:i + 2], 16) for i in (1, 3, 5)] for h in VIRIDIS], dtype=np.float64)


def colour_at(position) -> np.ndarray:
    """The viridis colour at `position` in [0, 1] (an array, or a number): uint8 RGB in a
    trailing axis of 3. Positions outside [0, 1] take the end colours; NaN takes the low end."""
    t = np.nan_to_num(np.clip(np.asarray(position, dtype=np.float64), 0.0, 1.0), nan=0.0)
    scaled = t * (len(_STOPS) - 1)
    below = np.minimum(scaled.astype(int), len(_STOPS) - 2)
    frac = (scaled - below)[..., None]
    rgb = _STOPS[below] * (1 - frac) + _STOPS[below + 1] * frac
    return np.rint(rgb).astype(np.uint8)


def hex_colour(rgb) -> str:
    r, g, b = (int(v) for v in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"


def luminance(rgb) -> np.ndarray:
    """Relative luminance (WCAG: linear-light sRGB, weighted 0.2126, 0.7152, 0.0722) in [0, 1]."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722])


class LogScale:
    """Places losses in [low, high] on [0, 1] by log10. A loss of 0 (a line through every
    point) has no logarithm: the scale then starts 4 decades below `high`, and anything
    lower shares the bottom colour."""

    DECADES = 4.0

    def __init__(self, low: float, high: float) -> None:
        high = max(float(high), 1e-300)
        self.high = high
        self.low = min(max(float(low), high * 10 ** -self.DECADES), high)

    def position(self, loss) -> np.ndarray:
        span = math.log10(self.high) - math.log10(self.low)
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log10(np.maximum(np.asarray(loss, dtype=np.float64), self.low))
        if span <= 0:
            return np.zeros_like(logs)
        return np.clip((logs - math.log10(self.low)) / span, 0.0, 1.0)


def contour_levels(low: float, high: float, most: int) -> list[float]:
    """Round loss values strictly between `low` and `high`, evenly spread on a log scale,
    at most `most` of them: one per decade (1, 10, 100), or 1-3, 1-2-5, or finer, whichever
    is the finest that fits. A narrow range (zoomed in near the minimum, where the loss
    changes by less than a factor of two) gets evenly spaced round values instead."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low or most < 1:
        return []
    best: list[float] = []
    if low > 0:
        decades = range(math.floor(math.log10(low)), math.floor(math.log10(high)) + 1)
        for mantissas in ((1,), (1, 3), (1, 2, 5), (1, 1.5, 2, 3, 5, 7)):
            levels = [round_value(m * 10.0 ** k) for k in decades for m in mantissas]
            levels = [v for v in levels if low < v < high]
            if len(levels) > most:
                break
            best = levels
    if len(best) >= 3:
        return best
    step = nice_step((high - low) / (most + 1))
    start = math.floor(low / step) + 1
    levels = [round_value((start + i) * step) for i in range(most + 2)]
    return [v for v in levels if low < v < high][:most]


def nice_step(rough: float) -> float:
    """The smallest of 1, 2, 5 x 10^k that is at least `rough`."""
    if rough <= 0 or not math.isfinite(rough):
        return 1.0
    power = 10.0 ** math.floor(math.log10(rough))
    for m in (1, 2, 5):
        if m * power >= rough * (1 - 1e-9):
            return m * power
    return 10 * power


def round_value(v: float) -> float:
    """`v` without the float noise of m * 10**k (0.30000000000000004 -> 0.3)."""
    return float(f"{v:.12g}")


def contour_cells(loss: np.ndarray, levels) -> np.ndarray:
    """For a grid of losses (rows x columns), the index of the contour level drawn through
    each cell, -1 where none is.

    A level passes between two side-by-side cells when one loss is below it and the other
    is not; of the two, the cell whose log loss is nearer the level takes the line, so a
    line is one cell wide and sits where the level is."""
    logs = np.log10(np.maximum(np.asarray(loss, dtype=np.float64), 1e-300))
    found = np.full(logs.shape, -1, dtype=int)
    for index, level in enumerate(levels):
        offset = logs - math.log10(level)
        mark = np.zeros(logs.shape, dtype=bool)
        for axis in (0, 1):
            a = [slice(None)] * 2
            b = [slice(None)] * 2
            a[axis], b[axis] = slice(None, -1), slice(1, None)
            a, b = tuple(a), tuple(b)
            crosses = (offset[a] < 0) != (offset[b] < 0)
            first_nearer = np.abs(offset[a]) <= np.abs(offset[b])
            mark[a] |= crosses & first_nearer
            mark[b] |= crosses & ~first_nearer
        found[mark & (found < 0)] = index
    return found


def contour_directions(loss: np.ndarray, cell_aspect: float = 2.0) -> np.ndarray:
    """For each cell, which way a contour line through it runs on screen: 0 across (─),
    1 rising to the right (╱), 2 up (│), 3 falling to the right (╲).

    A contour runs at right angles to the gradient of the loss. Rows are `cell_aspect` times
    as tall as columns are wide on a terminal, so the gradient is taken per unit of screen
    distance; the angles between the four directions are split at the glyphs' own slopes
    (a ╱ in a 1 x 2 cell climbs at about 63 degrees)."""
    logs = np.log10(np.maximum(np.asarray(loss, dtype=np.float64), 1e-300))
    if min(logs.shape) < 2:
        return np.zeros(logs.shape, dtype=int)
    down_rows, right = np.gradient(logs)
    up = -down_rows / cell_aspect
    # the tangent (-up, right) turned to an angle in [0, 180)
    angle = np.degrees(np.arctan2(right, -up)) % 180.0
    steep = math.degrees(math.atan(cell_aspect))  # ╱'s slope
    cuts = [steep / 2, (steep + 90) / 2, (270 - steep) / 2, 180 - steep / 2]
    return np.digitize(angle, cuts) % 4
