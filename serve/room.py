"""What both servers give every student the same way: a terminal of sane size, a private
folder for their work, the app's served-mode options, and log lines a client cannot forge.

- Terminal sizes are clamped (MAX_COLS x MAX_ROWS): a 10000 x 10000 pty grew one app past
  8 GB; at 400 x 150 an app peaks near 95 MB. The app draws at the clamped size.
- Each student's saves and exports go to their own folder, `STATE_DIR/students/ID` (mode
  0700), never the state directory itself, where the host key and the password hash live.
  ID is something the server controls: `key-<fingerprint>` for an SSH key (the same
  student finds yesterday's saves), else a fresh `ssh-...` or `web-...` per session (a
  class password is shared by everyone, so it cannot tell students apart).
- Client-supplied text in a log line (a user name, TERM, a forwarding host, a socket path)
  is escaped and cut short: a newline cannot start a forged line, a megabyte cannot flood.
"""
from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

MAX_COLS, MAX_ROWS = 400, 150
DEFAULT_SIZE = (80, 24)
LOG_TEXT_LIMIT = 64


def clamp_size(cols: int, rows: int) -> tuple[int, int]:
    """A terminal size the app may draw at: 0 (unknown) is the default, big is capped."""
    cols = DEFAULT_SIZE[0] if not cols or cols < 1 else min(int(cols), MAX_COLS)
    rows = DEFAULT_SIZE[1] if not rows or rows < 1 else min(int(rows), MAX_ROWS)
    return cols, rows


def shown(text, limit: int = LOG_TEXT_LIMIT) -> str:
    """`text` from a client, safe for one log line: quoted, escaped, at most `limit` chars."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "backslashreplace")
    text = str(text)
    cut = text[:limit]
    quoted = repr(cut)  # escapes newlines, escape sequences and other control characters
    return quoted + (f"...({len(text)} chars)" if len(text) > limit else "")


def new_student_id(kind: str) -> str:
    """A fresh ID for one session: the time (so a teacher can find it) and 48 random bits."""
    return f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(6)}"


def key_student_id(fingerprint: str) -> str:
    """The same ID every time for one SSH key (`SHA256:abc+/=` -> `key-abc--`)."""
    digest = fingerprint.split(":", 1)[-1]
    return "key-" + "".join(c if c.isalnum() else "-" for c in digest)[:43]


def student_folder(state_dir: Path, student_id: str) -> Path:
    """The student's private folder under the server's state directory, made if needed."""
    if not student_id or "/" in student_id or student_id.startswith("."):
        raise ValueError(f"not a student ID: {student_id!r}")
    students = Path(state_dir) / "students"
    for folder in (Path(state_dir), students, students / student_id):
        folder.mkdir(exist_ok=True, parents=True)
        os.chmod(folder, 0o700)
    return students / student_id


def served_options(kind: str, folder: Path, data_dir: Path | None) -> list[str]:
    """The app's served-mode options (tui/arguments.py, tui/workspace.py)."""
    options = ["--served", kind, "--workspace", str(folder)]
    if data_dir is not None:
        options += ["--data-dir", str(Path(data_dir).resolve())]
    return options
