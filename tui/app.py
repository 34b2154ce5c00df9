"""Kepler's app: a teacher presses a key and the class sees learning happen.

A thin layer. The `Controller` (UI-free) owns the run and every change a user can make; the
`TrainerScreen` draws snapshots. Here: the keys, which call the controller (or open a dialog
whose answer goes to the controller), and the one path by which snapshots come back: the
runner calls our listener on its thread, the listener posts a `SnapshotReady` message
(thread-safe; a backlog collapses to the newest), and the screen draws it.
"""
from __future__ import annotations

import io
import threading
from functools import partial
from pathlib import Path
from typing import Iterable

from textual import on
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.screen import Screen

import data
from engine.lesson.presets import PRESETS
from engine.lesson.suggested import suggestion
from engine.training.trainer import SettingError, Trainer
from engine.training.session import SessionError, write_atomic

from . import settings, themes
from .controller import HISTORY_FILE, SESSION_FILE, Controller, Outcome, refused, run_label
from .ghosts import ghosts_from_saved
from .lesson_steps import STEPS
from .message_log import MessageLog
from .messages import MessageSaid, SettingChosen, SnapshotReady
from .screens.backprop import BackpropScreen
from .screens.code_view import CodeScreen
from .screens.dismiss_once import CommandPaletteOnce
from .screens.file_dialogs import DatasetPicker, OpenCsvDialog, TextDialog
from .screens.gradient_check import GradientCheckScreen
from .screens.help import HelpScreen
from .screens.landscape import LandscapeScreen
from .screens.lesson import LessonScreen
from .screens.messages import MessagesScreen
from .screens.pinned_runs import PinnedRunsScreen
from .screens.point_editor import PointEditor
from .screens.preset_picker import PresetPicker
from .screens.setting_dialog import SettingDialog
from .screens.trainer import MIN_HEIGHT, MIN_WIDTH, TrainerScreen
from .svg_export import for_slides
from .workspace import DATA_SUFFIXES, LocalWorkspace, WorkspaceError
from .widgets.fit_plot import FitPlot
from .widgets.loss_plot import LossPlot
from .widgets.message_bar import MessageBar

LOW_BANDWIDTH_FPS = 2.0
SCREEN_FILE = "kepler-screen.svg"

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


class KeplerApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "Kepler"
    SUB_TITLE = "the mechanics of learning"

    HORIZONTAL_BREAKPOINTS = [(0, "-too-narrow"), (MIN_WIDTH, "-narrow"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-too-short"), (MIN_HEIGHT, "-short"), (24, "-medium"), (34, "-tall")]

    BINDINGS = [
        Binding("space", "toggle_run", "Play", tooltip="train continuously, or pause"),
        Binding("n", "step(1)", "Step", tooltip="train one epoch"),
        Binding("N", "step_many", "Many epochs", show=False, tooltip=f"train {settings.MANY_EPOCHS} epochs"),
        Binding("r", "reset", "Reset", tooltip="start the run over from the initial parameters"),
        # The footer shows the pair once, as "+/- lr"; the help screen lists both.
        Binding("plus,equals_sign", "lr_up", "lr", key_display="+/-", tooltip="learning rate × 10"),
        Binding("minus", "lr_down", "lr ÷10", show=False, key_display="-", tooltip="learning rate ÷ 10"),
        Binding("asterisk", "lr_scale(2)", "lr ×2", show=False, key_display="*", tooltip="learning rate × 2"),
        Binding("slash", "lr_scale(0.5)", "lr ÷2", show=False, key_display="/", tooltip="learning rate ÷ 2"),
        Binding("o", "cycle_optimizer", "Optimizer", show=False,
                tooltip="SGD → SGD with momentum 0.9 → Adam (other values: type 'sgd 0.5' or 'adam 0.9 0.99' on its row)"),
        Binding("b", "cycle_budget", "Epoch budget", show=False, tooltip="100 → 1,000 → 5,000 → 20,000 → 100,000 epochs"),
        Binding("u", "cycle_batch", "Batch size", show=False,
                tooltip="full batch → mini-batches of 1 → 4 → 16 ... (shuffled every epoch; the run continues)"),
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
        Binding("p", "pick_preset", "Presets", show=False, tooltip="the chapter's experiments: pick one to run"),
        Binding("g", "gradient_check", "Gradient check", show=False,
                tooltip="the gradient at the current parameters three ways: finite differences, closed form, autograd"),
        Binding("a", "toggle_zero_grad", "Accumulate", show=False,
                tooltip="zero the gradients each epoch (on), or let them accumulate (the classic bug)"),
        Binding("w", "landscape", "Landscape", show=False,
                tooltip="the loss over (w, b) for the line, with the descent path (arrows move the start)"),
        Binding("C", "show_code", "Code", show=False,
                tooltip="the PyTorch code behind this run: read, copy (y) or save (s) it (kepler code prints it)"),
        Binding("B", "backprop", "Backprop", show=False,
                tooltip="backprop, one node at a time: the loss's graph, then its backward pass step by step (n)"),
        Binding("k", "pin_ghost", "Pin run", show=False,
                tooltip="keep this run's loss curve as a dimmed ghost under the next runs"),
        Binding("K", "clear_ghosts", "Clear pinned", show=False, tooltip="remove the pinned loss curves"),
        Binding("P", "pinned_runs", "Pinned runs", show=False,
                tooltip="the pinned runs side by side: settings, final training loss, best validation loss and its epoch"),
        Binding("c", "lesson", "Lesson", show=False, tooltip="Kepler's seven steps, one at a time (kepler --lesson)"),
        Binding("backspace,comma", "rewind", "Step back", show=False, key_display=",",
                tooltip="go back one epoch, exactly as it was then (n replays it)"),
        Binding("d", "pick_dataset", "Dataset", show=False, tooltip="pick a built-in dataset (the run starts over)"),
        Binding("ctrl+o", "open_csv", "Open CSV", show=False, tooltip="open your own CSV file (the run starts over)"),
        Binding("e", "edit_points", "Edit points", show=False,
                tooltip="edit the data: ←→ select a point, ↑↓ move it, a adds, x deletes (each edit starts over)"),
        Binding("S", "type_setup_string", "Setup string", show=False,
                tooltip="show the setup string, or type one to start that configuration"),
        Binding("ctrl+s", "save_session", "Save", show=False, tooltip="save the session to a file"),
        Binding("ctrl+l", "load_session", "Load", show=False, tooltip="load a saved session; it continues where it was"),
        Binding("ctrl+e", "export_history", "Export CSV", show=False, tooltip="export the loss history as CSV"),
        Binding("ctrl+g", "export_screen", "Export SVG", show=False, tooltip="save the screen as an SVG picture"),
        Binding("l", "toggle_log", "Log", tooltip="loss axis: linear or log scale"),
        Binding("f", "zoom", "Zoom", show=False,
                tooltip="the focused panel full screen, and back (tab or a click picks the panel; escape also returns)"),
        Binding("M", "messages", "Messages", show=False,
                tooltip="every message of this session in full (the line above the keys shows the newest)"),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="this list of keys"),
        Binding("q", "quit", "Quit", tooltip="leave Kepler"),
    ]

    def __init__(self, trainer: Trainer | None = None, *, runner_threaded: bool = True, fps: float = 10.0,
                 low_bandwidth: bool = False, ascii_plots: bool = False, start_running: bool = False,
                 speed: float | None = settings.DEFAULT_SPEED, ghosts: Iterable = (), open_lesson: bool = False,
                 workspace=None, theme_name: str = themes.DEFAULT_THEME) -> None:
        super().__init__()
        self.message_log = MessageLog()  # everything said this session (notify() lands here)
        if theme_name not in themes.THEMES:
            raise ValueError(f"no theme {theme_name!r}; Kepler's themes: {', '.join(themes.THEMES)}")
        for theme in themes.THEMES.values():
            self.register_theme(theme)
        self.theme = theme_name
        # Where files come from and go to: typed paths on the user's own machine; in a served
        # session, lists of names and the student's own folder (tui/workspace.py).
        self.workspace = workspace or LocalWorkspace()
        self.fps = min(fps, LOW_BANDWIDTH_FPS) if low_bandwidth else fps
        self.low_bandwidth = low_bandwidth
        self.ascii_plots = ascii_plots
        self.start_running = start_running
        self.open_lesson = open_lesson  # `kepler --lesson`: the seven steps come up first
        self.lesson_step = 0  # where the lesson is (it reopens there)
        self.threaded = runner_threaded
        self.controller = Controller(trainer, speed=speed, snapshot_rate=self.fps, threaded=runner_threaded,
                                     ghosts=ghosts_from_saved(ghosts))
        self.trainer_screen = TrainerScreen(self.controller.runner.latest, fps=self.fps, ascii_plots=ascii_plots,
                                            show_rate=runner_threaded, ghosts=self.controller.ghosts)
        self._stop_listening = None
        self._told_divergence = False

    def get_default_screen(self) -> Screen:
        return self.trainer_screen

    def on_mount(self) -> None:
        self._stop_listening = self.controller.add_listener(self.snapshot_from_worker)
        self.theme_changed_signal.subscribe(self, lambda _theme: self.trainer_screen.redraw_all())
        if self.start_running:
            self.controller.runner.play()
        if self.open_lesson:
            self.action_lesson()

    def on_unmount(self) -> None:
        if self._stop_listening is not None:
            self._stop_listening()
        self.controller.close()

    # ------------------------------------------------------------------ the one path of snapshots
    def snapshot_from_worker(self, snapshot) -> None:
        """Called by the runner (on its thread, in order): hand the snapshot to the UI thread."""
        self.post_message(SnapshotReady(snapshot))

    @on(SnapshotReady)
    def snapshot_ready(self, message: SnapshotReady) -> None:
        message.stop()
        self.trainer_screen.receive(message.snapshot)
        self.say_divergence(message.snapshot)

    def say_divergence(self, s) -> None:
        """A divergence goes in the message log once, when the run first shows it (the
        Diverged panel explains it; the log keeps it after a fix has started over)."""
        if s.divergence is None:
            self._told_divergence = False
        elif not self._told_divergence:
            self._told_divergence = True
            self.notify(f"At epoch {s.divergence.epoch:,} {s.divergence.reason}; training stopped. "
                        "1 2 3 start over with a fix.", title="Diverged", severity="warning", markup=False)

    @property
    def runner(self):
        return self.controller.runner

    @property
    def snapshot(self):
        """The snapshot on screen (every panel shows this one)."""
        return self.trainer_screen.snapshot

    @property
    def main_screen(self) -> TrainerScreen:
        return self.trainer_screen

    def tell(self, outcome: Outcome | None) -> None:
        """After a key: show its result at once, and say what there is to say."""
        self.trainer_screen.user_acted()
        if outcome is not None:
            self.notify(outcome.message, title=outcome.title, severity=outcome.severity, timeout=outcome.timeout,
                        markup=False)
        else:
            for bar in self.message_bars():
                bar.fade()  # a key with nothing to say: the last message is no longer news

    # ------------------------------------------------------------------ messages
    def notify(self, message: str, *, title: str = "", severity: str = "information", timeout: float | None = None,
               markup: bool = True) -> None:
        """Everything said, ours and Textual's own, goes to the message log and the message
        line: never a toast over a panel or a dialog (`timeout` has no use here). Safe from
        any thread, like Textual's."""
        if markup:
            try:
                message = Content.from_markup(message).plain
            except Exception:  # not markup after all: the words as they are
                pass
        if getattr(self, "_thread_id", None) != threading.get_ident():
            self.post_message(MessageSaid(message, title, severity))
            return
        self.record(message, title, severity)

    @on(MessageSaid)
    def message_said(self, message: MessageSaid) -> None:
        message.stop()
        self.record(message.text, message.title, message.severity)

    def record(self, text: str, title: str, severity: str) -> None:
        """On the UI thread: into the log, and onto every message line on the screens."""
        said = self.message_log.add(text, title, severity)
        for bar in self.message_bars():
            bar.say(said)

    def message_bars(self) -> list[MessageBar]:
        return [bar for screen in self.screen_stack for bar in screen.query(MessageBar)]

    def action_messages(self) -> None:
        self.push_screen(MessagesScreen(self.message_log))

    def error_of(self, outcome: Outcome | None) -> str | None:
        """For a dialog: its one-line refusal (the dialog stays open), or None (done, said)."""
        if outcome is not None and outcome.refused:
            return outcome.message
        self.tell(outcome)
        return None

    # ------------------------------------------------------------------ training
    def action_toggle_run(self) -> None:
        self.tell(self.controller.toggle_run())

    def action_step(self, epochs: int) -> None:
        self.controller.step(epochs)
        self.tell(None)

    def action_step_many(self) -> None:
        self.action_step(settings.MANY_EPOCHS)

    def action_reset(self) -> None:
        self.tell(self.controller.reset())

    def action_rewind(self) -> None:
        self.tell(self.controller.rewind(1))

    # ------------------------------------------------------------------ steering and defining
    def change(self, change: settings.Change, what: str) -> None:
        self.tell(self.controller.apply(change, what))

    def step_setting(self, next_change, what) -> None:
        """A key that moves a setting one further: worked out from the run itself, not from
        the snapshot on screen, so each key of a burst counts (`o o` is two optimizers on)."""
        describe = what if callable(what) else (lambda _change: what)
        self.tell(self.controller.cycle(next_change, describe))

    def action_lr_up(self) -> None:
        self.step_setting(lambda run: settings.scaled_rate(run, 10), "learning rate")

    def action_lr_down(self) -> None:
        self.step_setting(lambda run: settings.scaled_rate(run, 0.1), "learning rate")

    def action_lr_scale(self, factor: float) -> None:
        self.step_setting(lambda run: settings.scaled_rate(run, factor), "learning rate")

    def action_cycle_optimizer(self) -> None:
        self.step_setting(settings.next_optimizer, "optimizer")

    def action_cycle_batch(self) -> None:
        self.step_setting(lambda run: settings.next_batch_size(run.hyper.batch_size, len(run.split.train)),
                          "batch size")

    def action_cycle_budget(self) -> None:
        self.step_setting(settings.next_budget, "epoch budget")

    def action_speed(self, step: int) -> None:
        self.change(settings.step_speed(self.controller.speed, step), "speed")

    def action_toggle_early_stopping(self) -> None:
        self.step_setting(lambda run: settings.Change(hyper={"early_stopping": not run.hyper.early_stopping}),
                          "early stopping")

    def action_toggle_zero_grad(self) -> None:
        self.tell(self.controller.toggle_zero_grad())

    def action_cycle_model(self) -> None:
        self.step_setting(settings.next_model, lambda change: f"model {change.setup['model']}")

    def action_cycle_input(self) -> None:
        names = {"none": "raw input", "scale": "input 0.1 × raw", "standardize": "standardised input"}
        self.step_setting(settings.next_input, lambda change: names[change.setup["input_transform"]])

    def action_cycle_val(self) -> None:
        def say(change: settings.Change) -> str:
            fraction = change.setup["val_fraction"]
            return "no validation split" if fraction == 0 else f"{fraction:.0%} of the points validate"

        self.step_setting(settings.next_val_fraction, say)

    def action_reseed(self) -> None:
        self.step_setting(settings.reseed_split, lambda change: f"split seed {change.setup['split_seed']}")

    def action_fix(self, key: str) -> None:
        self.tell(self.controller.apply_fix(key))

    @on(SettingChosen)
    def setting_chosen(self, message: SettingChosen) -> None:
        message.stop()
        self.action_edit_setting(message.name)

    def action_edit_setting(self, name: str) -> None:
        setting = settings.BY_NAME[name]

        def apply(text: str) -> str | None:
            try:
                change = setting.parse(text)
            except SettingError as exc:
                return str(exc)
            return self.error_of(self.controller.apply(change, f"{setting.label} {text.strip()}"))

        current = setting.typed(self.snapshot, self.controller.speed)
        self.push_screen(SettingDialog(setting.label, current, setting.hint, apply, restarts=setting.restarts))

    # ------------------------------------------------------------------ the chapter's tools
    def action_pick_preset(self) -> None:
        self.push_screen(PresetPicker(), lambda key: key and self.tell(self.controller.load_preset(key)))

    def action_lesson(self) -> None:
        def chosen(step: int | None) -> None:
            if step is None:
                return
            self.lesson_step = step
            lesson_step = STEPS[step]
            self.tell(self.controller.load_preset(
                lesson_step.preset, say=f"Step {step + 1}, {lesson_step.title}: {lesson_step.keys}"))

        self.push_screen(LessonScreen(self.lesson_step), chosen)

    def action_gradient_check(self) -> None:
        s = self.snapshot
        # Finite differences cost two forward passes per element: a few per tensor make the point.
        elements = 8 if s.setup.model == "linear" else 2
        input_name = settings.describe_input(s)
        self.push_screen(GradientCheckScreen(partial(self.controller.gradient_check, max_elements=elements,
                                                     input_name=input_name)))

    def action_landscape(self) -> None:
        if self.snapshot.setup.model != "linear":
            self.notify(f"The landscape is drawn for the line only (two parameters, one map); this run's "
                        f"model is {self.snapshot.setup.model}: press m or p for a line.",
                        title="No landscape", severity="warning", timeout=6)
            return
        self.push_screen(LandscapeScreen(self.trainer_screen.descent_path, ascii_only=self.ascii_plots))

    def action_show_code(self) -> None:
        from engine.lesson.code import python_code

        s = self.snapshot
        what = f"{s.setup.model}, {settings.describe_input(s)}, {s.hyper.optimizer.upper()} lr {s.hyper.learning_rate:g}"
        self.push_screen(CodeScreen(python_code(s.setup, s.hyper, s.dataset), what))

    def action_backprop(self) -> None:
        from engine.lesson.backprop import BackpropWalk

        size = self.controller.runner.call(lambda t: t.hyper.batch_size)
        if size is not None:  # the walk is of the full-batch step the Parameters table shows then
            self.tell(refused(f"The backprop view walks one full-batch step; this run takes batches of {size}. "
                              "Press u until the batch size reads full, then B."))
            return

        def take_walk():  # a copy of the run, taken between two epochs (the run goes on)
            return self.controller.runner.call(lambda t: (BackpropWalk.of(t), f"the run at epoch {t.epoch}"))

        self.push_screen(BackpropScreen(take_walk, self.action_toggle_zero_grad, ascii_only=self.ascii_plots))

    def action_pin_ghost(self) -> None:
        self.tell(self.controller.pin(self.trainer_screen.descent_path))
        self.show_ghosts()

    def action_clear_ghosts(self) -> None:
        self.controller.clear_ghosts()
        self.show_ghosts()

    def action_pinned_runs(self) -> None:
        s = self.snapshot
        self.push_screen(PinnedRunsScreen(self.controller.ghosts, s, run_label(s)))

    @property
    def pinned_ghosts(self):
        return self.controller.ghosts

    def show_ghosts(self) -> None:
        """The pinned runs on the loss plot (and on the landscape, if it is up)."""
        self.trainer_screen.query_one(LossPlot).set_ghosts(self.controller.ghosts)
        if isinstance(self.screen, LandscapeScreen):
            self.screen.follow(self.snapshot)

    # ------------------------------------------------------------------ data
    def action_pick_dataset(self) -> None:
        names = data.builtin_names()
        datasets = [(name, describe_builtin(name)) for name in names]
        self.push_screen(DatasetPicker(datasets, self.snapshot.setup.dataset,
                                       suggestions={name: suggested_text(name) for name in names},
                                       try_suggestion=self.try_suggestion),
                         lambda name: name and self.tell(self.controller.pick_dataset(name)))

    def try_suggestion(self, name: str) -> str | None:
        """`t` in the dataset picker: that dataset with its suggested setup (its Try: line)."""
        return self.error_of(self.controller.pick_suggested(name))

    def action_open_csv(self) -> None:
        current = self.snapshot.setup.dataset
        if self.workspace.served:  # a name from a list: the teacher's files and the built-ins
            self.pick_served_data(current)
            return

        def columns(path: str) -> list[str] | None:
            try:
                return data.csv_columns(Path(path).expanduser()) if Path(path).expanduser().is_file() else None
            except data.DataError:
                return None

        def apply(path: str, x_column: str, y_column: str) -> str | None:
            return self.error_of(self.controller.open_csv(path, x_column, y_column))

        start = str(data.file_path(current)) if data.is_file_reference(current) else ""
        self.push_screen(OpenCsvDialog(apply, columns, start))

    def pick_served_data(self, current: str) -> None:
        files = [(name, "a file from your teacher") for name in self.workspace.data_files()]
        datasets = files + [(name, describe_builtin(name)) for name in data.builtin_names()]
        now = data.file_path(current).name if data.is_file_reference(current) else current

        def chosen(name: str | None) -> None:
            if name is None:
                return
            try:
                path = self.workspace.data_path(name) if name.lower().endswith(DATA_SUFFIXES) else None
            except WorkspaceError as exc:
                self.tell(Outcome(str(exc), "Not changed", "error", 6))
                return
            self.tell(self.controller.pick_dataset(name) if path is None else self.controller.open_csv(str(path), None, None))

        suggestions = {name: suggested_text(name) for name in data.builtin_names()}
        self.push_screen(DatasetPicker(datasets, now, title="Open data (the run starts over)",
                                       hint="enter opens; escape cancels", suggestions=suggestions,
                                       try_suggestion=self.try_suggestion), chosen)

    def action_edit_points(self) -> None:
        plot = self.trainer_screen.query_one(FitPlot)
        if not plot.display:
            self.notify("The fit plot is hidden at this size: make the terminal taller to edit points.",
                        severity="warning")
            return
        dataset = self.snapshot.dataset
        self.push_screen(PointEditor(dataset.x, dataset.y, lambda x, y: self.error_of(self.controller.edit_points(x, y)),
                                     plot.highlight))

    def action_show_setup_string(self) -> None:
        self.copy_to_clipboard(self.controller.setup_string())  # OSC 52: the user's own clipboard
        self.notify(self.controller.setup_string(), title="Setup string (copied)", timeout=10, markup=False)

    def action_type_setup_string(self) -> None:
        allowed = self.workspace.allows_dataset if self.workspace.served else None
        self.push_screen(TextDialog("Setup string (the run starts over)", self.controller.setup_string(),
                                    "key=value,... e.g. lr=0.1,opt=adam,scale=std,model=poly:2,data=curve",
                                    lambda text: self.error_of(self.controller.apply_setup_string(text, allowed))))

    # ------------------------------------------------------------------ sessions and exports
    def action_save_session(self) -> None:
        if self.workspace.served:
            self.keep_in_workspace("session", self.controller.session_json(), "Session saved", "ctrl+l loads it")
            return
        self.push_screen(TextDialog("Save the session", SESSION_FILE,
                                    "a JSON file: the settings, the data, the parameters, the history and the pinned runs",
                                    lambda path: self.error_of(self.controller.save_session(path))))

    def action_load_session(self) -> None:
        def apply(path: str, shown: str | None = None) -> str | None:
            error = self.error_of(self.controller.load_session(path, shown))
            if error is None:
                self.show_ghosts()
            return error

        if self.workspace.served:  # only this student's own saves, by name
            names = self.workspace.saved_sessions()
            if not names:
                self.notify("You have no saved sessions yet: ctrl+s saves one.", title="Load", timeout=4)
                return

            def chosen(name: str | None) -> None:
                if name is None:
                    return
                try:
                    error = apply(str(self.workspace.session_path(name)), name)
                except WorkspaceError as exc:
                    error = str(exc)
                if error is not None:
                    self.tell(Outcome(error, "Not loaded", "error", 6))

            saves = [(name, "saved in this session's folder") for name in names]
            self.push_screen(DatasetPicker(saves, "", title="Load a session (the current run is replaced)",
                                           hint="enter loads; escape cancels"), chosen)
            return

        self.push_screen(TextDialog("Load a session (the current run is replaced)", SESSION_FILE,
                                    "a file saved with ctrl+s or kepler train --save", apply))

    def action_export_history(self) -> None:
        if self.workspace.served:
            self.keep_in_workspace("history", self.controller.history_csv(), "Exported", "the loss history")
            return
        self.push_screen(TextDialog("Export the loss history", HISTORY_FILE, "CSV: epoch,train_loss,val_loss",
                                    lambda path: self.error_of(self.controller.export_history(path))))

    def action_export_screen(self) -> None:
        if self.workspace.served:  # the trainer, once the key's own refresh is done
            self.call_after_refresh(lambda: self.keep_in_workspace("screen", for_slides(self.export_screenshot()), "Exported",
                                                                   "the screen as SVG"))
            return

        def apply(path: str) -> str | None:
            target = Path(path or SCREEN_FILE).expanduser()
            if target.is_dir():
                return f"{target}: is a folder; give a file name"
            if not target.parent.is_dir():
                return f"{target}: no such folder {target.parent}"
            # The picture is of the trainer, not of this dialog: taken once it has closed.
            self.call_after_refresh(self.write_screenshot, target)
            return None

        self.push_screen(TextDialog("Save the screen as SVG", SCREEN_FILE,
                                    "the trainer as it is now, as an SVG picture", apply))

    def write_screenshot(self, path: Path) -> None:
        try:
            written = write_atomic(path, for_slides(self.export_screenshot()))
        except SessionError as exc:
            self.notify(str(exc), title="Not saved", severity="error", timeout=6, markup=False)
            return
        self.notify(f"Screen saved to {written}", title="Exported", timeout=4, markup=False)

    def keep_in_workspace(self, kind: str, content: str, title: str, what: str) -> None:
        """Served mode: save `content` in the student's folder under a name of ours (and, in
        a browser, hand it over as a download)."""
        try:
            written = self.workspace.save(kind, content)
        except WorkspaceError as exc:
            self.notify(str(exc), title="Not saved", severity="error", timeout=6, markup=False)
            return
        if self.workspace.delivers_downloads:
            self.deliver_text(io.StringIO(content), save_filename=written.name)
        self.notify(f"{self.workspace.describe(written)}: {what}", title=title, timeout=4, markup=False)

    # ------------------------------------------------------------------ the screen
    def action_toggle_log(self) -> None:
        plot = self.trainer_screen.query_one(LossPlot)
        plot.log_scale = not plot.log_scale

    def get_theme_variable_defaults(self) -> dict[str, str]:
        return themes.variable_defaults()  # Kepler's plot colours for a theme without them

    def search_themes(self) -> None:
        """The palette's "Theme" command: Kepler's three themes (Textual's others lack our
        plot colours and were not checked for contrast)."""
        if not CommandPaletteOnce.is_open(self):
            self.push_screen(CommandPaletteOnce(providers=[KeplerThemes], placeholder="Search for themes…",
                                                id="--command-palette"))

    def action_zoom(self) -> None:
        if self.screen is self.trainer_screen:  # not behind a dialog
            self.trainer_screen.toggle_zoom()

    def action_command_palette(self) -> None:
        if self.use_command_palette and not CommandPaletteOnce.is_open(self):
            self.push_screen(CommandPaletteOnce(id="--command-palette"))

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
        sections.append(("This run as a setup string (S types one)", [("", self.controller.setup_string())]))
        return sections

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            # Textual's Screenshot writes where it likes, without the slides fix: ctrl+g's
            # "Save the screen as an SVG picture" is the one export.
            if command.title != "Screenshot":
                yield command
        for section, binding in self.sectioned_bindings():
            if binding.action == "quit":
                continue  # Textual's own commands have Quit
            what = binding.tooltip or binding.description
            yield SystemCommand(f"{what[0].upper()}{what[1:]} ({key_label(binding.key)})", section,
                                partial(self.run_action, binding.action))
        for setting in settings.SETTINGS:
            restarts = "the run starts over" if setting.restarts else "the run continues"
            yield SystemCommand(f"Type a value: {setting.label}", f"{setting.hint} ({restarts})",
                                partial(self.action_edit_setting, setting.name))
        for number, p in enumerate(PRESETS, 1):
            yield SystemCommand(f"Preset {number}: {p.title}", p.story,
                                lambda key=p.key: self.tell(self.controller.load_preset(key)))
        yield SystemCommand("Show the setup string", "this run's configuration as one line (S types one)",
                            self.action_show_setup_string)
        for name in themes.THEMES:
            if name != self.theme:
                yield SystemCommand(f"Theme: {name}", themes.DESCRIPTIONS[name], partial(setattr, self, "theme", name))

    async def action_quit(self) -> None:
        self.controller.close()
        self.exit(0)


class KeplerThemes(Provider):
    """The palette's list of themes: Kepler's own."""

    def commands(self) -> list[tuple[str, str, object]]:
        return [(name, themes.DESCRIPTIONS[name], partial(setattr, self.app, "theme", name)) for name in themes.THEMES]

    async def discover(self) -> Hits:
        for name, help_text, callback in self.commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self.commands():
            if (score := matcher.match(name)) > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)


KEY_NAMES = {"plus": "+", "equals_sign": "=", "minus": "-", "asterisk": "*", "slash": "/",
             "left_square_bracket": "[", "right_square_bracket": "]", "question_mark": "?", "comma": ","}


def key_label(keys: str) -> str:
    """'backspace,comma' -> 'backspace or ,': a binding's keys as they are printed on the keyboard."""
    return " or ".join(KEY_NAMES.get(key, key) for key in keys.split(","))


def suggested_text(name: str) -> str | None:
    """A built-in dataset's suggested setup as one line, why it cannot be used, or None."""
    try:
        tried = suggestion(name)
    except SettingError as exc:
        return f"(unusable: {exc})"
    return None if tried is None else tried.text


def describe_builtin(name: str) -> str:
    try:
        return data.load_builtin(name).description
    except data.DataError as exc:
        return str(exc)


def run_app(trainer: Trainer | None = None, fps: float = 10.0, low_bandwidth: bool = False,
            ascii_plots: bool = False, speed: float | None = None, start_running: bool = False,
            open_lesson: bool = False, ghosts: Iterable = (), workspace=None,
            theme_name: str = themes.DEFAULT_THEME) -> int:
    """Run the trainer screen until the user quits; returns the exit code.

    `speed` is `kepler --speed`: None for the teaching pace (DEFAULT_SPEED epochs per
    second), 0 (or less) for as fast as the machine goes, else that many epochs per second.
    `ghosts`: pinned runs to draw from the start, as `load_session` returns them.
    `workspace`: a served session's files (tui/workspace.py); None on the user's own machine.
    `theme_name`: one of tui/themes.py's THEMES (the palette changes it later).
    """
    epochs_per_second = settings.DEFAULT_SPEED if speed is None else (speed if speed > 0 else None)
    app = KeplerApp(trainer, fps=fps, low_bandwidth=low_bandwidth, ascii_plots=ascii_plots,
                    speed=epochs_per_second, start_running=start_running, ghosts=ghosts, open_lesson=open_lesson,
                    workspace=workspace, theme_name=theme_name)
    app.run()
    return app.return_code or 0
