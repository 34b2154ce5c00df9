"""The recent path of the line's parameters (w, b), kept from the snapshots the app shows.

Snapshots arrive a few times a second, so the path is a sample of the run, not every
epoch; it is thinned (every other point) when it grows long, always keeping the start. A
new run starts a new path; stepping back drops the points after the epoch stepped back to.
"""
from __future__ import annotations

import numpy as np

from engine.training.trainer import Snapshot

MAX_POINTS = 600


class DescentPath:
    def __init__(self) -> None:
        self.setup = None
        self._points: list[tuple[int, float, float]] = []  # (epoch, w, b)

    def add(self, s: Snapshot) -> None:
        if s.setup.model != "linear":
            self.setup, self._points = s.setup, []
            return
        if s.setup != self.setup or (s.epoch == 0 and self._points and self._points[-1][0] != 0):
            self.setup, self._points = s.setup, []  # a new run (or a reset of this one)
        while self._points and self._points[-1][0] > s.epoch:
            self._points.pop()  # stepped back
        point = (s.epoch, float(s.params["w"]), float(s.params["b"]))
        if self._points and self._points[-1][0] == s.epoch:
            self._points[-1] = point
        else:
            self._points.append(point)
        if len(self._points) > MAX_POINTS:
            self._points = self._points[:1] + self._points[2::2] + ([self._points[-1]] if len(self._points) % 2 == 0 else [])

    @property
    def points(self) -> np.ndarray:
        """[n, 2] array of (w, b), oldest first."""
        return np.array([(w, b) for _, w, b in self._points], dtype=np.float64).reshape(-1, 2)

    @property
    def epochs(self) -> list[int]:
        return [e for e, _, _ in self._points]
