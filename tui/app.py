"""The trainer screen: a teacher presses a key and the class sees learning happen.

The App owns a `BackgroundTrainer`. Training runs on the runner's thread; the runner calls
our listener from that thread and the listener only posts a `SnapshotReady` message (which
is thread-safe, and collapses a backlog to the newest snapshot). On the UI thread snapshots
are shown at most `fps` times a second, immediately after a key press, and each widget
redraws only when its own data changed, and then only the cells that changed: over SSH the
bytes sent to the terminal are what make the app feel slow or not.

Keys change settings through `settings.py`: a hyperparameter change continues the run, a
setup change (model, input, split) starts it over and says so. A bad value is refused with
the engine's one-line message; nothing changes.
"""
from __future__ import annotations

import time
from dataclasses import replace
from functools import partial
from typing import Iterable

from textual import events, on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Static

from engine.runner import BackgroundTrainer
from engine.trainer import Hyperparameters, SettingError, Setup, Snapshot, Trainer

from . import settings as lesson
from .chapter import CHAPTER_BINDINGS, ChapterFeatures
from .data_sessions import DATA_BINDINGS, DataAndSessions
from .ghosts import ghosts_from_saved
from .messages import SettingChosen, SnapshotReady
from .screens.help import HelpScreen
from .screens.setting_dialog import SettingDialog
from .widgets.divergence_panel import DivergencePanel
from .widgets.fit_plot import FitData, FitPlot
from .widgets.hyper_panel import HyperPanel
from .widgets.loss_plot import LossPlot
from .widgets.overfit_panel import OverfitPanel
from .widgets.param_table import ParamTable
from .widgets.status_bar import StatusBar

MIN_WIDTH, MIN_HEIGHT = 70, 20  # below this the panels cannot show their numbers
LOW_BANDWIDTH_FPS = 2.0


def default_trainer() -> Trainer:
    """The chapter's line on the thermometer data, with the normalised input (0.1 * t_u) and
    lr 1e-2 that converge: `space` shows learning, `z` (raw input) shows divergence."""
    return Trainer(Setup(input_transform="scale", input_scale=0.1),
                   Hyperparameters(learning_rate=1e-2, epochs=5000))


# Headings of the help screen: each starts at the binding with that action.
HELP_SECTIONS = {
    "toggle_run": "Training",
    "lr_up": "Steering (the run continues)",
    "cycle_model": "Defining the run (it starts over)",
    "fix('1')": "After a divergence",
    "pick_preset": "Chapter 5: the lesson's tools",
    "pick_dataset": "Data and sessions",
    "toggle_log": "Screen",
}


class KeplerApp(DataAndSessions, ChapterFeatures, App):
    CSS_PATH = "app.tcss"
    TITLE = "Kepler"
    SUB_TITLE = "the mechanics of learning"

    HORIZONTAL_BREAKPOINTS = [(0, "-too-narrow"), (MIN_WIDTH, "-narrow"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-too-short"), (MIN_HEIGHT, "-short"), (24, "-medium"), (34, "-tall")]

    BINDINGS = [
        Binding("space", "toggle_run", "Play", tooltip="train continuously, or pause"),
        Binding("n", "step(1)", "Step", tooltip="train one epoch"),
        Binding("N", "step_many", "Many epochs", show=False, tooltip=f"train {lesson.MANY_EPOCHS} epochs"),
        Binding("r", "reset", "Reset", tooltip="start the run over from the initial parameters"),
        # The footer shows the pair once, as "+/- lr"; the help screen lists both.
        Binding("plus,equals_sign", "lr_up", "lr", key_display="+/-", tooltip="learning rate × 10"),
        Binding("minus", "lr_down", "lr ÷10", show=False, key_display="-", tooltip="learning rate ÷ 10"),
        Binding("asterisk", "lr_scale(2)", "lr ×2", show=False, key_display="*", tooltip="learning rate × 2"),
        Binding("slash", "lr_scale(0.5)", "lr ÷2", show=False, key_display="/", tooltip="learning rate ÷ 2"),
        Binding("o", "cycle_optimizer", "Optimizer", show=False,
                tooltip="SGD → SGD with momentum 0.9 → Adam (other values: type 'sgd 0.5' or 'adam 0.9 0.99' on its row)"),
        Binding("b", "cycle_budget", "Epoch budget", show=False, tooltip="100 → 1,000 → 5,000 → 20,000 → 100,000 epochs"),
        Binding("left_square_bracket", "speed(-1)", "Slower", show=False, key_display="[", tooltip="fewer epochs per second"),
        Binding("right_square_bracket", "speed(1)", "Faster", show=False, key_display="]",
                tooltip="more epochs per second, up to max"),
        Binding("E", "toggle_early_stopping", "Early stopping", show=False,
                tooltip="stop once validation loss has risen for a while, back at the best epoch"),
        Binding("m", "cycle_model", "Model", show=False, tooltip="line → cubic → MLP 1-8-1 → MLP 1-24-1"),
        Binding("z", "cycle_input", "Input", tooltip="input 0.1 × raw (the book's normalisation) → raw → standardised"),
        Binding("v", "cycle_val", "Validation", show=False, tooltip="hold out 0 → 20% → 30% → 50% of the points"),
        Binding("s", "reseed", "Reseed split", show=False, tooltip="a different random train/validation split"),
        Binding("1", "fix('1')", "Lower lr", show=False, tooltip="after a divergence: a smaller learning rate, from the start"),
        Binding("2", "fix('2')", "Normalise", show=False, tooltip="after a divergence: a normalised input, from the start"),
        Binding("3", "fix('3')", "Adam", show=False, tooltip="after a divergence: the Adam optimizer, from the start"),
        *CHAPTER_BINDINGS,
        *DATA_BINDINGS,
        Binding("l", "toggle_log", "Log", tooltip="loss axis: linear or log scale"),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="this list of keys"),
        Binding("q", "quit", "Quit", tooltip="leave Kepler"),
    ]

    def __init__(self, trainer: Trainer | None = None, *, runner_threaded: bool = True, fps: float = 10.0,
                 low_bandwidth: bool = False, ascii_plots: bool = False, start_running: bool = False,
                 speed: float | None = lesson.DEFAULT_SPEED, ghosts: Iterable = ()) -> None:
        super().__init__()
        # Pinned runs to draw from the start (a loaded session's): Ghosts, or as a session holds them.
        self.initial_ghosts = ghosts_from_saved(ghosts)
        self.fps = min(fps, LOW_BANDWIDTH_FPS) if low_bandwidth else fps
        self.low_bandwidth = low_bandwidth
        self.ascii_plots = ascii_plots
        self.start_running = start_running
        self.threaded = runner_threaded
        self.runner = BackgroundTrainer(trainer or default_trainer(), epochs_per_second=speed,
                                        snapshot_rate=self.fps, threaded=runner_threaded)
        self.speed = self.runner.epochs_per_second
        self.snapshot: Snapshot = self.runner.latest
        self._pending: Snapshot | None = None
        self._frame_timer: Timer | None = None
        self._last_frame = 0.0
        self._last_plots = 0.0
        self._delivered = 0  # snapshots the runner has handed us
        self._shown_sequence = 0  # snapshots delivered before this one are out of date
        self._plot_timer: Timer | None = None
        self.plot_interval = 2.0 / self.fps
        self._urgent = True
        self._stop_listening = None

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status", show_rate=self.threaded)
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield LossPlot(id="loss", ascii_only=self.ascii_plots)
                yield DivergencePanel(id="divergence")
                yield FitPlot(id="fit", ascii_only=self.ascii_plots)
            with Vertical(id="right"):
                yield ParamTable(id="params")
                yield HyperPanel(id="hyper")
                yield OverfitPanel(id="overfit")
        yield Static("", id="too-small")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.main_screen.query_one("#params").border_title = "Parameters"
        self.main_screen.query_one("#hyper").border_title = "Hyperparameters"
        self.main_screen.query_one("#divergence").border_title = "Diverged"
        self.main_screen.query_one(HyperPanel).focus()
        self.load_fit_data()
        if self.initial_ghosts:
            self.pinned_ghosts = self.initial_ghosts
        self._stop_listening = self.runner.add_listener(self.snapshot_from_worker)
        self.theme_changed_signal.subscribe(self, lambda _theme: self.redraw_all())
        self.show_snapshot(self.runner.latest)
        if self.start_running:
            self.runner.play()

    def on_unmount(self) -> None:
        if self._stop_listening is not None:
            self._stop_listening()
        self.runner.close()

    def on_resize(self, event: events.Resize) -> None:
        width, height = event.size
        self.main_screen.query_one(ParamTable).show_values = height >= 34  # room for a few numbers per tensor
        self.main_screen.query_one("#too-small", Static).update(
            f"Kepler needs a terminal of at least {MIN_WIDTH}×{MIN_HEIGHT}; this one is {width}×{height}.\n"
            "Make the window bigger or the font smaller."
        )

    # ------------------------------------------------------------------ snapshots in, frames out
    def snapshot_from_worker(self, snapshot: Snapshot) -> None:
        """Called by the runner (on its thread, under its lock, so in delivery order): hand
        the snapshot over to the UI thread, do nothing else here."""
        self._delivered += 1
        self.post_message(SnapshotReady(snapshot, self._delivered))

    @on(SnapshotReady)
    def snapshot_ready(self, message: SnapshotReady) -> None:
        message.stop()
        if message.sequence < self._shown_sequence:
            return  # queued before a key press whose result is already on screen: older news
        self._pending = message.snapshot
        self.schedule_frame()

    def schedule_frame(self) -> None:
        if self._frame_timer is not None and not self._urgent:
            return  # a frame is already due; it will take the newest snapshot
        wait = self._last_frame + 1.0 / self.fps - time.monotonic()
        if self._urgent or wait <= 0:
            self.frame()
        else:
            self._frame_timer = self.set_timer(wait, self.frame)

    def frame(self) -> None:
        if self._frame_timer is not None:
            self._frame_timer.stop()
            self._frame_timer = None
        now = self._last_frame = time.monotonic()
        urgent, self._urgent = self._urgent, False
        if self._pending is None:
            return
        snapshot, self._pending = self._pending, None
        if urgent:
            # After a key press the numbers go out first and the plots in the next refresh:
            # the changed value is on screen a plot-build sooner.
            self.show_snapshot(snapshot, plots=False)
            self.call_after_refresh(self.show_plots, snapshot)
            return
        # Plots are most of the bytes a frame sends: they follow at half the frame rate.
        plots_due = now - self._last_plots >= self.plot_interval
        self.show_snapshot(snapshot, plots=plots_due)
        if not plots_due and self._plot_timer is None:
            self._plot_timer = self.set_timer(self._last_plots + self.plot_interval - now, self.owed_plots)

    def owed_plots(self) -> None:
        self._plot_timer = None
        self.show_plots(self.snapshot)

    def show_snapshot(self, s: Snapshot, plots: bool = True) -> None:
        if not self.screen_stack or self._closing:
            return  # shutting down: nothing left to draw on
        was_diverged = self.snapshot.divergence is not None
        self.snapshot = s
        diverged = s.divergence is not None
        self.main_screen.set_class(diverged, "-diverged")
        self.main_screen.query_one(StatusBar).show(s)
        self.main_screen.query_one(ParamTable).show(s)
        self.main_screen.query_one(HyperPanel).show(s, self.speed)
        self.main_screen.query_one(OverfitPanel).show(s)
        if diverged:
            self.main_screen.query_one(DivergencePanel).show(s)
        if plots:
            self.show_plots(s)
        if diverged != was_diverged:
            self.refresh_bindings()  # the fix keys come and go with the divergence
        self.show_chapter_extras(s, plots)

    def show_plots(self, s: Snapshot) -> None:
        if s is not self.snapshot or not self.screen_stack or self._closing:
            return  # a newer snapshot was shown meanwhile; it has drawn (or will draw) its plots
        self._last_plots = time.monotonic()
        self.main_screen.query_one(LossPlot).show(s)
        self.main_screen.query_one(FitPlot).show(s)

    @property
    def main_screen(self) -> Screen:
        """The trainer screen, which keeps updating while a dialog or the help is on top."""
        return self.screen_stack[0]

    def redraw_all(self) -> None:
        for widget in self.main_screen.query("#status, #loss, #divergence, #fit, #params, #hyper, #overfit"):
            widget.rebuild()

    def load_fit_data(self) -> None:
        # The points change only on a reset, which only this (the UI) thread asks for, so
        # the trainer's dataset and split can be read here safely.
        trainer = self.runner.trainer
        data = trainer.dataset
        self.main_screen.query_one(FitPlot).set_data(FitData(data.x, data.y, trainer.split.train, trainer.split.val,
                                                 data.x_label, data.y_label))

    def user_changed_something(self) -> None:
        """Show the result of a key press now, not at the next frame. The runner's latest
        snapshot already has the change (a command publishes before it returns); a pending
        snapshot from the worker may predate it, so it is dropped."""
        self._urgent = True
        self._shown_sequence = self._delivered
        self._pending = self.runner.latest
        self.schedule_frame()

    # ------------------------------------------------------------------ applying changes
    def apply_change(self, change: lesson.Change, what: str, restart: bool = False) -> str | None:
        """Apply a change from a key or a typed value (starting the run over if it changes
        the setup, or if `restart`); returns the error message for a bad value (nothing has
        changed then), or None."""
        runner = self.runner
        try:
            if change.restarts or restart:
                was_running = runner.running
                setup = lesson.check_setup(runner.latest.setup, change.setup, len(runner.trainer.dataset))
                try:
                    replace(runner.latest.hyper, **change.hyper).validate()
                except TypeError as exc:
                    raise SettingError(str(exc)) from None
                runner.reset(setup)
                if change.hyper:
                    runner.set_hyperparameters(**change.hyper)
                self.load_fit_data()
                self.notify(f"{what}: the run starts over", title="New run", timeout=3)
                if was_running:
                    runner.play()
            elif change.hyper:
                runner.set_hyperparameters(**change.hyper)
            if change.speed is not None:
                runner.set_speed(change.speed[0])
                self.speed = runner.epochs_per_second
        except SettingError as exc:
            return str(exc)
        self.user_changed_something()
        return None

    def change(self, change: lesson.Change, what: str) -> None:
        error = self.apply_change(change, what)
        if error is not None:
            self.notify(error, title="Not changed", severity="error", timeout=5)

    # ------------------------------------------------------------------ actions: training
    def action_toggle_run(self) -> None:
        state = self.runner.latest.state
        if state == "diverged":
            self.notify("The run diverged: press r to start over, or 1, 2, 3 for a fix.", severity="warning")
            return
        if state == "finished" and not self.runner.running:
            if self.runner.latest.stopped_early:
                self.notify("Early stopping ended the run at the best validation epoch: r starts over.",
                            severity="warning")
            else:
                self.notify("The epoch budget is spent: b raises it, r starts over.", severity="warning")
            return
        self.runner.toggle()
        self.user_changed_something()

    def action_step(self, epochs: int) -> None:
        if self.runner.running:
            self.runner.pause()
        self.runner.step(epochs)
        self.user_changed_something()

    def action_step_many(self) -> None:
        self.action_step(lesson.MANY_EPOCHS)

    def action_reset(self) -> None:
        self.runner.reset()
        self.load_fit_data()
        self.notify("Back to epoch 0 and the initial parameters.", title="Reset", timeout=2)
        self.user_changed_something()

    # ------------------------------------------------------------------ actions: steering
    def action_lr_up(self) -> None:
        self.change(lesson.scaled_rate(self.runner.latest, 10), "learning rate")

    def action_lr_down(self) -> None:
        self.change(lesson.scaled_rate(self.runner.latest, 0.1), "learning rate")

    def action_lr_scale(self, factor: float) -> None:
        self.change(lesson.scaled_rate(self.runner.latest, factor), "learning rate")

    def action_cycle_optimizer(self) -> None:
        self.change(lesson.next_optimizer(self.runner.latest), "optimizer")

    def action_cycle_budget(self) -> None:
        self.change(lesson.next_budget(self.runner.latest), "epoch budget")

    def action_speed(self, step: int) -> None:
        self.change(lesson.step_speed(self.speed, step), "speed")

    def action_toggle_early_stopping(self) -> None:
        on_now = self.runner.latest.hyper.early_stopping
        self.change(lesson.Change(hyper={"early_stopping": not on_now}), "early stopping")

    # ------------------------------------------------------------------ actions: the run itself
    def action_cycle_model(self) -> None:
        change = lesson.next_model(self.runner.latest)
        self.change(change, f"model {change.setup['model']}")

    def action_cycle_input(self) -> None:
        change = lesson.next_input(self.runner.latest)
        names = {"none": "raw input", "scale": "input 0.1 × raw", "standardize": "standardised input"}
        self.change(change, names[change.setup["input_transform"]])

    def action_cycle_val(self) -> None:
        change = lesson.next_val_fraction(self.runner.latest)
        fraction = change.setup["val_fraction"]
        self.change(change, "no validation split" if fraction == 0 else f"{fraction:.0%} of the points validate")

    def action_reseed(self) -> None:
        change = lesson.reseed_split(self.runner.latest)
        self.change(change, f"split seed {change.setup['split_seed']}")

    def action_fix(self, key: str) -> None:
        s = self.runner.latest
        for fix in lesson.divergence_fixes(s):
            if fix.key == key:
                error = self.apply_change(fix.change, fix.label, restart=True)
                if error is not None:
                    self.notify(error, title="Not changed", severity="error")
                    return
                self.runner.play()
                self.user_changed_something()
                return

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "fix":
            if self.snapshot.divergence is None:
                return False
            return any(fix.key == parameters[0] for fix in lesson.divergence_fixes(self.snapshot))
        return True

    # ------------------------------------------------------------------ actions: screen
    def action_toggle_log(self) -> None:
        plot = self.main_screen.query_one(LossPlot)
        plot.log_scale = not plot.log_scale

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.help_sections()))

    def sectioned_bindings(self) -> Iterable[tuple[str, Binding]]:
        """Each key binding with the heading it belongs under (the order of BINDINGS)."""
        section = ""
        for binding in self.BINDINGS:
            section = HELP_SECTIONS.get(binding.action, section)
            yield section, binding

    def help_sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        sections: list[tuple[str, list[tuple[str, str]]]] = []
        for section, binding in self.sectioned_bindings():
            if not sections or sections[-1][0] != section:
                sections.append((section, []))
            sections[-1][1].append((key_label(binding.key), binding.tooltip or binding.description))
        sections.insert(-1, ("Hyperparameter panel", [
            ("↑ ↓", "pick a setting (or click it)"),
            ("enter", "type a value for it: a bad value is refused with what is allowed"),
        ]))
        sections.append(("This run as a setup string (S types one)", [("", self.current_setup_string())]))
        return sections

    @on(SettingChosen)
    def setting_chosen(self, message: SettingChosen) -> None:
        message.stop()
        self.action_edit_setting(message.name)

    def action_edit_setting(self, name: str) -> None:
        setting = lesson.BY_NAME[name]
        current = setting.typed(self.runner.latest, self.speed)

        def apply(text: str) -> str | None:
            try:
                change = setting.parse(text)
            except SettingError as exc:
                return str(exc)
            return self.apply_change(change, f"{setting.label} {text.strip()}")

        self.push_screen(SettingDialog(setting.label, current, setting.hint, apply, restarts=setting.restarts))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for section, binding in self.sectioned_bindings():
            if binding.action == "quit":
                continue  # Textual's own commands have Quit
            what = binding.tooltip or binding.description
            yield SystemCommand(f"{what[0].upper()}{what[1:]} ({key_label(binding.key)})", section,
                                partial(self.run_action, binding.action))
        for setting in lesson.SETTINGS:
            restarts = "the run starts over" if setting.restarts else "the run continues"
            yield SystemCommand(f"Type a value: {setting.label}", f"{setting.hint} ({restarts})",
                                partial(self.action_edit_setting, setting.name))

    async def action_quit(self) -> None:
        self.runner.close()
        self.exit(0)


KEY_NAMES = {"plus": "+", "equals_sign": "=", "minus": "-", "asterisk": "*", "slash": "/",
             "left_square_bracket": "[", "right_square_bracket": "]", "question_mark": "?", "comma": ","}


def key_label(keys: str) -> str:
    """'backspace,comma' -> 'backspace or ,': a binding's keys as they are printed on the keyboard."""
    return " or ".join(KEY_NAMES.get(key, key) for key in keys.split(","))


def run_app(trainer: Trainer | None = None, fps: float = 10.0, low_bandwidth: bool = False,
            ascii_plots: bool = False, speed: float | None = None, start_running: bool = False,
            open_lesson: bool = False, ghosts: Iterable = (), workspace=None) -> int:
    """Run the trainer screen until the user quits; returns the exit code.

    `speed` is `kepler --speed`: None for the teaching pace (DEFAULT_SPEED epochs per
    second), 0 (or less) for as fast as the machine goes, else that many epochs per second.
    `ghosts`: pinned runs to draw from the start, as `load_session` returns them.
    """
    epochs_per_second = lesson.DEFAULT_SPEED if speed is None else (speed if speed > 0 else None)
    app = KeplerApp(trainer, fps=fps, low_bandwidth=low_bandwidth, ascii_plots=ascii_plots,
                    speed=epochs_per_second, start_running=start_running, ghosts=ghosts)
    app.open_lesson = open_lesson  # `kepler --lesson`: the seven steps come up first
    if workspace is not None:  # a served session: files only through tui/workspace.py
        app.workspace = workspace
    app.run()
    return app.return_code or 0
