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

A student is confined in the app too: it runs in served mode (tui/workspace.py), so no path
they type reaches the server's files; their saves go to their own folder (`room.py`).

Before logging in, a stranger gets little: connections not logged in yet are capped
(MaxStartups), wrong passwords are answered later the more come from one address, and a
login that opens no session within `session_grace` is dropped (`guard.py`). A connection
carries one session; X11, agent, exec and forwarding requests are refused and logged, and
whatever a client sends that ends up in the log is escaped and cut short.

Limits that keep a room of students on one small server: a maximum number of sessions
(the next student is told the room is full), an idle timeout (measured from the student's
last key press), a training-speed cap passed to the app (`--speed`), a CPU budget that
holds a session to its share whatever the student presses (`cpu_budget.py`), and a
low-bandwidth default (`--low-bandwidth`) that a student may lift for themselves:

    ssh -o SetEnv=KEPLER_FPS=10 -p 2222 class@server     # 10 frames a second
    ssh -o SetEnv=KEPLER_ASCII=1 -p 2222 class@server    # plots without braille
    ssh -o SetEnv=KEPLER_THEME=light -p 2222 class@server  # light, high-contrast or dark
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
from .guard import BurstLog, PasswordGuard, Startups
from .pty_app import PtyApp
from tui.arguments import THEME_NAMES

from .room import (clamp_size, key_student_id, new_student_id, served_options, shown, student_folder)

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
    theme: str = "dark"  # each session's starting theme (a student may ask for another with KEPLER_THEME)
    data_dir: Path | None = None  # the teacher's read-only CSV files (`--data-dir`)
    room_cpu: float | None = None  # cores for all sessions together; None: half the machine's
    login_timeout: float = 60.0  # OpenSSH's LoginGraceTime: logged in by then, or dropped
    session_grace: float = 30.0  # logged in, but no session started by then: dropped
    max_startups: int = 100  # connections not logged in yet (OpenSSH's MaxStartups)
    max_auth_attempts: int = 3  # passwords per connection
    auth_failure_delay: float = 1.0  # seconds before a wrong password is answered (more for a guesser)
    max_auth_delay: float = 30.0  # the most a guessing address waits per answer
    auth_checks_per_source: int = 3  # password checks in flight from one address

    @property
    def password_path(self) -> Path:
        return self.password_file or Path(self.state_dir) / PASSWORD_FILE_NAME


def student_options(settings: SSHSettings, environment: dict[str, str]) -> list[str]:
    """The app's command-line options for one session: the server's defaults, adjusted by
    what the student asked for with SetEnv (KEPLER_FPS, KEPLER_ASCII, KEPLER_THEME)."""
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
    asked_theme = environment.get("KEPLER_THEME", "").strip().lower()
    theme = asked_theme if asked_theme in THEME_NAMES else settings.theme  # an unknown name: the server's
    if theme != "dark":  # the app's own default
        options += ["--theme", theme]
    if settings.speed_cap is not None:
        options += ["--speed", f"{settings.speed_cap:g}"]
    return options


def _app_environment(term_type: str) -> dict[str, str]:
    env = {name: os.environ[name] for name in PASSED_ENVIRONMENT if name in os.environ}
    # TERM comes from the client: a plain terminal name, or the common default.
    ok = term_type and len(term_type) <= 64 and all(c.isalnum() or c in "-_.+" for c in term_type)
    env["TERM"] = term_type if ok else "xterm-256color"
    env.setdefault("LANG", "C.UTF-8")  # box drawing and braille need UTF-8
    return env


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


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
        self.startups = Startups(settings.max_startups)
        self.password_guard: PasswordGuard | None = None
        self.burst_log = BurstLog()
        self._old_exception_handler = None

    # ------------------------------------------------------------------ start and stop
    def load_credentials(self) -> None:
        """Read the password hash and the authorized keys; CredentialError if nobody could log in."""
        s = self.settings
        self.password_hash = read_password_file(s.password_path)
        if self.password_hash is not None:
            stored = self.password_hash
            self.password_guard = PasswordGuard(lambda password: verify_password(password, stored),
                                                delay=s.auth_failure_delay, max_delay=s.max_auth_delay,
                                                per_source=s.auth_checks_per_source)
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
        loop = asyncio.get_running_loop()
        self._old_exception_handler = loop.get_exception_handler()
        loop.set_exception_handler(self.loop_exception)
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
            room = s.room_cpu if s.room_cpu is not None else (os.cpu_count() or 2) / 2
            self.cpu_budget = CpuBudget(s.cpu_share, burst=s.cpu_burst, room=room or None)
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
        self.burst_log.flush()

    def loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict) -> None:
        """asyncio's report of a failed accept (too many open files...) is one line per
        burst, not a traceback per attempt; anything else goes to the usual handler."""
        message = str(context.get("message", ""))
        if "accept" in message:
            exc = context.get("exception")
            self.burst_log.note("accept", "cannot accept connections: %s", getattr(exc, "strerror", None) or exc)
            return
        if self._old_exception_handler is not None:
            self._old_exception_handler(loop, context)
        else:
            loop.default_exception_handler(context)

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
        self.sessions_opened = 0
        self.student_id = ""
        self._conn: asyncssh.SSHServerConnection | None = None
        self._grace_timer: asyncio.TimerHandle | None = None

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
        admitted, evicted = self.server.startups.admit(self)
        if evicted is not None:
            self.server.burst_log.note("startups", "%s dropped: %d connections not logged in, and it had not "
                                       "started to (MaxStartups)", evicted.peer, self.server.settings.max_startups)
            evicted.abort()
        if not admitted:
            self.server.burst_log.note("startups", "%s refused: %d connections are logging in (MaxStartups)",
                                       self.peer, self.server.settings.max_startups)
            self._refused = True
            conn.abort()  # frees its file descriptor now, before any cryptography
            return
        self._refused = False
        # asyncssh's own answers to X11 and agent requests are silent: ours are logged.
        conn.attach_x11_listener = self._refuse_x11
        conn.create_agent_listener = self._refuse_agent
        self.server.connections.add(self)
        log.info("%s connected from %s", self.name(), self.peer)

    def _uncount(self) -> None:
        self.server.startups.done(self)

    def abort(self) -> None:
        self._uncount()
        if self._conn is not None:
            self._conn.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._uncount()
        if self._grace_timer is not None:
            self._grace_timer.cancel()
        if getattr(self, "_refused", False):
            return
        self.server.connections.discard(self)
        why = f" ({shown(exc, 120)})" if exc else ""
        log.info("%s disconnected%s", self.name(), why)

    async def _refuse_x11(self, *args) -> None:
        log.warning("%s refused: X11 forwarding", self.name())
        return None

    async def _refuse_agent(self) -> bool:
        log.warning("%s refused: agent forwarding", self.name())
        return False

    # ------------------------------------------------------------------ logging in
    def begin_auth(self, username: str) -> bool:
        self.username = username[:256]  # only ever shown through `shown()`
        self.server.startups.started(self)
        return True  # everyone must authenticate

    def password_auth_supported(self) -> bool:
        return self.server.password_hash is not None and self.failures < self.server.settings.max_auth_attempts

    async def validate_password(self, username: str, password: str) -> bool:
        # scrypt off the event loop, one at a time; penalties per source address (guard.py)
        guard = self.server.password_guard
        if await guard.verify(self._client_addr, password):
            self.login = "the class password"
            self.student_id = new_student_id("ssh")  # the password is the class's: a folder per session
            return True
        self.failures += 1
        self.server.burst_log.note(f"password {self._client_addr}", "%s wrong class password for user %s from %s "
                                   "(%d from this address lately)", self.name(), shown(username), self.peer,
                                   guard.recent_failures(self._client_addr))
        return False

    def public_key_auth_supported(self) -> bool:
        return self.server.authorized_keys is not None

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        if self.server.authorized_keys.allows(key, self._client_addr, self._client_addr):
            self.login = f"key {fingerprint(key)}"
            self.student_id = key_student_id(fingerprint(key))  # the same folder at every login
            return True
        log.info("%s key %s is not authorized", self.name(), fingerprint(key))
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def host_based_auth_supported(self) -> bool:
        return False

    def auth_completed(self) -> None:
        self._uncount()
        log.info("%s logged in as %s with %s", self.name(), shown(self.username), self.login)
        grace = self.server.settings.session_grace
        if grace > 0:
            self._grace_timer = asyncio.get_running_loop().call_later(grace, self._check_started)

    def _check_started(self) -> None:
        """A login that has not started a session by now is dropped (it holds a socket,
        and an idle timeout measures key presses in a session it never opened)."""
        if not any(session.started_app for session in self.open_sessions):
            log.warning("%s dropped: logged in but started no session within %gs", self.name(),
                        self.server.settings.session_grace)
            self.close()

    # ------------------------------------------------------------------ what it may open
    def session_requested(self):
        if self.sessions_opened >= 1:
            log.warning("%s refused: a second session on one connection", self.name())
            return False
        self.sessions_opened += 1
        return AppSession(self.server, self)

    def connection_requested(self, dest_host, dest_port, orig_host, orig_port) -> bool:
        log.warning("%s refused: port forwarding to %s:%s", self.name(), shown(dest_host), dest_port)
        return False

    def server_requested(self, listen_host, listen_port) -> bool:
        log.warning("%s refused: remote port forwarding from %s:%s", self.name(), shown(listen_host), listen_port)
        return False

    def unix_connection_requested(self, dest_path) -> bool:
        log.warning("%s refused: forwarding to socket %s", self.name(), shown(dest_path))
        return False

    def unix_server_requested(self, listen_path) -> bool:
        log.warning("%s refused: remote socket forwarding from %s", self.name(), shown(listen_path))
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
        self.started_app = False  # a shell request arrived: the grace period is over
        self._input_closed = False
        connection.open_sessions.add(self)

    @property
    def pid(self) -> int | None:
        return self.app.pid if self.app else None

    # ------------------------------------------------------------------ what the client asks
    def connection_made(self, chan: asyncssh.SSHServerChannel) -> None:
        self._chan = chan

    def pty_requested(self, term_type: str, term_size: tuple[int, int, int, int], term_modes) -> bool:
        self.term_type = term_type
        self.term_size = clamp_size(term_size[0], term_size[1])  # the app draws at this size
        return True

    def shell_requested(self) -> bool:
        return True  # the "shell" is the app

    def exec_requested(self, command: str) -> bool:
        log.warning("%s refused: exec %s", self.connection.name(), shown(command))
        return False

    def subsystem_requested(self, subsystem: str) -> bool:
        log.warning("%s refused: subsystem %s", self.connection.name(), shown(subsystem))
        return False

    def break_received(self, msec: int) -> bool:
        return False

    def signal_received(self, signal_name: str) -> None:
        pass  # the student quits with the app's own key, not by signalling our processes

    def session_started(self) -> None:
        self.started_app = True
        self._task = asyncio.create_task(self._run())

    def eof_received(self) -> bool:
        """The client's input ended (`ssh -tt host </dev/null`): nobody can press a key any
        more, so the app ends, and the client gets its exit status (the channel stays half
        open for it: returning True)."""
        self._input_closed = True
        if self.app is not None and self.app.returncode is None and self._end_message is None:
            log.info("%s input closed by the client", self.connection.name())
            asyncio.get_running_loop().create_task(self.end("Kepler ended: the input was closed."))
        return True

    # ------------------------------------------------------------------ running the app
    async def _run(self) -> None:
        name = self.connection.name()
        if self.term_size is None:
            log.warning("%s refused: no terminal (ssh -T)", name)
            self._finish(1, "Kepler needs a terminal: connect with `ssh -t`.")
            return
        if not self.server.take_place(self):
            log.warning("%s refused: full (%d sessions)", name, self.server.settings.max_sessions)
            self._finish(1, f"Kepler is full: all {self.server.settings.max_sessions} places are taken. "
                            "Try again in a few minutes.")
            return
        try:
            settings = self.server.settings
            chosen = student_options(settings, self._chan.get_environment())
            folder = student_folder(settings.state_dir, self.connection.student_id or new_student_id("ssh"))
            options = chosen + served_options("ssh", folder, settings.data_dir)
            cols, rows = self.term_size
            self.app = PtyApp(self.server.app_command + options, cols=cols, rows=rows,
                              env=_app_environment(self.term_type), on_output=self._output)
            await self.app.start()
            if self._input_closed and self._end_message is None:
                self._end_message = "Kepler ended: the input was closed."
            if self._gone or self._end_message is not None:
                await self.app.stop()  # the student left, or the server closed, while it started
            budget = self.server.cpu_budget
            if budget is not None:
                budget.add(self.app.pid)
            log.info("%s session started: pid %d, %dx%d %s, folder %s, %s", name, self.app.pid, cols, rows,
                     shown(self.term_type or "?"), folder.name, " ".join(chosen))
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
        killed = code < 0 and not self._end_message and not self._gone
        how = ("ended by the server" if self._end_message else "the client left" if self._gone
               else f"killed by {_signal_name(-code)}" if killed else "quit")
        status_text = "" if killed else (f", exit status {code}" if code >= 0 else f", {_signal_name(-code)}")
        log.info("%s session ended (%s%s, after %s)", name, how, status_text, _duration(time.monotonic() - self.started))
        status = code if code >= 0 else 128 - code  # killed by signal N: 128 + N, as a shell says
        message = self._end_message or (f"Kepler was stopped on the server (killed by {_signal_name(-code)}).\r\n"
                                        "Connect again to start a new session." if killed else None)
        # An app that did not end by itself could not give the terminal back: we do.
        self._finish(status, message, restore=self._end_message is not None or code < 0)

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
            # clamped: a huge window must not grow the app, and > 65535 must not break the pty
            self.term_size = clamp_size(width, height)
            if self.app is not None:
                self.app.resize(*self.term_size)

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
