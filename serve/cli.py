"""`kepler serve-ssh` and `kepler serve-web`: their options, and starting them.

`add_serve_commands` only declares options; asyncssh and textual-serve are imported when a
server actually starts, so `kepler` and `kepler train` never load them.
"""
from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import math
import signal
import sys
from pathlib import Path

EXIT_USAGE = 2


# The same "a whole number >= 1" rule and message as the app's own options.
from tui.cli import _positive_int as _count  # noqa: E402 - tui.cli imports no textual


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


def add_serve_commands(sub) -> None:
    """Declare `serve-ssh` and `serve-web` on the `kepler` command's subparsers."""
    s = sub.add_parser("serve-ssh", help="serve Kepler to a class over SSH, one app per student",
                       description="Every SSH login gets its own Kepler, and nothing else: no shell, no "
                                   "forwarding. Students connect with `ssh -p PORT class@HOST`.")
    s.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 opens it to the network)")
    s.add_argument("--port", type=_port, default=2222, help="port to listen on (default 2222)")
    s.add_argument("--state-dir", type=Path, default=None,
                   help="where the host key and the password hash live (default ~/.config/kepler)")
    s.add_argument("--authorized-keys", type=Path, metavar="FILE",
                   help="students' public keys, in OpenSSH authorized_keys format (re-read when it changes)")
    s.add_argument("--password-file", type=Path, metavar="FILE",
                   help="the class password's hash (default STATE_DIR/class_password)")
    s.add_argument("--set-password", action="store_true",
                   help="ask for the class password (or read one line from stdin), store its hash, and exit")
    s.add_argument("--max-sessions", type=_count, default=20, help="students at once (default 20)")
    s.add_argument("--idle-minutes", type=_amount, default=30.0,
                   help="end a session after this long without a key press (default 30; 0: never)")
    s.add_argument("--speed", dest="speed_cap", type=_amount, default=200.0, metavar="EPOCHS_PER_S",
                   help="each session's training speed (default 200; 0: the app's own)")
    s.add_argument("--cpu-share", type=_amount, default=0.25, metavar="F",
                   help="the most CPU one session may use, as a share of one core (default 0.25; 0: no limit)")
    s.add_argument("--fps", dest="session_fps", type=_amount, default=None, metavar="N",
                   help="screen updates per second for each session (default: the app's --low-bandwidth)")
    s.add_argument("--max-fps", type=_amount, default=10.0, metavar="N",
                   help="the most a student may ask for with `ssh -o SetEnv=KEPLER_FPS=N` (default 10)")

    w = sub.add_parser("serve-web", help="serve Kepler in the browser (NO authentication: see the README)",
                       description="Every browser tab gets its own Kepler. textual-serve has no authentication "
                                   "of its own: keep it on localhost behind an authenticating reverse proxy.")
    w.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    w.add_argument("--port", type=_port, default=8000, help="port to listen on (default 8000)")
    w.add_argument("--public-url", metavar="URL",
                   help="the address students' browsers use, when it differs (behind a proxy: https://...)")
    w.add_argument("--max-sessions", type=_count, default=20, help="visitors at once (default 20)")
    w.add_argument("--speed", dest="speed_cap", type=_amount, default=200.0, metavar="EPOCHS_PER_S",
                   help="each session's training speed (default 200; 0: the app's own)")


def run_serve(args) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%Y-%m-%d %H:%M:%S",
                        stream=sys.stderr)
    logging.getLogger("asyncssh").setLevel(logging.WARNING)  # one line per event is ours to write
    if args.command == "serve-ssh":
        return _serve_ssh(args)
    return _serve_web(args)


def _fail(command: str, message: str, status: int = EXIT_USAGE) -> int:
    print(f"kepler {command}: error: {message}", file=sys.stderr)
    return status


# ---------------------------------------------------------------------- serve-ssh
def _serve_ssh(args) -> int:
    from .credentials import CredentialError, default_state_dir

    state_dir = args.state_dir or default_state_dir()
    if args.set_password:
        return _set_password(args.password_file or state_dir / "class_password")

    from .ssh import ClassroomSSHServer, SSHSettings

    settings = SSHSettings(
        host=args.host, port=args.port, state_dir=state_dir, authorized_keys=args.authorized_keys,
        password_file=args.password_file, max_sessions=args.max_sessions, idle_timeout=args.idle_minutes * 60,
        speed_cap=args.speed_cap or None, cpu_share=args.cpu_share, fps=args.session_fps or None,
        max_fps=args.max_fps,
    )
    server = ClassroomSSHServer(settings)
    try:
        return _run_until_stopped(server.serve_forever())
    except CredentialError as exc:
        return _fail("serve-ssh", str(exc))
    except OSError as exc:  # the port is taken, or the address is not this machine's
        return _fail("serve-ssh", f"cannot listen on {args.host} port {args.port}: {exc.strerror or exc}", 1)


def _set_password(path: Path) -> int:
    from .credentials import CredentialError, write_password_file

    if sys.stdin.isatty():
        # getpass: never echoed, never an argument that `ps` would show.
        password = getpass.getpass("Class password: ")
        if getpass.getpass("Again: ") != password:
            return _fail("serve-ssh", "the two passwords differ; nothing was changed")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        write_password_file(path, password)
    except CredentialError as exc:
        return _fail("serve-ssh", str(exc))
    print(f"The class password's hash is in {path} (mode 0600). Students log in with it.")
    return 0


# ---------------------------------------------------------------------- serve-web
def _serve_web(args) -> int:
    from .web import KeplerWebServer

    server = KeplerWebServer(args.host, args.port, public_url=args.public_url, max_sessions=args.max_sessions,
                             speed_cap=args.speed_cap or None)
    try:
        return _run_until_stopped(server.serve_forever())
    except OSError as exc:
        return _fail("serve-web", f"cannot listen on {args.host} port {args.port}: {exc.strerror or exc}", 1)


def _run_until_stopped(serving) -> int:
    """Run a server until Ctrl+C or SIGTERM; either ends the sessions politely."""

    async def main() -> None:
        task = asyncio.current_task()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            await serving
        except asyncio.CancelledError:
            pass

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    return 0
