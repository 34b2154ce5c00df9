"""Each built-in dataset's suggested setup: the run its file says to try.

A built-in CSV opens with a line saying what it teaches and, for most, a second comment

    # Try: kepler --setup 'data=overfit,model=poly:7,scale=std,val=0.3,...'

optionally followed by `then KEY=VALUE,...`: a change to make once the first run has been
watched (the curve: the line first, then `model=poly:2`). `suggestion(name)` reads that
line into a real (Setup, Hyperparameters), so the app can start it in one change and
`kepler train` can print it as a command. The line must name its own dataset (`data=NAME`):
it is meant to be typed as it stands. Anything else is a one-line SettingError naming the
file and the line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import data

from ..training.setup_string import parse_setup_string
from ..training.trainer import Hyperparameters, SettingError, Setup

# `kepler --setup '...'`, then optionally `then key=value,...`
_FORM = re.compile(r"kepler\s+--setup\s+'(?P<setup>[^']*)'(?:\s+then\s+(?P<then>\S.*))?")
_WRITTEN = "kepler --setup 'KEY=VALUE,...', optionally followed by: then KEY=VALUE,..."


@dataclass(frozen=True)
class Suggestion:
    """A dataset's suggested run: the setup string as the file writes it, parsed."""

    dataset: str
    setup_string: str
    setup: Setup
    hyper: Hyperparameters
    then: str | None = None  # the change to try next, as setup-string keys

    def command(self, subcommand: str = "") -> str:
        """The command that runs it: `kepler --setup '...'`, or `kepler train --setup '...'`."""
        return f"kepler {subcommand + ' ' if subcommand else ''}--setup '{self.setup_string}'"

    @property
    def text(self) -> str:
        """One line to show: the setup string and, if any, what to try next."""
        return self.setup_string + (f", then {self.then}" if self.then else "")


def suggestion(name: str) -> Suggestion | None:
    """The built-in dataset `name`'s suggested setup; None if its file suggests nothing.
    SettingError (one line, naming the file and line) if the suggestion cannot be run."""
    if name not in data.builtin_names():
        return None  # a user's file: its comments are its own
    try:
        line = data.try_line(data.loader.BUILTIN_DIR / f"{name}.csv")
    except data.DataError as exc:
        raise SettingError(str(exc)) from None
    if line is None:
        return None
    return parse_try_line(line, name)


def parse_try_line(line: data.TryLine, name: str) -> Suggestion:
    match = _FORM.fullmatch(line.text)
    if match is None:
        raise SettingError(f"{line.where}: the Try line should read {_WRITTEN}; it reads '{_clip(line.text)}'")
    text = match.group("setup").strip()
    try:
        setup, hyper = parse_setup_string(text)
    except SettingError as exc:
        raise SettingError(f"{line.where}: Try line: {exc}") from None
    named = re.search(r"(^|,)\s*data\s*=", text) is not None
    if not named or setup.dataset != name:
        says = f"data={setup.dataset}" if named else "no data="
        raise SettingError(f"{line.where}: the Try line's setup should say data={name} (it says {says})")
    then = match.group("then")
    if then is not None:
        then = then.strip()
        try:
            parse_setup_string(then)  # each key and value of the next step is checked too
        except SettingError as exc:
            raise SettingError(f"{line.where}: Try line, after 'then': {exc}") from None
    return Suggestion(name, text, setup, hyper, then)


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
