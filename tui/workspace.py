"""Where a user's files come from and where their work goes: their own machine, or a
session that a teacher's server runs for a student.

- `LocalWorkspace` (`kepler` on your own machine): the file dialogs take any path you
  type, as any program of yours would.
- `ServedWorkspace` (every app that `kepler serve-ssh` or `serve-web` starts): the student
  is a stranger with a keyboard on the teacher's server, so **no path they type ever
  reaches the file system**. They open data by choosing a name from a list (the built-in
  datasets, and the files in the teacher's read-only `--data-dir`); what they save or
  export goes to their own folder, under a name the app chooses
  (`kepler-session-20260130-101502.json`); and loading lists only that folder's sessions.
  Every name that comes back from a list is checked again (no separators, no dot files,
  no symlink that leads out of its folder), and the folder has a quota.

No textual here: the app asks this object, and tests ask it directly.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Callable

# what a saved or exported file is called: kind -> (name stem, suffix)
KINDS = {"session": ("kepler-session", ".json"), "history": ("kepler-history", ".csv"),
         "screen": ("kepler-screen", ".svg"), "code": ("kepler-code", ".py")}
DATA_SUFFIXES = (".csv", ".tsv", ".txt")
# A name a student may pick from a list: no separator, no leading dot, nothing a terminal
# would interpret, not too long to show.
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._ +-]{0,99}")
MAX_FILES = 200  # in one student's folder
MAX_BYTES = 64 * 2**20  # all of one student's files together


class WorkspaceError(Exception):
    """A file the workspace will not read or write; the message is one line for the user."""


class LocalWorkspace:
    """Your own machine: typed paths, as today."""

    served = False
    delivers_downloads = False  # nothing to hand to a browser


def safe_name(name: str) -> bool:
    return bool(_SAFE_NAME.fullmatch(name or "")) and ".." not in name


class ServedWorkspace:
    """A student's session on a teacher's server: a private `folder` for their work, the
    teacher's read-only `data_dir` (or None) to open data from, and nothing else.

    `web`: the session runs in a browser tab, so saved files are also handed to the
    browser as downloads."""

    served = True

    def __init__(self, folder: Path, data_dir: Path | None = None, *, web: bool = False,
                 max_files: int = MAX_FILES, max_bytes: int = MAX_BYTES,
                 clock: Callable[[], float] = time.time):
        folder = Path(folder)
        if not folder.is_dir() or folder.is_symlink():
            raise WorkspaceError(f"the workspace {folder} is not a folder")
        self.folder = folder.resolve()
        self.data_dir = Path(data_dir).resolve() if data_dir is not None else None
        self.delivers_downloads = web
        self.max_files, self.max_bytes = max_files, max_bytes
        self._clock = clock

    # ------------------------------------------------------------------ the teacher's data
    def data_files(self) -> list[str]:
        """The names of the files in the teacher's folder that a student may open."""
        if self.data_dir is None or not self.data_dir.is_dir():
            return []
        names = []
        for entry in os.scandir(self.data_dir):
            if entry.name.lower().endswith(DATA_SUFFIXES) and self._data_file(entry.name) is not None:
                names.append(entry.name)
        return sorted(names, key=str.lower)

    def _data_file(self, name: str) -> Path | None:
        """The teacher's file called `name`, or None: a plain name, a regular file, and (if
        it is a link) one that stays inside the folder."""
        if self.data_dir is None or not safe_name(name):
            return None
        target = (self.data_dir / name).resolve()
        if target.parent != self.data_dir or not target.is_file():
            return None
        return target

    def data_path(self, name: str) -> Path:
        """Where the teacher's file `name` is; WorkspaceError for any other name."""
        path = self._data_file(name)
        if path is None or name not in self.data_files():
            raise WorkspaceError(f"'{name[:60]}' is not one of the teacher's data files")
        return path

    def allows_dataset(self, dataset: str) -> bool:
        """May a run train on `dataset` (a Setup's dataset: a built-in's name or a file
        reference, e.g. from a typed setup string)? Built-ins and the teacher's files only."""
        from data import builtin_names, file_path, is_file_reference  # numpy only

        if not is_file_reference(dataset):
            return dataset in builtin_names()
        try:
            path = file_path(dataset)
        except (OSError, ValueError):
            return False
        if not path.is_absolute() or self.data_dir is None:
            return False
        return path.parent == self.data_dir and self._data_file(path.name) == path

    # ------------------------------------------------------------------ the student's folder
    def new_name(self, kind: str) -> str:
        """A fresh name for a file of `kind` (session, history, screen), by the clock."""
        stem, suffix = KINDS[kind]
        base = f"{stem}-{time.strftime('%Y%m%d-%H%M%S', time.localtime(self._clock()))}"
        name, n = base + suffix, 2
        while (self.folder / name).exists():
            name, n = f"{base}-{n}{suffix}", n + 1
        return name

    def save(self, kind: str, content: str | bytes) -> Path:
        """Write `content` as a new file of `kind` in the student's folder; its path."""
        data = content.encode("utf-8") if isinstance(content, str) else content
        files = [p for p in self.folder.iterdir() if p.is_file()]
        if len(files) >= self.max_files:
            raise WorkspaceError(f"your folder holds {len(files)} files, the most it may: nothing was saved")
        if sum(p.stat().st_size for p in files) + len(data) > self.max_bytes:
            raise WorkspaceError(f"your folder would pass its {self.max_bytes // 2**20} MB: nothing was saved")
        path = self.folder / self.new_name(kind)
        # O_EXCL | O_NOFOLLOW: a new file of ours, never an existing file or a link's target.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(path, flags, 0o600)
        except OSError as exc:
            raise WorkspaceError(f"{path.name}: cannot write ({exc.strerror or exc})") from None
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        except OSError as exc:
            path.unlink(missing_ok=True)
            raise WorkspaceError(f"{path.name}: cannot write ({exc.strerror or exc})") from None
        return path

    def saved_sessions(self) -> list[str]:
        """This student's saved sessions, newest first."""
        stem, suffix = KINDS["session"]
        names = [p.name for p in self.folder.iterdir()
                 if p.name.startswith(stem) and p.name.endswith(suffix) and self._own_file(p.name) is not None]
        return sorted(names, reverse=True)

    def _own_file(self, name: str) -> Path | None:
        if not safe_name(name):
            return None
        path = self.folder / name
        if path.is_symlink() or not path.is_file():
            return None
        return path

    def session_path(self, name: str) -> Path:
        """Where this student's saved session `name` is; WorkspaceError for any other name."""
        path = self._own_file(name)
        if path is None or name not in self.saved_sessions():
            raise WorkspaceError(f"'{name[:60]}' is not one of your saved sessions")
        return path

    def describe(self, path: Path) -> str:
        """How a message names a file of the student's: its name, not the server's path."""
        return f"{Path(path).name} (in your folder)"
