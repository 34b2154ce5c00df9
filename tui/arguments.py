"""The `kepler` command's shared argument types and the servers' options.

One module builds every part of the parser that more than one command needs: the number
types (one rule and one message each), the `serve-ssh` and `serve-web` subcommands, and
the app's internal served-mode options that those servers pass to every app they start.
It imports only the standard library, so `kepler train` and `kepler` never load a server
library (asyncssh, textual-serve) just to parse their options.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def _batch_size(text: str) -> int | None:
    """A batch size: a whole number of points >= 1, or `full` (None: every point, one step)."""
    if text.strip().lower() == "full":
        return None
    try:
        return _positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a batch size (a whole number >= 1, or full)") from None


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"'{text}' is not a finite number")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is between 0 and 65535 (got {value})")
    return value


def _amount(text: str) -> float:
    """A finite number >= 0 (0 switches the limit off)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0 (got {text})")
    return value


# Kepler's themes (tui/themes.py; named here too, so parsing never imports textual).
THEME_NAMES = ("dark", "light", "high-contrast")


def _theme(text: str) -> str:
    if text not in THEME_NAMES:
        raise argparse.ArgumentTypeError(f"no theme '{text}'; Kepler's themes are {', '.join(THEME_NAMES)}")
    return text


def add_theme_option(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--theme", type=_theme, default="dark", metavar="NAME",
                   help=f"{what}: {', '.join(THEME_NAMES)} (for a projector); default dark")


def add_served_options(p: argparse.ArgumentParser) -> None:
    """The app's served mode: internal options that `serve-ssh` and `serve-web` pass to each
    app they start (hidden from `kepler --help`). In served mode no path a student types
    reaches the file system: see tui/workspace.py."""
    p.add_argument("--served", choices=("ssh", "web"), default=None, help=argparse.SUPPRESS)
    p.add_argument("--workspace", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument("--data-dir", type=Path, default=None, help=argparse.SUPPRESS)


def _add_room_limits(p: argparse.ArgumentParser, noun: str) -> None:
    """The limits both servers share: places, idle time, speed, CPU, files."""
    p.add_argument("--max-sessions", type=_positive_int, default=20, help=f"{noun} at once (default 20)")
    p.add_argument("--idle-minutes", type=_amount, default=30.0,
                   help="end a session after this long without a key press (default 30; 0: never)")
    p.add_argument("--speed", dest="speed_cap", type=_amount, default=200.0, metavar="EPOCHS_PER_S",
                   help="each session's starting training speed (default 200; 0: the app's own)")
    p.add_argument("--cpu-share", type=_amount, default=0.25, metavar="F",
                   help="the most CPU one session may use, as a share of one core (default 0.25; 0: no limit)")
    p.add_argument("--room-cpu", type=_amount, default=None, metavar="CORES",
                   help="the most CPU all sessions together may use when some train flat out, in cores "
                        "(default: half the machine's cores)")
    p.add_argument("--state-dir", type=Path, default=None,
                   help="the server's own files and each student's folder of saves (default ~/.config/kepler)")
    p.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                   help="CSV files students may open (read-only; chosen from a list by name)")


def add_serve_commands(sub) -> None:
    """Declare `serve-ssh` and `serve-web` on the `kepler` command's subparsers."""
    s = sub.add_parser("serve-ssh", help="serve Kepler to a class over SSH, one app per student",
                       description="Every SSH login gets its own Kepler, and nothing else: no shell, no "
                                   "forwarding, no file of the server's. Students connect with "
                                   "`ssh -p PORT class@HOST`.")
    s.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 opens it to the network)")
    s.add_argument("--port", type=_port, default=2222, help="port to listen on (default 2222)")
    s.add_argument("--authorized-keys", type=Path, metavar="FILE",
                   help="students' public keys, in OpenSSH authorized_keys format (re-read when it changes)")
    s.add_argument("--password-file", type=Path, metavar="FILE",
                   help="the class password's hash (default STATE_DIR/class_password)")
    s.add_argument("--set-password", action="store_true",
                   help="ask for the class password (or read one line from stdin), store its hash, and exit")
    _add_room_limits(s, "students")
    add_theme_option(s, "each session's starting theme (a student may change it in the palette, "
                        "or ask with `ssh -o SetEnv=KEPLER_THEME=light`)")
    s.add_argument("--fps", dest="session_fps", type=_amount, default=None, metavar="N",
                   help="screen updates per second for each session (default: the app's --low-bandwidth)")
    s.add_argument("--max-fps", type=_amount, default=10.0, metavar="N",
                   help="the most a student may ask for with `ssh -o SetEnv=KEPLER_FPS=N` (default 10)")

    w = sub.add_parser("serve-web", help="serve Kepler in the browser (a token in the URL, as Jupyter does)",
                       description="Every browser tab gets its own Kepler. Visitors need the token printed "
                                   "in the URL at start-up (or --token-file's).")
    w.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    w.add_argument("--port", type=_port, default=8000, help="port to listen on (default 8000)")
    w.add_argument("--public-url", metavar="URL",
                   help="the address students' browsers use, when it differs (behind a proxy: https://...)")
    w.add_argument("--token-file", type=Path, metavar="FILE",
                   help="read the access token from FILE (first line) instead of making a random one")
    w.add_argument("--no-token", action="store_true",
                   help="NO token: anyone who reaches the port gets a session (only behind a proxy that authenticates)")
    _add_room_limits(w, "visitors")
    add_theme_option(w, "each session's starting theme (a student may change it in the palette)")
