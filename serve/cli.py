"""`kepler serve-ssh` and `kepler serve-web`: starting them from their parsed options.

The options themselves are declared in tui/arguments.py, with the rest of the `kepler`
command (standard library only); asyncssh and textual-serve are imported here only when a
server actually starts, so `kepler` and `kepler train` never load them.
"""
from __future__ import annotations

import asyncio
import getpass
import logging
import signal
import sys
from pathlib import Path

EXIT_USAGE = 2


def run_serve(args) -> int:
    if args.data_dir is not None and not args.data_dir.is_dir():
        return _fail(args.command, f"--data-dir {args.data_dir}: not a folder")
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

    _raise_file_limit()
    settings = SSHSettings(
        host=args.host, port=args.port, state_dir=state_dir, authorized_keys=args.authorized_keys,
        password_file=args.password_file, max_sessions=args.max_sessions, idle_timeout=args.idle_minutes * 60,
        speed_cap=args.speed_cap or None, cpu_share=args.cpu_share, fps=args.session_fps or None,
        max_fps=args.max_fps, data_dir=args.data_dir, room_cpu=args.room_cpu, theme=args.theme,
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
    from .credentials import default_state_dir
    from .web import KeplerWebServer, TokenError, read_token_file

    if args.no_token and args.token_file:
        return _fail("serve-web", "--no-token and --token-file contradict each other: give one of them")
    try:
        token = None if args.no_token else (read_token_file(args.token_file) if args.token_file else "")
    except TokenError as exc:
        return _fail("serve-web", str(exc))
    _raise_file_limit()
    server = KeplerWebServer(args.host, args.port, public_url=args.public_url, token=token,
                             max_sessions=args.max_sessions, speed_cap=args.speed_cap or None,
                             idle_timeout=args.idle_minutes * 60, cpu_share=args.cpu_share, room_cpu=args.room_cpu,
                             state_dir=args.state_dir or default_state_dir(), data_dir=args.data_dir,
                             theme=args.theme)
    try:
        return _run_until_stopped(server.serve_forever())
    except OSError as exc:
        return _fail("serve-web", f"cannot listen on {args.host} port {args.port}: {exc.strerror or exc}", 1)


def _raise_file_limit() -> None:
    """Every connection and every session's pty holds descriptors: take the hard limit
    (the soft one is often 1024) so a busy room does not run out before its caps apply."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, 65536), hard))
        except (ValueError, OSError):
            pass


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
