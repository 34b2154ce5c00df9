"""`kepler serve-web`: Kepler in a browser tab, one app process per visitor.

textual-serve does the work: the page runs a terminal (xterm.js) that talks to the server
over a websocket, and every websocket gets its own `kepler` process driven by Textual's web
driver. What this module adds is what a classroom needs around it: a localhost default, a
session limit with a plain "full" page, a speed cap passed to each app, a log line per
visitor, and a server that runs inside an existing event loop (so tests can start it on
an ephemeral port).

textual-serve has NO AUTHENTICATION of its own: anyone who can reach the port gets a
session, running as the teacher's user. Keep it on localhost and put an authenticating
reverse proxy in front of it (the README shows one) before opening it to a class.
"""
from __future__ import annotations

import asyncio
import logging
import shlex
import sys
from typing import Sequence

import aiohttp_jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

log = logging.getLogger("kepler.serve")

APP_COMMAND = (sys.executable, "-m", "tui.cli")
QUIT_GRACE = 3.0  # seconds an app has to quit politely when its visitor leaves


class _AppService(AppService):
    """textual-serve's per-visitor process, with an end that cannot leave it running.

    textual-serve asks the app to quit and waits for its output to end. A tab closed while
    the app is still starting (a browser sends two resizes, then "going away") slips past
    that: textual-serve's session ends, the app never quits and keeps a core busy. So the
    app gets QUIT_GRACE seconds to quit and is then killed; it is started with `exec`, so
    the process we kill is the app itself, not a shell around it.
    """

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def end(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            await self.send_meta({"type": "quit"})
            try:
                await asyncio.wait_for(process.wait(), QUIT_GRACE)
            except asyncio.TimeoutError:
                log.warning("web app pid %d did not quit; killing it", process.pid)
                process.kill()
                await process.wait()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None


class KeplerWebServer(Server):
    """textual-serve's server for Kepler, with a session limit and an in-loop start."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8000, *, public_url: str | None = None,
                 max_sessions: int = 20, speed_cap: float | None = 200.0,
                 app_command: Sequence[str] = APP_COMMAND):
        options = [] if speed_cap is None else ["--speed", f"{speed_cap:g}"]
        # textual-serve hands the command to a shell: quote every word (paths may hold
        # spaces), and `exec` so the shell becomes the app instead of waiting on it.
        super().__init__("exec " + shlex.join([*app_command, *options]), host=host, port=port,
                         title="Kepler", public_url=public_url)
        self.fixed_public_url = public_url
        self.max_sessions = max_sessions
        self.active_sessions = 0
        self._endings: set[asyncio.Task] = set()
        self.app_pids: set[int] = set()  # the apps running now, one per open session
        self._runner: web.AppRunner | None = None

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
        context = {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            "app_websocket_url": f"{ws_base}{router['websocket'].url_for()}",
            "config": {"static": {"url": f"{base}{router['static'].url_for(filename='/')}".rstrip("/") + "/"}},
            "application": {"name": self.title},
        }
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        visitor = request.remote or "?"
        if self.active_sessions >= self.max_sessions:
            log.warning("web visitor %s refused: full (%d sessions)", visitor, self.max_sessions)
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            await ws.close(message=self.full_message().encode()[:120])
            return ws
        # What textual-serve's handler does, with our end for the app (see _AppService).
        self.active_sessions += 1
        log.info("web session started for %s (%d open)", visitor, self.active_sessions)
        websocket = web.WebSocketResponse(heartbeat=15)
        service: _AppService | None = None
        try:
            await websocket.prepare(request)
            service = _AppService(self.command, write_bytes=websocket.send_bytes, write_str=websocket.send_str,
                                  close=websocket.close, download_manager=self.download_manager,
                                  debug=self.debug)
            await service.start(to_int(request.query.get("width", "80"), 80),
                                to_int(request.query.get("height", "24"), 24))
            self.app_pids.add(service.pid)
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("web session for %s failed", visitor)
        finally:
            if service is not None:
                # Shielded: a second cancellation of this handler must not cut the ending short.
                ending = asyncio.ensure_future(service.end())
                self._endings.add(ending)
                ending.add_done_callback(self._endings.discard)
                await asyncio.shield(ending)
                self.app_pids.discard(service.pid)
            self.active_sessions -= 1
            log.info("web session ended for %s (%d open)", visitor, self.active_sessions)
        await websocket.close()
        return websocket

    def full_message(self) -> str:
        return f"Kepler is full: all {self.max_sessions} places are taken. Try again in a few minutes."

    # ------------------------------------------------------------------ running
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
        log.info("Kepler in the browser on http://%s:%d/ (no authentication: see the README)",
                 self.host, self.port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await asyncio.gather(*self._endings, return_exceptions=True)

    async def serve_forever(self) -> None:
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.close()
