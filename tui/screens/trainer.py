"""The trainer screen: the loss curve, the fit, the parameters, the hyperparameters and the
train/validation gap of one run, every panel drawn from the same snapshot.

Snapshots reach `receive` (on the UI thread, in the order the runner took them). A frame
draws the newest one on every widget at once, at most `fps` frames a second; right after a
key press the next snapshot is drawn at once, so the changed value shows without waiting.
Each widget redraws only the cells that changed: over SSH the bytes sent to the terminal
are what make the app feel slow or not.
"""
from __future__ import annotations

import time
from typing import Callable

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Static

from engine.training.trainer import Snapshot

from ..descent_path import DescentPath
from ..widgets.divergence_panel import DivergencePanel
from ..widgets.fit_plot import FitPlot
from ..widgets.hyper_panel import HyperPanel
from ..widgets.lesson_note import LessonNote
from ..widgets.loss_plot import LossPlot
from ..widgets.message_bar import MessageBar
from ..widgets.overfit_panel import OverfitPanel
from ..widgets.param_table import ParamTable
from ..widgets.status_bar import StatusBar

MIN_WIDTH, MIN_HEIGHT = 70, 20  # below this the panels cannot show their numbers
WIDGETS = (StatusBar, ParamTable, HyperPanel, OverfitPanel, LossPlot, FitPlot, LessonNote)
# Panels that `f` shows full screen (zoom). They take focus (tab, a click), and the focused
# one is the one zoomed; with the focus elsewhere (the hyperparameters) the loss curve is.
ZOOMABLE = (LossPlot, FitPlot)


class TrainerScreen(Screen):
    # A zoomed panel keeps the status line and the keys around it (Textual's maximize).
    ALLOW_IN_MAXIMIZED_VIEW = "#status, Footer"
    # Escape leaves the zoom through a binding, in order with the other keys of a burst
    # (Textual's own check runs as a key arrives, before the keys ahead of it are handled).
    ESCAPE_TO_MINIMIZE = False
    BINDINGS = [Binding("escape", "unzoom", show=False)]
    def __init__(self, snapshot: Snapshot, *, fps: float, ascii_plots: bool, show_rate: bool, ghosts: tuple = (),
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.snapshot = snapshot  # the one on screen
        self.ghosts = ghosts  # pinned runs to draw from the start
        self.fps = fps
        self.ascii_plots = ascii_plots
        self.show_rate = show_rate
        self.clock = clock
        self.descent_path = DescentPath()  # the line's recent (w, b), for the landscape
        self.frames = 0  # frames drawn (the frame-rate test counts them)
        self._pending: Snapshot | None = None
        self._timer: Timer | None = None
        self._last_frame = -1e9
        self._urgent = False
        self._drawing = False
        self._focus_before_zoom = None

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status", show_rate=self.show_rate)
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield LessonNote(id="lesson-note")
                yield LossPlot(id="loss", ascii_only=self.ascii_plots)
                yield DivergencePanel(id="divergence")
                yield FitPlot(id="fit", ascii_only=self.ascii_plots)
            with Vertical(id="right"):
                yield ParamTable(id="params")
                yield HyperPanel(id="hyper")
                yield OverfitPanel(id="overfit")
        yield Static("", id="too-small")
        yield MessageBar(id="message-bar", hint=" M: every message of this session")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#params").border_title = "Parameters"
        self.query_one("#hyper").border_title = "Hyperparameters"
        self.query_one("#divergence").border_title = "Diverged"
        for panel in self.query("#loss, #fit"):
            panel.can_focus = True  # focus picks the panel to zoom
        self.query_one(HyperPanel).focus()
        self.query_one(LossPlot).set_ghosts(self.ghosts)
        self._drawing = True
        self.draw(self.snapshot)

    def on_unmount(self) -> None:
        self._drawing = False

    def on_resize(self, event: events.Resize) -> None:
        width, height = event.size
        self.query_one(ParamTable).show_values = height >= 34  # room for a few numbers per tensor
        self.query_one("#too-small", Static).update(
            f"Kepler needs a terminal of at least {MIN_WIDTH}×{MIN_HEIGHT}; this one is {width}×{height}.\n"
            "Make the window bigger or the font smaller.")

    # ------------------------------------------------------------------ snapshots in, frames out
    def user_acted(self) -> None:
        """A key was pressed: draw the next snapshot (the one the key's command published) now."""
        self._urgent = True

    def receive(self, snapshot: Snapshot) -> None:
        self._pending = snapshot
        wait = self._last_frame + 1.0 / self.fps - self.clock()
        if self._urgent or wait <= 0:
            self.frame()
        elif self._timer is None:
            self._timer = self.set_timer(wait, self.frame)

    def frame(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self._pending is None:
            return
        snapshot, self._pending = self._pending, None
        self._urgent = False
        self._last_frame = self.clock()
        self.draw(snapshot)

    def draw(self, s: Snapshot) -> None:
        """Every panel from this one snapshot."""
        if not self._drawing:
            return  # not composed yet, or closing down
        self.snapshot = s
        self.frames += 1
        diverged = s.divergence is not None
        self.set_class(diverged, "-diverged")
        for widget in WIDGETS:
            self.query_one(widget).show(s)
        if diverged:
            self.query_one(DivergencePanel).show(s)
        self.descent_path.add(s)
        follower = self.app.screen
        if follower is not self and hasattr(follower, "follow"):
            follower.follow(s)  # a view over the run (the landscape) moves with it

    # ------------------------------------------------------------------ zoom
    def toggle_zoom(self) -> None:
        """`f`: the focused plot (else the loss curve) alone on the screen, or back."""
        if self.maximized is not None:
            self.minimize()
        else:
            self.maximize(self.focused or self.query_one(LossPlot))

    def action_unzoom(self) -> None:
        if self.maximized is not None:
            self.minimize()

    def maximize(self, widget, container: bool = True) -> bool:
        # Also reached from the palette's "Maximize": always one of the plots.
        panel = widget if isinstance(widget, ZOOMABLE) and widget.display else self.query_one(LossPlot)
        self._focus_before_zoom = self.focused if self.focused is not panel else None
        self.set_focus(panel)  # at once: the next key of a burst goes to it
        return super().maximize(panel, container=False)

    def watch_maximized(self, zoomed) -> None:
        if zoomed is None and self._focus_before_zoom is not None:
            before, self._focus_before_zoom = self._focus_before_zoom, None
            if before.is_attached:
                self.set_focus(before)  # back to where the keys went before (the hyperparameters)

    def redraw_all(self) -> None:
        for widget in self.query("#status, #loss, #divergence, #fit, #params, #hyper, #overfit"):
            widget.rebuild()
