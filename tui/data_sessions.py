"""Bring your own data and keep your work: the app's keys for opening a CSV file, picking a
built-in dataset, editing points, typing a setup string, saving and loading a session, and
exporting the loss history (CSV) or the screen (SVG).

A mixin of `KeplerApp`: it uses the app's runner, `load_fit_data`, `user_changed_something`
and `notify`. Every failure is the engine's or the loader's one-line message, shown in the
dialog (which stays open) or a notification; the run that was on screen carries on.
"""
from __future__ import annotations

import io
from dataclasses import fields, replace
from pathlib import Path
from typing import Iterable

from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen

import data
from engine import session as sessions
from engine.setup_string import format_setup_string, parse_setup_string
from engine.trainer import SettingError, Setup

from .ghosts import ghost_to_saved, ghosts_from_saved
from .screens.file_dialogs import DatasetPicker, OpenCsvDialog, TextDialog
from .screens.point_editor import PointEditor
from .widgets.fit_plot import FitPlot
from .workspace import DATA_SUFFIXES, LocalWorkspace, WorkspaceError

SESSION_FILE = "kepler-session.json"
HISTORY_FILE = "kepler-history.csv"
SCREEN_FILE = "kepler-screen.svg"
FRESH_SPLIT = {"train_indices": None, "val_indices": None}  # chosen indices belong to the old points

# Hidden from the footer (the help screen and the command palette list them).
DATA_BINDINGS = [
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
]


def describe_builtin(name: str) -> str:
    try:
        return data.load_builtin(name).description
    except data.DataError as exc:
        return str(exc)


class DataAndSessions:
    """The actions behind DATA_BINDINGS (mixed into KeplerApp)."""

    # Where files come from and go to: typed paths on the user's own machine; in a served
    # session, lists of names and the student's own folder (tui/workspace.py).
    workspace = LocalWorkspace()

    # ------------------------------------------------------------------ a new run on new data
    def start_on(self, setup: Setup | None, what: str, dataset=None, hyper: dict | None = None) -> str | None:
        """Start the run over on `setup` (and/or an edited `dataset`, and `hyper`); returns
        the one-line error (the old run untouched), or None. Says that the run starts over."""
        runner = self.runner
        was_running = runner.running
        try:
            if hyper:
                replace(runner.latest.hyper, **hyper).validate()  # before the reset: all or nothing
            runner.reset(setup, dataset=dataset)
            if hyper:
                runner.set_hyperparameters(**hyper)
        except SettingError as exc:
            return str(exc)
        self.load_fit_data()
        self.notify(f"{what}: the run starts over", title="New run", timeout=3, markup=False)
        if was_running:
            runner.play()
        self.user_changed_something()
        return None

    def current_setup_string(self) -> str:
        s = self.runner.latest
        return format_setup_string(s.setup, s.hyper)

    # ------------------------------------------------------------------ built-in datasets
    def action_pick_dataset(self) -> None:
        datasets = [(name, describe_builtin(name)) for name in data.builtin_names()]

        def chosen(name: str | None) -> None:
            if name is None:
                return
            setup = replace(self.runner.latest.setup, dataset=name, x_column=None, y_column=None, **FRESH_SPLIT)
            error = self.start_on(setup, f"dataset {name}")
            if error is not None:
                self.notify(error, title="Not changed", severity="error", timeout=6)

        self.push_screen(DatasetPicker(datasets, self.runner.latest.setup.dataset), chosen)

    # ------------------------------------------------------------------ a user's CSV file
    def action_open_csv(self) -> None:
        current = self.runner.latest.setup.dataset
        if self.workspace.served:  # a name from a list: the teacher's files and the built-ins
            self.pick_served_data(current)
            return

        def columns(path: str) -> list[str] | None:
            try:
                return data.csv_columns(Path(path).expanduser()) if Path(path).expanduser().is_file() else None
            except data.DataError:
                return None

        def apply(path: str, x_column: str, y_column: str) -> str | None:
            if not path:
                return "type the path of a CSV file"
            setup = replace(self.runner.latest.setup, dataset=data.file_reference(path),
                            x_column=x_column or None, y_column=y_column or None, **FRESH_SPLIT)
            return self.start_on(setup, f"data from {Path(path).name}")

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
                dataset = (data.file_reference(self.workspace.data_path(name))
                           if name.lower().endswith(DATA_SUFFIXES) else name)
            except WorkspaceError as exc:
                self.notify(str(exc), title="Not changed", severity="error", timeout=6, markup=False)
                return
            setup = replace(self.runner.latest.setup, dataset=dataset, x_column=None, y_column=None, **FRESH_SPLIT)
            error = self.start_on(setup, f"data {name}")
            if error is not None:
                self.notify(error, title="Not changed", severity="error", timeout=6, markup=False)

        self.push_screen(DatasetPicker(datasets, now, title="Open data (the run starts over)",
                                       hint="enter opens; escape cancels"), chosen)

    # ------------------------------------------------------------------ editing points
    def action_edit_points(self) -> None:
        plot = self.main_screen.query_one(FitPlot)
        if not plot.display:
            self.notify("The fit plot is hidden at this size: make the terminal taller to edit points.",
                        severity="warning")
            return
        dataset = self.runner.trainer.dataset

        def apply(x, y) -> str | None:
            try:
                edited = self.runner.trainer.dataset.with_points(x, y)
            except data.DataError as exc:
                return str(exc)
            return self.start_on(None, "edited points", dataset=edited)

        self.push_screen(PointEditor(dataset.x, dataset.y, apply, plot.highlight))

    # ------------------------------------------------------------------ setup strings
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if not (self.workspace.served and command.title == "Screenshot"):  # it writes where it likes
                yield command
        yield SystemCommand("Show the setup string", "this run's configuration as one line (S types one)",
                            self.action_show_setup_string)

    def action_show_setup_string(self) -> None:
        self.copy_to_clipboard(self.current_setup_string())  # OSC 52: the user's own clipboard
        self.notify(self.current_setup_string(), title="Setup string (copied)", timeout=10, markup=False)

    def action_type_setup_string(self) -> None:
        def apply(text: str) -> str | None:
            try:
                setup, hyper = parse_setup_string(text)
            except SettingError as exc:
                return str(exc)
            if self.workspace.served and not self.workspace.allows_dataset(setup.dataset):
                return "data: a built-in dataset, or one of your teacher's files (ctrl+o lists them)"
            return self.start_on(setup, "setup string", hyper={f.name: getattr(hyper, f.name) for f in fields(hyper)})

        self.push_screen(TextDialog("Setup string (the run starts over)", self.current_setup_string(),
                                    "key=value,... e.g. lr=0.1,opt=adam,scale=std,model=poly:2,data=curve", apply))

    # ------------------------------------------------------------------ sessions
    def action_save_session(self) -> None:
        if self.workspace.served:
            saved_ghosts = [ghost_to_saved(g) for g in self.pinned_ghosts]
            self.keep_in_workspace("session", self.runner.call(lambda t: sessions.session_json(t, saved_ghosts)),
                                   "Session saved", "ctrl+l loads it")
            return

        def apply(path: str) -> str | None:
            try:
                saved_ghosts = [ghost_to_saved(g) for g in self.pinned_ghosts]
                written = self.runner.call(lambda t: sessions.save_session(t, path or SESSION_FILE, saved_ghosts))
            except sessions.SessionError as exc:
                return str(exc)
            self.notify(f"Saved to {written} (ctrl+l loads it)", title="Session saved", timeout=4, markup=False)
            return None

        self.push_screen(TextDialog("Save the session", SESSION_FILE,
                                    "a JSON file: the settings, the data, the parameters, the history and the pinned runs", apply))

    def action_load_session(self) -> None:
        def apply(path: str, shown: str | None = None) -> str | None:
            try:
                loaded, saved_ghosts = sessions.load_session(path or SESSION_FILE)
                ghosts = ghosts_from_saved(saved_ghosts, path or SESSION_FILE)
            except sessions.SessionError as exc:
                return str(exc)
            runner = self.runner
            runner.pause()
            runner.call(lambda t: t.take_over(loaded))
            self.load_fit_data()
            self.pinned_ghosts = ghosts  # the file's pinned runs replace the ones on screen
            self.notify(f"{shown or path}: epoch {loaded.epoch:,}; space continues it", title="Session loaded",
                        timeout=4, markup=False)
            self.user_changed_something()
            return None

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
                    self.notify(error, title="Not loaded", severity="error", timeout=6, markup=False)

            saves = [(name, "saved in this session's folder") for name in names]
            self.push_screen(DatasetPicker(saves, "", title="Load a session (the current run is replaced)",
                                       hint="enter loads; escape cancels"), chosen)
            return
        self.push_screen(TextDialog("Load a session (the current run is replaced)", SESSION_FILE,
                                    "a file saved with ctrl+s or kepler train --save", apply))

    # ------------------------------------------------------------------ exports
    def action_export_history(self) -> None:
        if self.workspace.served:
            self.keep_in_workspace("history", self.runner.call(sessions.history_csv), "Exported", "the loss history")
            return

        def apply(path: str) -> str | None:
            try:
                written = self.runner.call(lambda t: sessions.export_history_csv(t, path or HISTORY_FILE))
            except sessions.SessionError as exc:
                return str(exc)
            self.notify(f"Loss history written to {written}", title="Exported", timeout=4, markup=False)
            return None

        self.push_screen(TextDialog("Export the loss history", HISTORY_FILE,
                                    "CSV: epoch,train_loss,val_loss", apply))

    def action_export_screen(self) -> None:
        if self.workspace.served:  # the trainer, once the key's own refresh is done
            self.call_after_refresh(lambda: self.keep_in_workspace("screen", self.export_screenshot(), "Exported",
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
            written = sessions.write_atomic(path, self.export_screenshot())
        except sessions.SessionError as exc:
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
