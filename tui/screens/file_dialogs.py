"""Dialogs for bringing data in and keeping work: type a file name (to save, load or export),
type a setup string, open a CSV file (choosing its columns), or pick a built-in dataset.

Each dialog is handed an `apply` callback that does the work and returns an error message
(one line, naming the file or the key) or None. A bad value keeps the dialog open with that
message; nothing changes until a good one is applied.
"""
from __future__ import annotations

from typing import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ..themes import text_style
from .dismiss_once import DismissOnce
from .setting_dialog import Dialog


class TextDialog(Dialog):
    """One line to type: a file name, a setup string."""

    def __init__(self, title: str, current: str, hint: str, apply: Callable[[str], str | None]) -> None:
        super().__init__()
        self.title_text = title
        self.current = current
        self.hint = hint
        self.apply = apply

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(self.title_text, style="bold"), id="dialog-title")
            yield Static(self.hint, id="dialog-hint", markup=False)
            yield Input(value=self.current, id="dialog-input", select_on_focus=True)
            yield Static("", id="dialog-error", markup=False)
            yield Static("enter: apply   escape: cancel", id="dialog-keys")

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._dismissed:
            return  # a second Enter of a burst: the first one has applied it
        error = self.apply(event.value.strip())
        if error is None:
            self.dismiss(True)
        else:
            self.show_error(error)


class OpenCsvDialog(Dialog):
    """A CSV file's path, and optionally which columns are x and y (by name or position from
    1); the columns the file offers are listed as soon as the path reads as a table."""

    def __init__(self, apply: Callable[[str, str, str], str | None],
                 columns: Callable[[str], list[str] | None], current: str = "") -> None:
        super().__init__()
        self.apply = apply  # (path, x column, y column) -> error or None
        self.columns = columns  # path -> its columns, or None when it is not (yet) a readable table
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("[b]Open a CSV file[/b] (the run starts over)", id="dialog-title")
            yield Static("two numeric columns; a header row, # comments, ; or tab separators are fine",
                         id="dialog-hint", markup=False)
            yield Input(value=self.current, placeholder="path/to/file.csv", id="csv-path")
            yield Static("", id="csv-columns", markup=False)
            yield Input(placeholder="x column (blank: the first)", id="csv-x")
            yield Input(placeholder="y column (blank: the second)", id="csv-y")
            yield Static("", id="dialog-error", markup=False)
            yield Static("enter: open   tab: next field   escape: cancel", id="dialog-keys")

    def on_mount(self) -> None:
        self.list_columns(self.current)

    @on(Input.Changed, "#csv-path")
    def path_typed(self, event: Input.Changed) -> None:
        self.list_columns(event.value)

    def list_columns(self, path: str) -> None:
        names = self.columns(path.strip()) if path.strip() else None
        self.query_one("#csv-columns", Static).update(f"columns: {', '.join(names)}" if names else "")

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._dismissed:
            return  # a second Enter of a burst: the first one has applied it
        value = {i.id: i.value.strip() for i in self.query(Input)}
        error = self.apply(value["csv-path"], value["csv-x"], value["csv-y"])
        if error is None:
            self.dismiss(True)
        else:
            self.show_error(error)


def dataset_prompt(name: str, description: str, current: bool, note: str = "dim") -> Text:
    text = Text()
    text.append(f"{name}{'  (now)' if current else ''}\n", style="bold")
    text.append(description, style=note)
    return text


class DatasetPicker(DismissOnce, ModalScreen[str | None]):
    """The built-in datasets with what each teaches; dismissed with the chosen name or None.

    With `suggestions` (name -> its suggested setup as one line, or why it has none) the
    highlighted dataset's suggestion is shown under the list, and `t` hands its name to
    `try_suggestion`, which starts that setup (None) or says why not (the picker stays open
    with that line). Enter keeps what it always did: the data changes, the settings stay."""

    BINDINGS = [Binding("escape,d", "cancel", "Cancel"),
                Binding("t", "try_suggestion", "Suggested setup", show=False)]

    def __init__(self, datasets: list[tuple[str, str]], current: str, title: str = "Built-in datasets",
                 hint: str = "enter starts the run over on one; escape cancels",
                 suggestions: dict[str, str] | None = None,
                 try_suggestion: Callable[[str], str | None] | None = None) -> None:
        super().__init__()
        self.datasets = datasets  # (name, its first comment line)
        self.current = current
        # the same list serves a served session to pick files by name (tui/workspace.py)
        self.title_text, self.hint = title, hint
        self.suggestions = suggestions
        self.try_suggestion = try_suggestion

    def compose(self) -> ComposeResult:
        with Vertical(id="datasets"):
            yield Static(Text.assemble((self.title_text, "bold"), f"  ({self.hint})"),
                         id="datasets-title")
            yield OptionList(*(Option(dataset_prompt(name, about, name == self.current, text_style(self.app, "note")), id=name)
                               for name, about in self.datasets), id="datasets-list")
            if self.suggestions is not None:
                yield Static("", id="datasets-try", markup=False)

    def on_mount(self) -> None:
        names = [name for name, _ in self.datasets]
        if self.current in names:
            self.query_one(OptionList).highlighted = names.index(self.current)
        self.show_suggestion()

    @property
    def highlighted_name(self) -> str | None:
        option_list = self.query_one(OptionList)
        index = option_list.highlighted
        return None if index is None else option_list.get_option_at_index(index).id

    @on(OptionList.OptionHighlighted)
    def highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self.show_suggestion()

    def show_suggestion(self, error: str | None = None) -> None:
        if self.suggestions is None:
            return
        name = self.highlighted_name
        text = Text()
        if error is not None:
            text.append(error, style="bold red")
        elif name is not None:
            suggested = self.suggestions.get(name)
            if suggested is None:
                text.append(f"{name}: no suggested setup", style=text_style(self.app, "note"))
            else:
                text.append("Try: ", style="bold")
                text.append(suggested)
                text.append(f"\nt starts {name} with this setup; enter keeps the current settings",
                            style=text_style(self.app, "note"))
        self.query_one("#datasets-try", Static).update(text)

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_try_suggestion(self) -> None:
        name = self.highlighted_name
        if self._dismissed or self.try_suggestion is None or name is None:
            return  # a later key of a burst, or a list without suggestions
        error = self.try_suggestion(name)
        if error is None:
            self.dismiss(None)  # done (and said) by try_suggestion
        else:
            self.show_suggestion(error)

    def action_cancel(self) -> None:
        self.dismiss(None)
