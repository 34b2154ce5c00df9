"""Every change a user can make to the run, in one place and without any UI.

The Textual app is a thin layer over this: a key calls a method here, the method validates
what was asked, then applies it as one command on the runner's thread (between two epochs),
so a refused value never leaves a run half changed. What the change did comes back as
snapshots, through the runner's listeners; what to tell the user comes back as an
`Outcome` (or None when there is nothing to say).

Imports no textual: a test loads this module in a fresh interpreter and checks.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

import data
from engine.lesson.gradcheck import check_gradients
from engine.lesson.presets import preset
from engine.lesson.suggested import suggestion
from engine.training import session as sessions
from engine.training.runner import BackgroundTrainer
from engine.training.setup_string import format_setup_string, parse_setup_string
from engine.training.trainer import Hyperparameters, SettingError, Setup, Snapshot, Trainer

from . import settings
from .ghosts import Ghost, ghost_to_saved, ghosts_from_saved, loss_surface, with_best_row

MAX_GHOSTS = 5
SESSION_FILE = "kepler-session.json"
HISTORY_FILE = "kepler-history.csv"
FRESH_SPLIT = {"train_indices": None, "val_indices": None}  # chosen indices belong to the old points


@dataclass(frozen=True)
class Outcome:
    """What to tell the user after a change: a notification's text, title and severity."""

    message: str
    title: str = ""
    severity: str = "information"  # information | warning | error
    timeout: float = 4.0

    @property
    def refused(self) -> bool:
        return self.severity == "error"


def refused(message: str) -> Outcome:
    return Outcome(message, "Not changed", "error", 6.0)


def run_label(s: Snapshot) -> str:
    """A run described in a few words: 'linear, 0.1 × raw, SGD lr 0.01' (plus its data, if
    not the book's)."""
    label = f"{s.setup.model}, {settings.describe_input(s)}, {settings.describe_optimizer(s)} lr {s.hyper.learning_rate:g}"
    return label if s.setup.dataset == "thermometer" else f"{s.dataset.title if s.dataset else s.setup.dataset}: {label}"


def default_trainer() -> Trainer:
    """The chapter's line on the thermometer data, with the normalised input (0.1 * t_u) and
    lr 1e-2 that converge: `space` shows learning, `z` (raw input) shows divergence."""
    return Trainer(Setup(input_transform="scale", input_scale=0.1), Hyperparameters(learning_rate=1e-2, epochs=5000))


class Controller:
    """Owns the runner (and so the run) and the pinned runs; every method is safe to call
    from the UI thread and returns quickly."""

    def __init__(self, trainer: Trainer | None = None, *, speed: float | None = settings.DEFAULT_SPEED,
                 snapshot_rate: float = 10.0, threaded: bool = True, ghosts: Iterable[Ghost] = ()):
        self.runner = BackgroundTrainer(trainer or default_trainer(), epochs_per_second=speed,
                                        snapshot_rate=snapshot_rate, threaded=threaded)
        self.ghosts: tuple[Ghost, ...] = tuple(ghosts)

    # ------------------------------------------------------------------ listening
    def add_listener(self, listener: Callable[[Snapshot], None]) -> Callable[[], None]:
        return self.runner.add_listener(listener)

    def close(self) -> None:
        self.runner.close()

    @property
    def speed(self) -> float | None:
        return self.runner.epochs_per_second

    # ------------------------------------------------------------------ training
    def toggle_run(self) -> Outcome | None:
        def toggle(trainer: Trainer) -> Outcome | None:
            if trainer.state == "diverged":
                return Outcome("The run diverged: press r to start over, or 1, 2, 3 for a fix.", severity="warning")
            if trainer.state == "finished" and not self.runner.running:
                if trainer.stopped_early:
                    return Outcome("Early stopping ended the run at the best validation epoch: r starts over.",
                                   severity="warning")
                return Outcome("The epoch budget is spent: b raises it, r starts over.", severity="warning")
            starting = trainer.epoch == 0 and not self.runner.running
            self.runner.toggle()
            # Starting a run at the edge of stability: say so now, not after a long wait.
            return self.edge_outcome() if starting else None

        return self.runner.call(toggle)

    def step(self, epochs: int = 1) -> None:
        self.runner.step(epochs)

    def rewind(self, epochs: int = 1) -> Outcome | None:
        def back(trainer: Trainer) -> tuple[int, int]:
            return trainer.epoch, self.runner.rewind(epochs)  # read and stepped back in one command

        before, after = self.runner.call(back)
        if after == before:
            return Outcome("Nothing to step back to (the start, or further back than the trainer keeps).",
                           severity="warning", timeout=3)
        return None

    def reset(self) -> Outcome:
        self.runner.reset()
        return Outcome("Back to epoch 0 and the initial parameters.", "Reset", timeout=2)

    # ------------------------------------------------------------------ settings
    def apply(self, change: settings.Change, what: str, restart: bool = False) -> Outcome | None:
        """A key's or a typed value's change. A setup change (or `restart`) starts the run
        over, still running if it was; a hyperparameter change steers the run; a speed
        changes the runner. All or nothing: a bad value changes nothing."""
        if change.speed is not None:
            self.runner.set_speed(change.speed[0])
        if change.restarts or restart:
            return self.start_over(what, setup_changes=change.setup, hyper_changes=change.hyper)
        if change.hyper:
            def steer(trainer: Trainer):
                before = trainer.hyper
                return before, trainer.set_hyperparameters(**change.hyper)

            try:
                before, after = self.runner.call(steer)
            except SettingError as exc:
                return refused(str(exc))
            told = settings.describe_hyper_change(before, after)
            told = told[0].upper() + told[1:] + " (the run goes on)" if told else ""
            return self.edge_outcome(change.note, told)
        return Outcome(change.note, severity="warning") if change.note else None

    def edge_outcome(self, note: str = "", told: str = "") -> Outcome | None:
        """After a change of rate or optimizer: what changed (`told`), `note` (a limit
        reached), and a warning when plain gradient descent now sits at the edge of stability
        (the loss would swing for good, never settling)."""
        warning = " ".join(part for part in (note, self.runner.call(settings.edge_warning)) if part)
        said = ". ".join(part for part in (told, warning) if part)
        if not said:
            return None
        return Outcome(said, "Changed", "warning", 6) if warning else Outcome(said, "Changed", timeout=2)

    def cycle(self, next_change: Callable[[Trainer], settings.Change],
              describe: Callable[[settings.Change], str]) -> Outcome | None:
        """A key that moves a setting one further (o, m, z, v, s, b, E, + - * /): the next
        value is worked out from the run's own settings and applied in the same command, so
        each key of a burst moves one further (never twice from the snapshot on screen).
        `next_change` reads the run's settings (`.setup`, `.hyper`, `.split`), which a trainer
        has as a snapshot does."""
        def command(trainer: Trainer) -> Outcome | None:
            change = next_change(trainer)
            return self.apply(change, describe(change))  # its runner calls run here, in order

        return self.runner.call(command)

    def start_over(self, what: str, setup: Setup | None = None, *, setup_changes: dict | None = None,
                   hyper_changes: dict | None = None, hyper: Hyperparameters | None = None, dataset=None,
                   resume: bool = True, say: str | None = None, title: str = "New run") -> Outcome:
        """Start the run over on a new setup (or these changes to the current one), with
        these hyperparameters, on these points: validated and applied as one command. The
        run keeps playing if it was (`resume`)."""
        def restart(trainer: Trainer) -> None:
            try:
                new_setup = replace(setup or trainer.setup, **(setup_changes or {}))
                new_hyper = replace(hyper or trainer.hyper, **(hyper_changes or {}))
            except TypeError as exc:  # a wrongly typed field: say which, never a traceback
                raise SettingError(str(exc)) from None
            self.runner.reset(new_setup, dataset=dataset, hyper=new_hyper, resume=resume)

        try:
            self.runner.call(restart)
        except SettingError as exc:
            return refused(str(exc))
        warning = self.runner.call(settings.edge_warning)
        if warning:
            return Outcome(f"{say or f'{what}: the run starts over'}. {warning}", title, "warning", 6)
        return Outcome(say or f"{what}: the run starts over", title, timeout=3)

    def apply_fix(self, key: str) -> Outcome | None:
        """After a divergence, `1`, `2`, `3`: start over with that fix, and train."""
        s = self.runner.latest
        if s.divergence is None:
            return Outcome(f"{key} offers a fix after a divergence; this run has not diverged "
                           "(try a bigger learning rate, or z for the raw input).", severity="warning")
        for fix in settings.divergence_fixes(s):
            if fix.key == key:
                outcome = self.start_over(fix.label, setup_changes=fix.change.setup, hyper_changes=fix.change.hyper)
                if not outcome.refused:
                    self.runner.play()
                return outcome
        return Outcome(f"There is no fix {key} for this run.", severity="warning")

    def move_start(self, w: float, b: float) -> Outcome | None:
        """Start the line from (w, b): a new run, paused if it was paused."""
        outcome = self.start_over("start point", setup_changes={"init_w": w, "init_b": b})
        return outcome if outcome.refused else None

    def move_start_by(self, dw: float, db: float) -> Outcome | None:
        """Move the line's start by (dw, db) from where the run starts now: read from the
        trainer, not from the last snapshot drawn, so arrow keys in a burst add up."""
        w0, b0 = self.runner.call(lambda t: (t.setup.init_w, t.setup.init_b))
        return self.move_start(float(f"{w0 + dw:.4g}"), float(f"{b0 + db:.4g}"))

    def toggle_zero_grad(self) -> Outcome:
        zero = self.runner.call(lambda t: t.set_hyperparameters(zero_grad=not t.hyper.zero_grad).zero_grad)
        if zero:
            return Outcome("Gradients are zeroed before each backward pass again.", "zero_grad on", timeout=3)
        return Outcome("Each backward pass now adds to the old gradients: watch the loss.", "zero_grad off",
                       "warning", 5)

    def load_preset(self, key: str, say: str | None = None) -> Outcome:
        p = preset(key)
        return self.start_over(p.title, p.setup, hyper=p.hyper, resume=False,
                               say=say or f"{p.story} (space trains)", title=p.title)

    # ------------------------------------------------------------------ data
    def pick_dataset(self, name: str) -> Outcome:
        return self.start_over(f"dataset {name}",
                               setup_changes={"dataset": name, "x_column": None, "y_column": None, **FRESH_SPLIT})

    def pick_suggested(self, name: str) -> Outcome:
        """A built-in dataset with the setup its file suggests (its `Try:` line): data,
        model, input, split and optimizer in one change. A malformed line changes nothing."""
        try:
            tried = suggestion(name)
        except SettingError as exc:
            return refused(str(exc))
        if tried is None:
            return refused(f"{name} suggests no setup of its own; enter picks it with the current settings")
        after = f"  Then try {tried.then}." if tried.then else ""
        return self.start_over(f"{name}, suggested setup", tried.setup, hyper=tried.hyper,
                               say=f"{name} with its suggested setup: {tried.setup_string}.{after} (space trains)")

    def open_csv(self, path: str, x_column: str | None, y_column: str | None) -> Outcome:
        if not path:
            return refused("type the path of a CSV file")
        return self.start_over(f"data from {Path(path).name}",
                               setup_changes={"dataset": data.file_reference(path), "x_column": x_column or None,
                                              "y_column": y_column or None, **FRESH_SPLIT})

    def edit_points(self, x, y) -> Outcome:
        try:
            edited = self.runner.latest.dataset.with_points(x, y)
        except data.DataError as exc:
            return refused(str(exc))
        return self.start_over("edited points", dataset=edited)

    def setup_string(self) -> str:
        s = self.runner.latest
        return format_setup_string(s.setup, s.hyper)

    def apply_setup_string(self, text: str, allowed_data: Callable[[str], bool] | None = None) -> Outcome:
        """A typed setup string's run (`allowed_data`: in a served session, the datasets a
        student may name)."""
        try:
            setup, hyper = parse_setup_string(text)
        except SettingError as exc:
            return refused(str(exc))
        if allowed_data is not None and not allowed_data(setup.dataset):
            return refused("data: a built-in dataset, or one of your teacher's files (ctrl+o lists them)")
        return self.start_over("setup string", setup, hyper=hyper)

    # ------------------------------------------------------------------ the chapter's tools
    def gradient_check(self, step: float, max_elements: int, input_name: str):
        """The gradient three ways at the current parameters, and where that is, read together
        between two epochs (so the numbers and the place agree while a run goes on)."""
        def check(trainer: Trainer):
            checks = check_gradients(trainer, step=step, max_elements=max_elements)
            if trainer.setup.model == "linear":
                params = dict(trainer.model.named_parameters())
                at = f"w = {float(params['w'].data):.6g}, b = {float(params['b'].data):.6g}"
            else:
                at = f"the {trainer.setup.model} model's current parameters"
            return checks, f"epoch {trainer.epoch}: {at}, input {input_name}"

        return self.runner.call(check)

    def pin(self, descent_path) -> Outcome:
        """Keep the run's curves (and its path on the landscape) as a ghost, with its
        settings; read between two epochs, with the trainer's best validation epoch."""
        s, best = self.runner.call(lambda t: (t.snapshot(), t.best_validation))
        h = s.history
        if h.epochs.size == 0:
            return Outcome("Nothing to pin yet: train a few epochs first.", severity="warning", timeout=3)
        label = run_label(s)
        val = h.val_loss.astype(np.float64) if np.isfinite(h.val_loss).any() else None
        epochs, train, val = with_best_row(h.epochs.astype(np.float64), h.train_loss.astype(np.float64), val, best)
        path = descent_path.points.copy() if s.setup == descent_path.setup and s.setup.model == "linear" else None
        has_path = path is not None and len(path)
        try:
            pinned_settings = format_setup_string(s.setup, s.hyper)
        except SettingError:  # a file name a setup string cannot hold (a double quote): described by its label
            pinned_settings = None
        ghost = Ghost(label, epochs, train, val, path if has_path else None, loss_surface(s) if has_path else None,
                      pinned_settings)
        self.ghosts = (self.ghosts + (ghost,))[-MAX_GHOSTS:]
        return Outcome(f"Pinned: {label} ({len(self.ghosts)} pinned; P lists them, K clears them).", "Ghost")

    def clear_ghosts(self) -> None:
        self.ghosts = ()

    # ------------------------------------------------------------------ sessions and exports
    def session_json(self) -> str:
        """The session file's text (the run and the pinned runs), read between two epochs."""
        saved = [ghost_to_saved(g) for g in self.ghosts]
        return self.runner.call(lambda t: sessions.session_json(t, saved))

    def history_csv(self) -> str:
        return self.runner.call(sessions.history_csv)

    def save_session(self, path: str) -> Outcome:
        saved = [ghost_to_saved(g) for g in self.ghosts]
        try:
            written = self.runner.call(lambda t: sessions.save_session(t, path or SESSION_FILE, saved))
        except sessions.SessionError as exc:
            return refused(str(exc))
        return Outcome(f"Saved to {written} (ctrl+l loads it)", "Session saved")

    def load_session(self, path: str, shown: str | None = None) -> Outcome:
        """Replace the run (and the pinned runs) with a saved session's; it continues where
        it was, paused. A bad file changes nothing."""
        where = path or SESSION_FILE
        try:
            loaded, saved_ghosts = sessions.load_session(where)
            ghosts = ghosts_from_saved(saved_ghosts, where)
        except sessions.SessionError as exc:
            return refused(str(exc))
        self.runner.call(lambda t: t.take_over(loaded), pause=True)
        self.ghosts = ghosts  # the file's pinned runs replace the ones on screen
        return Outcome(f"{shown or where}: epoch {loaded.epoch:,}; space continues it", "Session loaded")

    def export_history(self, path: str) -> Outcome:
        try:
            written = self.runner.call(lambda t: sessions.export_history_csv(t, path or HISTORY_FILE))
        except sessions.SessionError as exc:
            return refused(str(exc))
        return Outcome(f"Loss history written to {written}", "Exported")

