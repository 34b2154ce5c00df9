"""`kepler serve-ssh`: every student who connects gets their own Kepler, and nothing else.

    ssh -p 2222 class@server

One asyncssh server; each SSH session that asks for a shell gets a fresh `kepler` process
on its own pseudo-terminal (`pty_app.PtyApp`), sized to the student's terminal and resized
with it. Quitting the app ends the connection; leaving (or idling out) ends the app.

What gets in: a key listed in an authorized-keys file, or the class password (checked
against a salted scrypt hash, `credentials.py`). Keyboard-interactive, host-based and
GSSAPI logins are switched off. What runs: the app and only the app. Exec requests,
subsystems (SFTP), TCP and Unix-socket forwarding, agent and X11 forwarding are refused;
so a login is never a shell on the teacher's server.

Limits that keep a room of students on one small server: a maximum number of sessions
(the next student is told the room is full), an idle timeout (measured from the student's
last key press), a training-speed cap passed to the app (`--speed`), a CPU budget that
holds a session to its share whatever the student presses (`cpu_budget.py`), and a
low-bandwidth default (`--low-bandwidth`) that a student may lift for themselves:

    ssh -o SetEnv=KEPLER_FPS=10 -p 2222 class@server     # 10 frames a second
    ssh -o SetEnv=KEPLER_ASCII=1 -p 2222 class@server    # plots without braille
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import math
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import asyncssh

from .cpu_budget import CpuBudget
from .credentials import (PASSWORD_FILE_NAME, AuthorizedKeys, CredentialError, default_state_dir,
                          fingerprint, load_or_create_host_key, read_password_file, verify_password)
from .pty_app import PtyApp

log = logging.getLogger("kepler.serve")

APP_COMMAND = (sys.executable, "-m", "tui.cli")
# The server's environment is the teacher's: pass the app only what it needs to start.
PASSED_ENVIRONMENT = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV")
# Undo what a full-screen app switches on, for when we ended it and it could not: mouse
# reporting, bracketed paste, focus events, the kitty keyboard protocol, the alternate
# screen; then show the cursor and reset colours.
RESTORE_TERMINAL = (b"\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l\x1b[?2004l\x1b[?1004l"
                    b"\x1b[<u\x1b[?1049l\x1b[?25h\x1b[0m")


@dataclass
class SSHSettings:
    """What a teacher chooses when starting `kepler serve-ssh`."""

    host: str = "127.0.0.1"  # only this machine, until the teacher says otherwise
    port: int = 2222
    state_dir: Path = field(default_factory=default_state_dir)
    authorized_keys: Path | None = None
    password_file: Path | None = None  # default: <state_dir>/class_password, if it exists
    max_sessions: int = 20
    idle_timeout: float = 30 * 60.0  # seconds without a key press; 0: never
    speed_cap: float | None = 200.0  # epochs per second for each session (`kepler --speed`)
    cpu_share: float = 0.25  # of one core, per session; 0: no budget
    cpu_burst: float = 2.0  # CPU seconds a session may spend ahead of its share (start-up costs ~0.5)
    fps: float | None = None  # None: `--low-bandwidth`
    max_fps: float = 10.0  # the most a student may ask for with KEPLER_FPS
    login_timeout: float = 60.0
    max_auth_attempts: int = 3  # passwords per connection
    auth_failure_delay: float = 1.0  # seconds before a wrong password is answered

    @property
    def password_path(self) -> Path:
        return self.password_file or Path(self.state_dir) / PASSWORD_FILE_NAME


def student_options(settings: SSHSettings, environment: dict[str, str]) -> list[str]:
    """The app's command-line options for one session: the server's defaults, adjusted by
    what the student asked for with SetEnv (KEPLER_FPS, KEPLER_ASCII)."""
    options: list[str] = []
    fps = settings.fps
    asked = environment.get("KEPLER_FPS", "").strip()
    if asked:
        try:
            fps = float(asked)
        except ValueError:
            fps = None
        if fps is not None and (not math.isfinite(fps) or fps <= 0):
            fps = None
        if fps is not None:
            fps = min(fps, settings.max_fps)
    options += ["--low-bandwidth"] if fps is None else ["--fps", f"{fps:g}"]
    if environment.get("KEPLER_ASCII", "").strip().lower() in ("1", "yes", "true", "on"):
        options.append("--ascii")
    if settings.speed_cap is not None:
        options += ["--speed", f"{settings.speed_cap:g}"]
    return options


def _app_environment(term_type: str) -> dict[str, str]:
    env = {name: os.environ[name] for name in PASSED_ENVIRONMENT if name in os.environ}
    env["TERM"] = term_type or "xterm-256color"
    env.setdefault("LANG", "C.UTF-8")  # box drawing and braille need UTF-8
    return env


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


class ClassroomSSHServer:
    """The listening server, the sessions running now, and the limits they share.

    `app_command` is the program each session runs (default: this Python's `-m tui.cli`);
    the session's options (`student_options`) are appended to it. Tests and development
    pass a small stand-in here.
    """

    def __init__(self, settings: SSHSettings, *, app_command: Sequence[str] = APP_COMMAND):
        self.settings = settings
        self.app_command = list(app_command)
        self.sessions: set[AppSession] = set()
        self.connections: set[_Connection] = set()
        self.password_hash: str | None = None
        self.authorized_keys: AuthorizedKeys | None = None
        self.host_key = None
        self.cpu_budget: CpuBudget | None = None
        self._budget_task: asyncio.Task | None = None
        self._acceptor = None
        self._numbers = itertools.count(1)

    # ------------------------------------------------------------------ start and stop
    def load_credentials(self) -> None:
        """Read the password hash and the authorized keys; CredentialError if nobody could log in."""
        s = self.settings
        self.password_hash = read_password_file(s.password_path)
        if s.authorized_keys is not None:
            self.authorized_keys = AuthorizedKeys(s.authorized_keys)
        if self.password_hash is None and self.authorized_keys is None:
            raise CredentialError(
                "nobody could log in: set a class password with `kepler serve-ssh --set-password` "
                "or give students' keys with --authorized-keys FILE")

    async def start(self) -> None:
        s = self.settings
        self.load_credentials()
        self.host_key = load_or_create_host_key(s.state_dir)
        self._acceptor = await asyncssh.create_server(
            lambda: _Connection(self, next(self._numbers)), s.host, s.port,
            server_host_keys=[self.host_key],
            encoding=None,  # bytes both ways: the app speaks raw terminal escape sequences
            line_editor=False,  # the app reads keys itself; asyncssh must not edit lines
            kbdint_auth=False, host_based_auth=False, gss_host=None,
            agent_forwarding=False, x11_forwarding=False, allow_scp=False, sftp_factory=None,
            login_timeout=s.login_timeout,
            keepalive_interval=30, keepalive_count_max=3,  # a closed laptop frees its place in 90 s
        )
        if s.cpu_share > 0:
            self.cpu_budget = CpuBudget(s.cpu_share, burst=s.cpu_burst)
            self._budget_task = asyncio.create_task(self.cpu_budget.run())
        methods = " and ".join(m for m, on in (("keys from " + str(s.authorized_keys), self.authorized_keys),
                                               ("the class password", self.password_hash)) if on)
        log.info("Kepler over SSH on %s port %d (host key %s); logins with %s; at most %d sessions",
                 s.host, self.port, fingerprint(self.host_key), methods, s.max_sessions)

    @property
    def port(self) -> int:
        return self._acceptor.get_port()

    async def close(self, message: str = "The Kepler server is shutting down.") -> None:
        """Stop listening, end every session with `message`, close every connection."""
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
        await asyncio.gather(*(session.end(message) for session in list(self.sessions)))
        # A connection closes itself once its session has said goodbye and the client has
        # read it; give them a moment, then close whatever is left (logins in progress).
        for _ in range(100):
            if not self.connections:
                break
            await asyncio.sleep(0.02)
        for connection in list(self.connections):
            connection.close()
        if self._budget_task is not None:
            self._budget_task.cancel()
            await asyncio.gather(self._budget_task, return_exceptions=True)

    async def serve_forever(self) -> None:
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.close()

    # ------------------------------------------------------------------ places
    def take_place(self, session: AppSession) -> bool:
        if len(self.sessions) >= self.settings.max_sessions:
            return False
        self.sessions.add(session)
        return True

    def leave_place(self, session: AppSession) -> None:
        self.sessions.discard(session)


class _Connection(asyncssh.SSHServer):
    """One SSH connection: who it is, how it logged in, and everything it may not do."""

    def __init__(self, server: ClassroomSSHServer, number: int):
        self.server = server
        self.number = number
        self.username = ""
        self.peer = "?"
        self.login = ""
        self.failures = 0
        self.open_sessions: set[AppSession] = set()
        self._conn: asyncssh.SSHServerConnection | None = None

    def name(self) -> str:
        return f"#{self.number}"

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    # ------------------------------------------------------------------ connection
    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        host, port = (conn.get_extra_info("peername") or ("?", 0))[:2]
        self.peer, self._client_addr = f"{host}:{port}", host
        self.server.connections.add(self)
        log.info("%s connected from %s", self.name(), self.peer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        why = f" ({exc})" if exc else ""
        log.info("%s disconnected%s", self.name(), why)

    # ------------------------------------------------------------------ logging in
    def begin_auth(self, username: str) -> bool:
        self.username = username
        return True  # everyone must authenticate

    def password_auth_supported(self) -> bool:
        return self.server.password_hash is not None and self.failures < self.server.settings.max_auth_attempts

    async def validate_password(self, username: str, password: str) -> bool:
        loop = asyncio.get_running_loop()
        # scrypt takes tens of milliseconds on purpose: off the event loop, so the
        # students already in do not feel a login.
        ok = await loop.run_in_executor(None, verify_password, password, self.server.password_hash)
        if ok:
            self.login = "the class password"
            return True
        self.failures += 1
        log.warning("%s wrong class password for user %r from %s", self.name(), username, self.peer)
        await asyncio.sleep(self.server.settings.auth_failure_delay)  # guessing gets slow
        return False

    def public_key_auth_supported(self) -> bool:
        return self.server.authorized_keys is not None

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        if self.server.authorized_keys.allows(key, self._client_addr, self._client_addr):
            self.login = f"key {fingerprint(key)}"
            return True
        log.info("%s key %s is not authorized", self.name(), fingerprint(key))
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def host_based_auth_supported(self) -> bool:
        return False

    def auth_completed(self) -> None:
        log.info("%s logged in as %r with %s", self.name(), self.username, self.login)

    # ------------------------------------------------------------------ what it may open
    def session_requested(self):
        return AppSession(self.server, self)

    def connection_requested(self, dest_host, dest_port, orig_host, orig_port) -> bool:
        log.warning("%s refused: port forwarding to %s:%s", self.name(), dest_host, dest_port)
        return False

    def server_requested(self, listen_host, listen_port) -> bool:
        log.warning("%s refused: remote port forwarding from %s:%s", self.name(), listen_host, listen_port)
        return False

    def unix_connection_requested(self, dest_path) -> bool:
        log.warning("%s refused: forwarding to socket %s", self.name(), dest_path)
        return False

    def unix_server_requested(self, listen_path) -> bool:
        log.warning("%s refused: remote socket forwarding from %s", self.name(), listen_path)
        return False

    def tun_requested(self, unit) -> bool:
        return False

    def tap_requested(self, unit) -> bool:
        return False


class AppSession(asyncssh.SSHServerSession):
    """One student's Kepler: the channel on one side, the app on its pty on the other."""

    def __init__(self, server: ClassroomSSHServer, connection: _Connection):
        self.server = server
        self.connection = connection
        self.app: PtyApp | None = None
        self.term_type = ""
        self.term_size: tuple[int, int] | None = None
        self.last_input = time.monotonic()
        self.started = time.monotonic()
        self._chan: asyncssh.SSHServerChannel | None = None
        self._task: asyncio.Task | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        self._end_message: str | None = None
        self._gone = False  # the channel is closed: nothing more may be written
        self._finished = False
        connection.open_sessions.add(self)

    @property
    def pid(self) -> int | None:
        return self.app.pid if self.app else None

    # ------------------------------------------------------------------ what the client asks
    def connection_made(self, chan: asyncssh.SSHServerChannel) -> None:
        self._chan = chan

    def pty_requested(self, term_type: str, term_size: tuple[int, int, int, int], term_modes) -> bool:
        self.term_type = term_type
        cols, rows = term_size[0], term_size[1]
        self.term_size = (cols or 80, rows or 24)
        return True

    def shell_requested(self) -> bool:
        return True  # the "shell" is the app

    def exec_requested(self, command: str) -> bool:
        log.warning("%s refused: exec %r", self.connection.name(), command[:80])
        return False

    def subsystem_requested(self, subsystem: str) -> bool:
        log.warning("%s refused: subsystem %r", self.connection.name(), subsystem)
        return False

    def break_received(self, msec: int) -> bool:
        return False

    def signal_received(self, signal_name: str) -> None:
        pass  # the student quits with the app's own key, not by signalling our processes

    def session_started(self) -> None:
        self._task = asyncio.create_task(self._run())

    # ------------------------------------------------------------------ running the app
    async def _run(self) -> None:
        name = self.connection.name()
        if self.term_size is None:
            self._finish(1, "Kepler needs a terminal: connect with `ssh -t`.")
            return
        if not self.server.take_place(self):
            log.warning("%s refused: full (%d sessions)", name, self.server.settings.max_sessions)
            self._finish(1, f"Kepler is full: all {self.server.settings.max_sessions} places are taken. "
                            "Try again in a few minutes.")
            return
        try:
            options = student_options(self.server.settings, self._chan.get_environment())
            cols, rows = self.term_size
            self.app = PtyApp(self.server.app_command + options, cols=cols, rows=rows,
                              env=_app_environment(self.term_type), on_output=self._output)
            await self.app.start()
            if self._gone or self._end_message is not None:
                await self.app.stop()  # the student left, or the server closed, while it started
            budget = self.server.cpu_budget
            if budget is not None:
                budget.add(self.app.pid)
            log.info("%s session started: pid %d, %dx%d %s, %s", name, self.app.pid, cols, rows,
                     self.term_type or "?", " ".join(options))
            self._arm_idle_timer()
            code = await self.app.wait()
        except Exception:
            log.exception("%s the app could not run", name)
            self._finish(1, "Kepler could not start; the teacher's server log says why.")
            return
        finally:
            self.server.leave_place(self)
            if self._idle_timer is not None:
                self._idle_timer.cancel()
            if self.app is not None and self.app.pid is not None and self.server.cpu_budget is not None:
                self.server.cpu_budget.remove(self.app.pid)
        how = "ended by the server" if self._end_message else ("the client left" if self._gone else "quit")
        log.info("%s session ended (%s, %s, after %s)", name, how,
                 f"exit status {code}" if code >= 0 else f"{signal.Signals(-code).name}",
                 _duration(time.monotonic() - self.started))
        status = code if code >= 0 else 128 - code  # killed by signal N: 128 + N, as a shell says
        self._finish(status, self._end_message, restore=self._end_message is not None)

    def _output(self, data: bytes) -> None:
        if not self._gone:
            try:
                self._chan.write(data)
            except BrokenPipeError:  # the client closed the channel; connection_lost follows
                self._gone = True

    def _finish(self, status: int, message: str | None, restore: bool = False) -> None:
        self._finished = True
        if self._gone:
            return
        try:
            if restore:
                self._chan.write(RESTORE_TERMINAL)
            if message:
                self._chan.write(b"\r\n" + message.encode("utf-8") + b"\r\n")
            self._chan.exit(min(status, 255))
        except BrokenPipeError:
            pass  # the client closed the channel first: there is no one left to tell

    async def end(self, message: str) -> None:
        """End the app from the server side (idle, shutdown); the student reads `message`."""
        self._end_message = message
        if self.app is not None:
            await self.app.stop()
        if self._task is not None:
            await self._task

    # ------------------------------------------------------------------ from the student
    def data_received(self, data: bytes, datatype) -> None:
        self.last_input = time.monotonic()
        if self.app is not None:
            self.app.write(data)

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        if width and height:
            self.term_size = (width, height)
            if self.app is not None:
                self.app.resize(width, height)

    def pause_writing(self) -> None:
        if self.app is not None:
            self.app.pause_output()

    def resume_writing(self) -> None:
        if self.app is not None:
            self.app.resume_output()

    def connection_lost(self, exc: Exception | None) -> None:
        """The channel closed: the student left, or the session ended and said so."""
        self._gone = True
        if self.app is not None and self.app.returncode is None:
            asyncio.get_running_loop().create_task(self.app.stop())
        self.connection.open_sessions.discard(self)
        if self._finished and not self.connection.open_sessions:
            # Quitting the app ends the connection, even for a client that would keep it open.
            self.connection.close()

    # ------------------------------------------------------------------ idling
    def _arm_idle_timer(self) -> None:
        idle = self.server.settings.idle_timeout
        if idle <= 0:
            return
        remaining = self.last_input + idle - time.monotonic()
        if remaining > 0:
            self._idle_timer = asyncio.get_running_loop().call_later(remaining, self._arm_idle_timer)
            return
        minutes = idle / 60
        log.info("%s idle for %s: ending the session", self.connection.name(), _duration(idle))
        asyncio.get_running_loop().create_task(self.end(
            f"Kepler closed this session after {minutes:g} minute{'s' if minutes != 1 else ''} "
            "without a key press. Connect again to start a new one."))
