"""The code behind the run: the PyTorch file that reproduces the current settings, with
syntax highlighting, to read, copy (OSC 52: the user's own clipboard, over SSH too) or save.

The file comes from engine/lesson/code.py (UI-free; `kepler code` prints the same one). A
served student saves into their own folder under a name of ours; on one's own machine a
typed file name, written atomically (regular files only).
"""
from __future__ import annotations

from pathlib import Path

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from engine.training.session import SessionError, write_atomic

from ..themes import syntax_theme
from ..widgets.message_bar import MessageBar
from .dismiss_once import DismissOnce
from .file_dialogs import TextDialog

CODE_FILE = "kepler_run.py"


class CodeScreen(DismissOnce, ModalScreen[None]):
    """`code`: the file's text; `what`: one line saying which run it is."""

    BINDINGS = [
        Binding("y", "copy", "Copy"),
        Binding("s,ctrl+s", "save", "Save"),
        Binding("escape,q,C", "dismiss", "Close"),
    ]

    def __init__(self, code: str, what: str) -> None:
        super().__init__()
        self.code = code
        self.what = what

    def compose(self) -> ComposeResult:
        with Vertical(id="code-view"):
            yield Static(f"[b]The code behind the run[/b]  {self.what}", id="code-title", markup=True)
            with VerticalScroll(id="code-scroll"):
                yield Static(Syntax(self.code, "python", theme=syntax_theme(self.app), line_numbers=False, word_wrap=False),
                             id="code-text")
            # What copying or saving says, on this dialog's own line (the trainer's is covered).
            log = getattr(self.app, "message_log", None)
            yield MessageBar(id="code-message", first=log.count if log is not None else 0, more=" …")
            yield Static("↑↓←→ pgup pgdn scroll   y copy   s save   escape close", id="code-keys", markup=False)

    def on_mount(self) -> None:
        self.query_one("#code-scroll").focus()

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.code)  # OSC 52: works over SSH, into the user's clipboard
        self.app.notify(f"{len(self.code.splitlines())} lines of Python", title="Code copied", timeout=3)

    def action_save(self) -> None:
        workspace = getattr(self.app, "workspace", None)
        if workspace is not None and workspace.served:  # the student's folder, a name of ours
            self.app.keep_in_workspace("code", self.code, "Code saved", "the run as PyTorch code")
            return
        self.app.push_screen(TextDialog("Save the code", CODE_FILE,
                                        "a Python file: run it with PyTorch (or with `import engine as torch`)",
                                        self.write))

    def write(self, path: str) -> str | None:
        """The TextDialog's answer: None when written (and said), else the one-line reason."""
        try:
            written = write_atomic(Path(path or CODE_FILE).expanduser(), self.code)
        except SessionError as exc:
            return str(exc)
        self.app.notify(f"Code saved to {written}", title="Saved", timeout=4, markup=False)
        return None
