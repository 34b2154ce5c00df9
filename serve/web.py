"""`kepler serve-web`: Kepler in a browser tab, one app process per visitor.

textual-serve does the carrying: the page runs a terminal (xterm.js) that talks to the
server over a websocket, and every websocket gets its own `kepler` process driven by
Textual's web driver. textual-serve has no authentication, no Origin check and no limits
of its own, so this module adds what a classroom needs, with Jupyter's server as the bar:

- **A token by default.** Every request (page, scripts, websocket, downloads) needs the
  token, given once as `?token=...` in the URL the teacher hands out (then kept in a
  cookie for this server only) or from `--token-file`. Without it: 403. `token=None` (the
  `--no-token` flag) turns this off, for a proxy that authenticates in front.
- **An Origin check** on the websocket: only pages served from this server's own address
  (or `--public-url`) may drive a session; a page from any other origin is refused (403),
  even with the token's cookie in the browser.
- **Nothing from third-party hosts**: textual-serve's page asks Google for its font; ours
  serves the font it ships, and a Content-Security-Policy keeps the page to this server.
- **The same limits as serve-ssh**: a maximum number of sessions, clamped terminal sizes,
  a CPU budget per session and for the room (`cpu_budget.py`), an idle timeout, the app in
  served mode with a private folder per tab (`room.py`); saves also go to the browser as
  downloads.
- **An app that dies is noticed**: the tab says so and the place is free at once; a tab
  closed while its app starts frees its place at once too.
"""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import secrets
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import Sequence
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from .cpu_budget import CpuBudget
from .credentials import default_state_dir
from .guard import BurstLog
from .room import clamp_size, new_student_id, served_options, shown, student_folder

log = logging.getLogger("kepler.serve")

APP_COMMAND = (sys.executable, "-m", "tui.cli")
QUIT_GRACE = 3.0  # seconds an app has to quit politely when its visitor leaves
MAX_MESSAGE = 64 * 1024  # one websocket message from a browser: keys, a resize, a ping
MIN_TOKEN_LENGTH = 16
PASSED_ENVIRONMENT = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV")
# The page may load from, and connect to, this server only.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data:; font-src 'self'; connect-src 'self' {ws}; frame-ancestors 'none'")
STOPPED = ("\x1b[?1049l\x1b[0m\x1b[2J\x1b[H\r\n  Kepler stopped on the server{why}.\r\n"
           "  Reload the page to start a new session.\r\n")


class TokenError(Exception):
    """A token file that cannot be used; the message says why, in one line."""


def read_token_file(path: Path) -> str:
    try:
        token = Path(path).read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, UnicodeDecodeError, IndexError) as exc:
        raise TokenError(f"cannot read a token from {path}: {getattr(exc, 'strerror', None) or 'empty'}") from None
    if len(token) < MIN_TOKEN_LENGTH or not token.isascii() or not token.isprintable() or " " in token:
        raise TokenError(f"the token in {path} must be at least {MIN_TOKEN_LENGTH} printable characters, no spaces")
    return token


def new_token() -> str:
    return secrets.token_urlsafe(24)


class _AppService(AppService):
    """textual-serve's per-visitor process, in its own process group, with a small
    environment, and with an end that cannot leave it running.

    A tab closed while its app is still starting (a browser sends two resizes, then "going
    away") slips past textual-serve's polite quit: that app is killed at once. Any other
    app gets QUIT_GRACE seconds to quit and is then killed; it is started with `exec`, so
    the process we signal is the app itself, not a shell around it."""

    def __init__(self, command: str, **kwargs):
        super().__init__(command, **kwargs)
        self.ready = False  # it has drawn something: it can act on a "quit"
        self.exited_by_itself = False  # it said goodbye (the "exit" meta): not a crash

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def returncode(self) -> int | None:
        return self._process.returncode if self._process else None

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        # The teacher's environment stays the teacher's: only what the app needs to start.
        full = super()._build_environment(width, height)
        env = {name: os.environ[name] for name in PASSED_ENVIRONMENT if name in os.environ}
        env.update({name: value for name, value in full.items() if name.startswith(("TEXTUAL", "TERM"))})
        env.update(COLUMNS=full["COLUMNS"], ROWS=full["ROWS"])
        env.setdefault("LANG", "C.UTF-8")
        return env

    async def _open_app_process(self, width: int = 80, height: int = 24):
        self._process = process = await asyncio.create_subprocess_shell(
            self.command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=self._build_environment(width=width, height=height),
            start_new_session=True,  # a group of its own: the CPU budget stops and resumes it whole
        )
        self._stdin = process.stdin
        return process

    async def on_data(self, payload: bytes) -> None:
        self.ready = True
        await super().on_data(payload)

    async def on_meta(self, data: bytes) -> None:
        if json.loads(data).get("type") == "exit":
            self.exited_by_itself = True
        await super().on_meta(data)

    async def set_terminal_size(self, width: int, height: int) -> None:
        await super().set_terminal_size(*clamp_size(width, height))

    async def exit_status(self, timeout: float = 1.0) -> int | None:
        """The app's exit status, once its output has ended (None if it is still running)."""
        try:
            return await asyncio.wait_for(asyncio.shield(self._process.wait()), timeout)
        except asyncio.TimeoutError:
            return None

    async def finished(self) -> None:
        """Until the app's output has ended (it quit, or it died)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def end(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            if self.ready:
                await self.send_meta({"type": "quit"})
                try:
                    await asyncio.wait_for(process.wait(), QUIT_GRACE)
                except asyncio.TimeoutError:
                    log.warning("web app pid %d did not quit; killing it", process.pid)
            if process.returncode is None:
                _kill_group(process.pid)
                await process.wait()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None


def _kill_group(pid: int) -> None:
    for sig in (signal.SIGKILL, signal.SIGCONT):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            pass


class KeplerWebServer(Server):
    """textual-serve's server for Kepler: a token, an Origin check, limits, an in-loop start."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8000, *, public_url: str | None = None,
                 token: str | None = "", max_sessions: int = 20, speed_cap: float | None = 200.0,
                 idle_timeout: float = 30 * 60.0, cpu_share: float = 0.25, cpu_burst: float = 2.0,
                 room_cpu: float | None = None, state_dir: Path | None = None, data_dir: Path | None = None,
                 app_command: Sequence[str] = APP_COMMAND, theme: str = "dark"):
        super().__init__("kepler", host=host, port=port, title="Kepler", public_url=public_url)
        # token "" (the default): a fresh random one; None: no token (a proxy authenticates)
        self.token = new_token() if token == "" else token
        self.fixed_public_url = public_url.rstrip("/") if public_url else None
        self.max_sessions = max_sessions
        self.app_options = [] if speed_cap is None else ["--speed", f"{speed_cap:g}"]
        if theme != "dark":  # the app's own default
            self.app_options += ["--theme", theme]
        self.app_command = list(app_command)
        self.idle_timeout = idle_timeout
        self.state_dir = Path(state_dir) if state_dir is not None else default_state_dir()
        self.data_dir = data_dir
        self.active_sessions = 0
        self._endings: set[asyncio.Task] = set()
        self.app_pids: set[int] = set()  # the apps running now, one per open session
        self._runner: web.AppRunner | None = None
        self.cpu_budget: CpuBudget | None = None
        if cpu_share > 0:
            room = room_cpu if room_cpu is not None else (os.cpu_count() or 2) / 2
            self.cpu_budget = CpuBudget(cpu_share, burst=cpu_burst, room=room or None)
        self._budget_task: asyncio.Task | None = None
        self._cookie = "kepler-token"
        self.burst_log = BurstLog()  # a scanner's thousand requests are one line and a count

    # ------------------------------------------------------------------ who may come in
    def _token_ok(self, request: web.Request) -> tuple[bool, bool]:
        """(May this request go on?, did it bring the token in its URL?)"""
        if self.token is None:
            return True, False
        given = request.query.get("token")
        if given is not None and hmac.compare_digest(given.encode(), self.token.encode()):
            return True, True
        cookie = request.cookies.get(self._cookie)
        return cookie is not None and hmac.compare_digest(cookie.encode(), self.token.encode()), False

    @web.middleware
    async def _authenticate(self, request: web.Request, handler):
        ok, in_url = self._token_ok(request)
        if not ok:
            self.burst_log.note(f"token {request.remote}", "web request refused: no token (%s %s from %s)",
                                request.method, shown(request.path, 40), request.remote or "?")
            return web.Response(status=403, text="Kepler: this address needs its token. Ask your teacher for "
                                                 "the whole link (it ends in ?token=...).\n")
        response = await handler(request)
        if in_url and isinstance(response, web.Response):
            # The page's scripts, font and websocket come without ?token: a cookie for this
            # server only, which no script can read and no other site's page sends.
            response.set_cookie(self._cookie, self.token, httponly=True, samesite="Strict", path="/")
        return response

    def allowed_origins(self, request: web.Request) -> set[str]:
        """This server's own addresses and --public-url, as a browser writes an Origin."""
        origins = {f"http://{self.host}:{self.port}", f"https://{self.host}:{self.port}"}
        if self.fixed_public_url:
            parts = urlsplit(self.fixed_public_url)
            origins.add(f"{parts.scheme}://{parts.netloc}")
        # The address the visitor typed, when it is an IP address or localhost: a name
        # could be anybody's (DNS rebinding), so names go through --public-url.
        host = request.host.rsplit(":", 1)[0].strip("[]")
        if host == "localhost" or _is_ip(host):
            origins.add(f"{request.scheme}://{request.host}")
        return origins

    # ------------------------------------------------------------------ pages
    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        if self.active_sessions >= self.max_sessions:
            return web.Response(status=503, text=self.full_message())
        # textual-serve writes absolute URLs from one fixed public URL; without one we take
        # the address the visitor used, so `--host 0.0.0.0` works from every student's
        # machine. Behind a proxy, --public-url says what the students' browsers see.
        base = (self.fixed_public_url or f"{request.scheme}://{request.host}").rstrip("/")
        ws_base = ("wss:" if base.startswith("https:") else "ws:") + base.split(":", 1)[1]
        router = request.app.router
        static = f"{base}{router['static'].url_for(filename='/')}".rstrip("/") + "/"
        context = {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            "app_websocket_url": f"{ws_base}{router['websocket'].url_for()}",
            "config": {"static": {"url": static}},
            "application": {"name": self.title},
        }
        response = aiohttp_jinja2.render_template("app_index.html", request, context)
        response.text = _local_fonts(response.text, static)
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.format(ws=ws_base)
        response.headers["Referrer-Policy"] = "no-referrer"  # the token stays out of other sites' logs
        return response

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        visitor = request.remote or "?"
        origin = request.headers.get("Origin")
        if origin is not None and origin not in self.allowed_origins(request):
            log.warning("web socket refused: Origin %s is not this server's address (students using a name "
                        "need --public-url)", shown(origin))
            raise web.HTTPForbidden(text="Kepler: this page may not drive a session.\n")
        if self.active_sessions >= self.max_sessions:
            log.warning("web visitor %s refused: full (%d sessions)", visitor, self.max_sessions)
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            await ws.close(message=self.full_message().encode()[:120])
            return ws
        self.active_sessions += 1
        websocket = web.WebSocketResponse(heartbeat=15, max_msg_size=MAX_MESSAGE)
        service: _AppService | None = None
        why = ""
        try:
            await websocket.prepare(request)
            folder = student_folder(self.state_dir, new_student_id("web"))
            log.info("web session started for %s, folder %s (%d open)", visitor, folder.name, self.active_sessions)
            command = "exec " + shlex.join([*self.app_command, *self.app_options,
                                            *served_options("web", folder, self.data_dir)])
            service = _AppService(command, write_bytes=websocket.send_bytes, write_str=websocket.send_str,
                                  close=websocket.close, download_manager=self.download_manager, debug=self.debug)
            cols, rows = clamp_size(to_int(request.query.get("width", "80"), 80),
                                    to_int(request.query.get("height", "24"), 24))
            await service.start(cols, rows)
            self.app_pids.add(service.pid)
            if self.cpu_budget is not None:
                self.cpu_budget.add(service.pid)
            why = await self._run_session(websocket, service)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("web session for %s failed", visitor)
        finally:
            # The place is free now; the app's ending (up to QUIT_GRACE) carries on shielded.
            self.active_sessions -= 1
            if service is not None:
                if self.cpu_budget is not None and service.pid is not None:
                    self.cpu_budget.remove(service.pid)
                ending = asyncio.ensure_future(self._end(service))
                self._endings.add(ending)
                ending.add_done_callback(self._endings.discard)
            log.info("web session ended for %s (%s; %d open)", visitor, why or "the tab left", self.active_sessions)
        if why and not websocket.closed:
            try:
                await websocket.send_bytes(STOPPED.format(why=f" ({why})").encode())
            except (ConnectionError, RuntimeError):
                pass
        await websocket.close()
        return websocket

    async def _end(self, service: _AppService) -> None:
        try:
            await service.end()
        finally:
            self.app_pids.discard(service.pid)

    async def _run_session(self, websocket: web.WebSocketResponse, service: _AppService) -> str:
        """Carry the tab's messages to the app until one side ends; why it ended ("" if the
        tab left or the app quit as asked)."""
        last_input = [time.monotonic()]
        messages = asyncio.ensure_future(self._carry_messages(websocket, service, last_input))
        app_done = asyncio.ensure_future(service.finished())
        idle = asyncio.ensure_future(self._idle_watch(last_input))
        try:
            done, _ = await asyncio.wait({messages, app_done, idle}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (messages, app_done, idle):
                task.cancel()
            await asyncio.gather(messages, app_done, idle, return_exceptions=True)
        if idle in done:
            minutes = self.idle_timeout / 60
            return f"closed after {minutes:g} minute{'s' if minutes != 1 else ''} without a key press"
        if app_done in done and not service.exited_by_itself:
            code = await service.exit_status()
            if code is not None and code < 0:
                return f"killed by {signal.Signals(-code).name}"
            return "it crashed" if code not in (None, 0) else ""
        return ""

    async def _idle_watch(self, last_input: list[float]) -> None:
        if self.idle_timeout <= 0:
            await asyncio.Event().wait()
        while True:
            remaining = last_input[0] + self.idle_timeout - time.monotonic()
            if remaining <= 0:
                return
            await asyncio.sleep(remaining)

    async def _carry_messages(self, websocket: web.WebSocketResponse, service: _AppService,
                              last_input: list[float]) -> None:
        """The browser's messages: keys, resizes (clamped), pings, focus; anything else,
        or anything malformed, is dropped."""
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                envelope = json.loads(message.data)
                kind, value = envelope[0], envelope[1] if len(envelope) > 1 else None
            except (ValueError, TypeError, IndexError, KeyError):
                continue
            if kind == "stdin" and isinstance(value, str):
                last_input[0] = time.monotonic()
                await service.send_bytes(value.encode("utf-8", "replace"))
            elif kind == "resize" and isinstance(value, dict):
                width, height = value.get("width"), value.get("height")
                if isinstance(width, int) and isinstance(height, int):
                    await service.set_terminal_size(width, height)
            elif kind == "ping":
                await websocket.send_json(["pong", value])
            elif kind == "blur":
                await service.blur()
            elif kind == "focus":
                await service.focus()

    def full_message(self) -> str:
        return f"Kepler is full: all {self.max_sessions} places are taken. Try again in a few minutes."

    # ------------------------------------------------------------------ running
    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._authenticate)
        return app

    async def on_startup(self, app: web.Application) -> None:
        pass  # textual-serve prints a banner here; our start() logs one line instead

    async def start(self) -> None:
        """Listen on host:port (port 0: any free one) inside the running event loop."""
        self._runner = web.AppRunner(await self._make_app(), handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        if self.fixed_public_url is None:
            self.public_url = f"http://{self.host}:{self.port}"
        if self.cpu_budget is not None:
            self._budget_task = asyncio.create_task(self.cpu_budget.run())
        if self.token is None:
            log.warning("Kepler in the browser on %s (NO TOKEN: anyone who reaches this port gets a session)",
                        self.url)
        else:
            log.info("Kepler in the browser: hand out %s", self.url)

    @property
    def url(self) -> str:
        """The address to hand out, with its token."""
        base = self.fixed_public_url or f"http://{self.host}:{self.port}"
        return f"{base}/" + (f"?token={self.token}" if self.token else "")

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await asyncio.gather(*self._endings, return_exceptions=True)
        if self._budget_task is not None:
            self._budget_task.cancel()
            await asyncio.gather(self._budget_task, return_exceptions=True)

    async def serve_forever(self) -> None:
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.close()


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _local_fonts(html: str, static: str) -> str:
    """textual-serve's page asks Google's servers for its font: serve the copy it ships."""
    start = html.find("<link")
    while start != -1:
        end = html.find(">", start)
        if "fonts.googleapis.com" in html[start:end]:
            face = ("<style>@font-face { font-family: 'Roboto Mono'; "
                    f"src: url('{static}fonts/RobotoMono-VariableFont_wght.ttf') format('truetype'); }}</style>")
            html = html[:start] + face + html[end + 1:]
        start = html.find("<link", start + 1)
    return html
