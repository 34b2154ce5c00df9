"""The loss landscape of the line: where the run starts, where it goes, where the minimum is.

The app's own keys keep working here (space, n, N, r, z, +/-, ...): the map follows the run.
Arrow keys move the starting point (w0, b0): the run starts over from there, still playing
if it was playing, still paused if it was paused (n steps it); f fits the window to the
path and the minimum again; i and O zoom in and out. From 120 columns the loss curve sits
beside the map, drawn from the same snapshot, so the point going down the bowl and the
curve going down move together.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Static

from engine.lesson.landscape import line_minimum, window_around
from engine.training.trainer import Snapshot

from .. import settings
from ..ghosts import loss_surface
from ..widgets.landscape_map import MARKS, LandscapeMap
from ..widgets.loss_plot import LossPlot
from .dismiss_once import DismissOnce

if TYPE_CHECKING:
    from ..descent_path import DescentPath

MOVE_FRACTION = 0.1  # an arrow key moves the start by this much of the window
BESIDE_WIDTH = 120  # from this many columns the loss curve sits beside the map


class LandscapeScreen(DismissOnce, Screen[None]):
    BINDINGS = [
        Binding("left", "move_start(-1, 0)", "w0 -", show=False),
        Binding("right", "move_start(1, 0)", "w0 +", show=False),
        Binding("down", "move_start(0, -1)", "b0 -", show=False),
        Binding("up", "move_start(0, 1)", "b0 +", show=False),
        Binding("f", "fit", "Fit", show=False),
        Binding("i", "zoom(0.5)", "Zoom in", show=False),
        Binding("O", "zoom(2)", "Zoom out", show=False),
        Binding("escape,w", "dismiss", "Back", show=False),
    ]

    def __init__(self, path: "DescentPath", ascii_only: bool = False) -> None:
        super().__init__()
        self.path = path
        self.ascii_only = ascii_only
        self.window = None  # ((w_lo, w_hi), (b_lo, b_hi)); None: fit to the path
        self.snapshot: Snapshot | None = None
        self.data: tuple[np.ndarray, np.ndarray] | None = None
        self._data_source = None
        self._surface: str | None = None  # the loss surface shown (tui.ghosts.loss_surface)

    def compose(self) -> ComposeResult:
        yield Static("", id="landscape-head", markup=False)
        with Horizontal(id="landscape-body"):
            yield LandscapeMap(id="landscape-map", ascii_only=self.ascii_only)
            yield LossPlot(id="landscape-loss", ascii_only=self.ascii_only)
        yield Static("← → w0  ↑ ↓ b0 (run again from there)  f fit  i/O zoom  z input  "
                     "space n train  escape back", id="landscape-keys", markup=False)

    def on_mount(self) -> None:
        self.set_class(self.app.size.width >= BESIDE_WIDTH, "-beside")
        self.show(self.app.snapshot)

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width >= BESIDE_WIDTH, "-beside")
        if self.snapshot is not None:
            self.show(self.snapshot)

    def on_landscape_map_resized(self, event: LandscapeMap.Resized) -> None:
        if self.snapshot is not None:
            self.show(self.snapshot)  # the header names the cells the map draws

    def follow(self, s: Snapshot) -> None:
        """The trainer screen drew a new snapshot: show the same one here."""
        self.show(s)

    # ------------------------------------------------------------------ showing
    def show(self, s: Snapshot) -> None:
        self.snapshot = s
        if self.has_class("-beside"):  # the loss curve beside the map moves with it (hidden: not drawn)
            loss_plot = self.query_one(LossPlot)
            if loss_plot.ghosts != tuple(self.app.pinned_ghosts):
                loss_plot.set_ghosts(self.app.pinned_ghosts)
            loss_plot.show(s)
        head = self.query_one("#landscape-head", Static)
        landscape = self.query_one(LandscapeMap)
        if s.setup.model != "linear":
            head.update("Loss landscape")
            landscape.show_message(
                f"The landscape is drawn for the line t_p = w x + b only: two parameters make a map.\n"
                f"This run's model is {s.setup.model}. Press p for one of the line's presets, or m.")
            return
        surface = loss_surface(s)
        if surface != self._surface:  # other data, or fed another way: a window on the old one means nothing
            self.window, self._surface = None, surface
        x, y = self.training_data(s)
        w_star, b_star, l_star = line_minimum(x, y)
        start = (s.setup.init_w, s.setup.init_b)  # where this run started (the path may begin later)
        points = self.path.points
        ghost_paths = self.ghost_paths()
        window = self.window or window_around(np.vstack([[start], points, *ghost_paths]), (w_star, b_star, l_star))
        landscape.show(x, y, window, points, start, ghost_paths)
        w, b = float(s.params["w"]), float(s.params["b"])
        on_minimum = landscape.now_on_minimum
        heading = Text(f"Loss over (w, b), input {settings.describe_input(s)}:")
        self.append_mark(heading, "minimum")
        heading.append(f"minimum w={w_star:.4g} b={b_star:.4g} L={l_star:.4g}")
        arrow = landscape.minimum_arrow
        heading.append(";" if arrow is None else f", off the map {arrow} (f fits);")
        self.append_mark(heading, "start")
        heading.append(f"start ({start[0]:.3g}, {start[1]:.3g});")
        self.append_mark(heading, "now_on_minimum" if on_minimum else "now")
        heading.append(f"epoch {s.epoch}: w={w:.4g} b={b:.4g} loss={s.train_loss:.4g}")
        if on_minimum:
            heading.append(", in the minimum's cell")
        if ghost_paths:
            heading.append(";")
            self.append_mark(heading, "ghost")
            heading.append(f"{len(ghost_paths)} pinned")
        head.update(heading)

    def append_mark(self, text: Text, mark: str) -> None:
        """The glyph the map draws for `mark`, a space either side. (Not in a style of its own:
        rsvg-convert draws the spaces at the edges of a styled span in an exported SVG unevenly.)"""
        text.append(f" {MARKS[mark].ascii if self.ascii_only else MARKS[mark].glyph} ")

    def training_data(self, s: Snapshot) -> tuple[np.ndarray, np.ndarray]:
        """The inputs as the model sees them (after the input transform) and the targets."""
        source = (id(s.dataset), id(s.split), s.transform)
        if self.data is None or self._data_source != source:
            train = s.split.train
            x = s.transform.apply(np.asarray(s.dataset.x, dtype=np.float64)[train])
            self.data = (np.asarray(x, dtype=np.float64), np.asarray(s.dataset.y, dtype=np.float64)[train])
            self._data_source = source
        return self.data

    @property
    def text(self) -> str:
        return f"{self.query_one('#landscape-head', Static).content}\n{self.query_one(LandscapeMap).text}"

    # ------------------------------------------------------------------ keys
    def current_window(self):
        s = self.snapshot
        x, y = self.training_data(s)
        start = (s.setup.init_w, s.setup.init_b)
        return self.window or window_around(np.vstack([[start], self.path.points, *self.ghost_paths()]),
                                            line_minimum(x, y))

    def ghost_paths(self) -> list[np.ndarray]:
        """The (w, b) paths of the pinned runs on this same loss surface (drawn dimmed; "f"
        fits them in too). A run on other data or another input scaling descended a different
        surface, so its points would mean nothing here."""
        surface = loss_surface(self.snapshot)
        return [g.path for g in self.app.pinned_ghosts
                if g.path is not None and (g.surface is None or g.surface == surface)]

    def action_move_start(self, dw: int, db: int) -> None:
        s = self.snapshot
        if s.setup.model != "linear":
            return
        (w_lo, w_hi), (b_lo, b_hi) = self.current_window()
        self.window = ((w_lo, w_hi), (b_lo, b_hi))  # keep the view still while the start moves
        self.app.tell(self.app.controller.move_start_by(dw * MOVE_FRACTION * (w_hi - w_lo),
                                                        db * MOVE_FRACTION * (b_hi - b_lo)))

    def action_fit(self) -> None:
        self.window = None
        self.show(self.snapshot)

    def action_zoom(self, factor: float) -> None:
        (w_lo, w_hi), (b_lo, b_hi) = self.current_window()
        wc, bc = (w_lo + w_hi) / 2, (b_lo + b_hi) / 2
        ws, bs = (w_hi - w_lo) * factor / 2, (b_hi - b_lo) * factor / 2
        self.window = ((wc - ws, wc + ws), (bc - bs, bc + bs))
        self.show(self.snapshot)
