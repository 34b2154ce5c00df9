"""Chapter 5's teaching tools on top of the trainer screen: the presets, the gradient check,
accumulating gradients, stepping back an epoch.

`ChapterFeatures` is mixed into `KeplerApp`; it uses the app's runner and its
`user_changed_something`/`load_fit_data`, and the app calls `show_chapter_extras` with every
snapshot it shows. Everything here talks to the trainer through the runner, so it happens
between two epochs.
"""
from __future__ import annotations

from dataclasses import fields

import numpy as np
from functools import partial
from typing import Iterable

from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from engine.lesson.gradcheck import check_gradients
from engine.lesson.presets import PRESETS, preset
from engine.training.trainer import SettingError, Snapshot

from . import settings as lesson
from .descent_path import DescentPath
from .screens.gradient_check import GradientCheckScreen
from .lesson_steps import STEPS
from .screens.landscape import LandscapeScreen
from .screens.lesson import LessonScreen
from .screens.preset_picker import PresetPicker
from .widgets.lesson_note import LessonNote
from .widgets.loss_plot import Ghost, LossPlot, loss_surface

MAX_GHOSTS = 5

CHAPTER_BINDINGS = [
    Binding("p", "pick_preset", "Presets", show=False, tooltip="the chapter's experiments: pick one to run"),
    Binding("g", "gradient_check", "Gradient check", show=False,
            tooltip="the gradient three ways: finite differences, closed form, autograd"),
    Binding("a", "toggle_zero_grad", "Accumulate", show=False,
            tooltip="zero the gradients each epoch (on), or let them accumulate (the classic bug)"),
    Binding("w", "landscape", "Landscape", show=False,
            tooltip="the loss over (w, b) for the line, with the descent path (arrows move the start)"),
    Binding("k", "pin_ghost", "Pin run", show=False,
            tooltip="keep this run's loss curve as a dimmed ghost under the next runs"),
    Binding("K", "clear_ghosts", "Clear pinned", show=False, tooltip="remove the pinned loss curves"),
    Binding("c", "lesson", "Lesson", show=False, tooltip="Kepler's seven steps, one at a time (kepler --lesson)"),
    Binding("backspace,comma", "rewind", "Step back", show=False, key_display=",",
            tooltip="go back one epoch (n continues from there)"),
]


def gradients_here(trainer, step: float, max_elements: int, input_name: str):
    """The gradient check at the trainer's parameters, and where that is, read together
    (between two epochs, so the numbers and the place agree while a run goes on)."""
    checks = check_gradients(trainer, step=step, max_elements=max_elements)
    if trainer.setup.model == "linear":
        params = dict(trainer.model.named_parameters())
        at = f"w = {float(params['w'].data):.6g}, b = {float(params['b'].data):.6g}"
    else:
        at = f"the {trainer.setup.model} model's current parameters"
    return checks, f"epoch {trainer.epoch}: {at}, input {input_name}"


class ChapterFeatures:
    """Actions for `CHAPTER_BINDINGS`; mixed into the App."""

    open_lesson = False  # `kepler --lesson`: the lesson comes up first
    lesson_step = 0  # where the lesson is (it reopens there)

    def on_mount(self) -> None:
        if self.open_lesson:
            self.action_lesson()

    # ------------------------------------------------------------------ snapshots
    def show_chapter_extras(self, s: Snapshot, plots: bool = True) -> None:
        self.descent_path.add(s)
        note = self.lesson_note()
        if note is not None:
            note.show(s)
        if isinstance(self.screen, LandscapeScreen):
            self.screen.show(s)

    @property
    def descent_path(self) -> DescentPath:
        """The line's recent (w, b), for the landscape (kept while other screens are up)."""
        if getattr(self, "_descent_path", None) is None:
            self._descent_path = DescentPath()
        return self._descent_path

    def lesson_note(self) -> LessonNote | None:
        """The warning line above the loss plot (mounted on first use)."""
        found = self.main_screen.query(LessonNote)
        if found:
            return found.first()
        left = self.main_screen.query("#left")
        if not left:
            return None
        note = LessonNote(id="lesson-note")
        left.first().mount(note, before=0)
        return note

    # ------------------------------------------------------------------ presets
    def action_pick_preset(self) -> None:
        def chosen(key: str | None) -> None:
            if key:
                self.apply_preset(key)

        self.push_screen(PresetPicker(), chosen)

    def apply_preset(self, key: str, say: str | None = None) -> None:
        """Start the run over with a preset's setup and hyperparameters; say what to look for."""
        p = preset(key)
        try:
            self.runner.reset(p.setup)
            self.runner.set_hyperparameters(**{f.name: getattr(p.hyper, f.name) for f in fields(p.hyper)})
        except SettingError as exc:  # a user's dataset the preset cannot use
            self.notify(str(exc), title="Not changed", severity="error")
            return
        self.load_fit_data()
        self.notify(say or f"{p.story}  (space trains)", title=p.title, timeout=15)
        self.user_changed_something()

    # ------------------------------------------------------------------ the gradient check
    def action_gradient_check(self) -> None:
        s = self.runner.latest
        # Finite differences cost two forward passes per element: a few per tensor make the point.
        elements = 8 if s.setup.model == "linear" else 2
        input_name = lesson.describe_input(s)

        def run_check(step: float):
            return self.runner.call(partial(gradients_here, step=step, max_elements=elements, input_name=input_name))

        self.push_screen(GradientCheckScreen(run_check))

    # ------------------------------------------------------------------ the loss landscape
    def action_landscape(self) -> None:
        if self.runner.latest.setup.model != "linear":
            self.notify(f"The landscape is drawn for the line only (two parameters, one map); this run's "
                        f"model is {self.runner.latest.setup.model}: press m or p for a line.",
                        title="No landscape", severity="warning", timeout=6)
            return
        self.push_screen(LandscapeScreen(self.descent_path, ascii_only=self.ascii_plots))

    # ------------------------------------------------------------------ accumulating gradients
    def action_toggle_zero_grad(self) -> None:
        zero = not self.runner.latest.hyper.zero_grad
        self.runner.set_hyperparameters(zero_grad=zero)
        if zero:
            self.notify("Gradients are zeroed before each backward pass again.", title="zero_grad on", timeout=3)
        else:
            self.notify("Each backward pass now adds to the old gradients: watch the loss.",
                        title="zero_grad off", severity="warning", timeout=5)
        self.user_changed_something()

    # ------------------------------------------------------------------ ghosts
    def action_pin_ghost(self) -> None:
        s = self.runner.latest
        h = s.history
        if h.epochs.size == 0:
            self.notify("Nothing to pin yet: train a few epochs first.", severity="warning", timeout=3)
            return
        label = f"{s.setup.model}, {lesson.describe_input(s)}, {lesson.describe_optimizer(s)} lr {s.hyper.learning_rate:g}"
        val = h.val_loss.astype(np.float64) if np.isfinite(h.val_loss).any() else None
        # The path on the landscape, if this run is the line the descent path follows.
        path = self.descent_path.points.copy() if s.setup == self.descent_path.setup and s.setup.model == "linear" else None
        has_path = path is not None and len(path)
        ghost = Ghost(label, h.epochs.astype(np.float64), h.train_loss.astype(np.float64), val,
                      path if has_path else None, loss_surface(s) if has_path else None)
        self.pinned_ghosts = (self.pinned_ghosts + (ghost,))[-MAX_GHOSTS:]
        self.notify(f"Pinned: {label} ({len(self.pinned_ghosts)} pinned; K clears them).", title="Ghost", timeout=4)

    def action_clear_ghosts(self) -> None:
        self.pinned_ghosts = ()

    @property
    def pinned_ghosts(self) -> tuple[Ghost, ...]:
        """The pinned earlier runs (the loss plot draws them; the landscape draws their paths)."""
        return self.main_screen.query_one(LossPlot).ghosts

    @pinned_ghosts.setter
    def pinned_ghosts(self, ghosts: Iterable[Ghost]) -> None:
        self.main_screen.query_one(LossPlot).set_ghosts(tuple(ghosts))
        if isinstance(self.screen, LandscapeScreen):
            self.screen.show(self.runner.latest)

    # ------------------------------------------------------------------ stepping back
    def action_rewind(self) -> None:
        before = self.runner.latest.epoch
        epoch = self.runner.rewind(1)
        if epoch == before:
            self.notify("Nothing to step back to (the start, or further back than the trainer keeps).",
                        severity="warning", timeout=3)
        self.user_changed_something()

    # ------------------------------------------------------------------ the seven steps
    def action_lesson(self) -> None:
        def chosen(step: int | None) -> None:
            if step is None:
                return
            self.lesson_step = step
            lesson_step = STEPS[step]
            self.apply_preset(lesson_step.preset, say=f"Step {step + 1}, {lesson_step.title}: {lesson_step.keys}")

        self.push_screen(LessonScreen(self.lesson_step), chosen)

    # ------------------------------------------------------------------ the command palette
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for number, p in enumerate(PRESETS, 1):
            yield SystemCommand(f"Preset {number}: {p.title}", p.story, partial(self.apply_preset, p.key))
