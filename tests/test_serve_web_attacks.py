"""`kepler serve-web` against the attacks of issue 10: a page from another origin driving a
session, visitors without the token, a huge terminal, a student lifting their speed to a
full core, a crashed app, an idle tab, and a page that calls out to third-party hosts.
Everything on 127.0.0.1, with aiohttp's client; most tests drive a stand-in app
(tests/fake_web_app.py) that speaks textual-serve's packets and starts in a blink."""
from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path

import aiohttp
import pytest

from serve.room import MAX_COLS, MAX_ROWS
from serve.web import KeplerWebServer

from test_serve_web import TIMEOUT, browser, until, ws_url

FAKE_WEB_APP = [sys.executable, str(Path(__file__).with_name("fake_web_app.py"))]


@pytest.fixture
async def start_web(tmp_path):
    servers = []

    async def start(**options) -> KeplerWebServer:
        options.setdefault("app_command", FAKE_WEB_APP)
        server = KeplerWebServer("127.0.0.1", 0, state_dir=tmp_path / "state", **options)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


async def read_until(ws, text: str, seen: list[str] | None = None) -> list[str]:
    seen = [] if seen is None else seen

    async def pump():
        while not any(text in chunk for chunk in seen):
            message = await ws.receive()
            if message.type == aiohttp.WSMsgType.BINARY:
                seen.append(message.data.decode(errors="replace"))
            elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                raise AssertionError(f"the session closed before {text!r}; it said {''.join(seen)!r}")

    await asyncio.wait_for(pump(), TIMEOUT)
    return seen


# ---------------------------------------------------------------------- the token
async def test_without_the_token_every_request_and_the_websocket_are_refused(start_web):
    server = await start_web()
    base = f"http://127.0.0.1:{server.port}"
    async with browser() as http:
        for path in ("/", "/static/js/textual.js", "/static/", "/download/anything", "/ws", "/?token=wrong"):
            async with http.get(base + path) as response:
                assert response.status == 403, path
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(f"ws://127.0.0.1:{server.port}/ws?width=80&height=24")
        assert refused.value.status == 403
        assert server.active_sessions == 0 and not server.app_pids
        async with http.get(server.url) as page:  # the URL the teacher hands out
            assert page.status == 200
        async with http.get(base + "/static/js/textual.js") as script:  # then the cookie does
            assert script.status == 200
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\?token=[\w-]{32}", server.url)


async def test_a_token_file_sets_the_token_and_no_token_must_be_asked_for(start_web, tmp_path):
    from serve.web import TokenError, read_token_file

    (tmp_path / "token").write_text("a-class-token-of-some-length\n")
    assert read_token_file(tmp_path / "token") == "a-class-token-of-some-length"
    (tmp_path / "short").write_text("abc\n")
    with pytest.raises(TokenError, match="at least 16"):
        read_token_file(tmp_path / "short")
    server = await start_web(token=None)  # --no-token: the README says when
    async with browser() as http:
        async with http.get(f"http://127.0.0.1:{server.port}/") as page:
            assert page.status == 200


# ---------------------------------------------------------------------- the Origin
async def test_a_page_from_another_origin_cannot_drive_a_session(start_web):
    server = await start_web()
    async with browser() as http:
        for origin in ("http://127.0.0.1:9999", "http://evil.example", "null"):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:  # even with the token
                await http.ws_connect(ws_url(server), headers={"Origin": origin})
            assert refused.value.status == 403, origin
        assert not server.app_pids
        async with http.ws_connect(ws_url(server), headers={"Origin": f"http://127.0.0.1:{server.port}"}) as ws:
            await read_until(ws, "fake app ready")


async def test_the_public_url_is_an_allowed_origin(start_web):
    server = await start_web(public_url="https://kepler.example.org")
    async with browser() as http:
        async with http.ws_connect(ws_url(server), headers={"Origin": "https://kepler.example.org"}) as ws:
            await read_until(ws, "fake app ready")
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await http.ws_connect(ws_url(server), headers={"Origin": "https://kepler.example.org.evil.example"})


# ---------------------------------------------------------------------- limits
async def test_a_huge_terminal_is_clamped(start_web):
    server = await start_web()
    async with browser() as http:
        async with http.ws_connect(ws_url(server, width=10000, height=10000)) as ws:
            seen = await read_until(ws, f"fake app ready {MAX_COLS}x{MAX_ROWS}")
            await ws.send_str(json.dumps(["resize", {"width": 70000, "height": 70000}]))
            await read_until(ws, f"resized {MAX_COLS}x{MAX_ROWS}", seen)
            await ws.send_str(json.dumps(["resize", "nonsense"]))  # dropped, not a crash of the server
            await ws.send_str("[")
            await ws.send_str(json.dumps(["stdin", "k"]))
            await read_until(ws, "key k", seen)


async def test_the_app_runs_in_served_mode_with_a_folder_per_tab(start_web, tmp_path):
    (tmp_path / "data").mkdir()
    server = await start_web(data_dir=tmp_path / "data")
    folders = []
    for _ in range(2):
        async with browser() as http:
            async with http.ws_connect(ws_url(server)) as ws:
                said = "".join(await read_until(ws, "fake app ready"))
                await read_until(ws, "\r\n", [said])
        assert "--speed 200 --served web --workspace " in said
        assert f"--data-dir {tmp_path / 'data'}" in said
        folders.append(re.search(r"--workspace (\S+)", said).group(1))
    assert folders[0] != folders[1] and all(Path(f).parent == tmp_path / "state" / "students" for f in folders)


async def test_a_tab_training_flat_out_is_held_to_its_cpu_share(start_web):
    server = await start_web(cpu_share=0.2, cpu_burst=0.1)
    async with browser() as http:
        async with http.ws_connect(ws_url(server)) as ws:
            seen = await read_until(ws, "fake app ready")
            (pid,) = server.app_pids
            await ws.send_str(json.dumps(["stdin", "b"]))  # `]` to the top: a whole core
            await read_until(ws, "key b", seen)
            await until(lambda: server.cpu_budget.is_stopped(pid), "the budget stops the busy app")
            await until(lambda: not server.cpu_budget.is_stopped(pid), "and lets it run again")
    await until(lambda: not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2],
                "a stopped app still ends when its tab closes")


async def test_an_idle_tab_is_closed_with_a_message(start_web):
    server = await start_web(idle_timeout=0.5)
    async with browser() as http:
        async with http.ws_connect(ws_url(server)) as ws:
            seen = await read_until(ws, "fake app ready")
            await read_until(ws, "without a key press", seen)
    await until(lambda: server.active_sessions == 0 and not server.app_pids, "the place and the app are gone")


async def test_a_crashed_app_is_noticed_the_tab_told_and_the_place_freed(start_web):
    server = await start_web(max_sessions=1)
    async with browser() as http:
        async with http.ws_connect(ws_url(server)) as ws:
            seen = await read_until(ws, "fake app ready")
            await ws.send_str(json.dumps(["stdin", "x"]))  # the app dies without a goodbye
            await read_until(ws, "Kepler stopped on the server (it crashed)", seen)
        await until(lambda: server.active_sessions == 0, "the place is free")
        async with http.ws_connect(ws_url(server)) as ws:  # the next student gets in
            await read_until(ws, "fake app ready")


async def test_a_tab_closed_while_its_app_starts_frees_its_place(start_web):
    server = await start_web(max_sessions=1)
    async with browser() as http:
        for _ in range(3):
            ws = await http.ws_connect(ws_url(server))
            await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY)
            await until(lambda: server.active_sessions == 0, "the place is free")
        async with http.ws_connect(ws_url(server)) as ws:
            await read_until(ws, "fake app ready")
    await until(lambda: not server.app_pids, "no app outlives its tab")


# ---------------------------------------------------------------------- the page itself
async def test_the_page_asks_no_third_party_host_for_anything(start_web):
    server = await start_web()
    async with browser() as http:
        async with http.get(server.url) as page:
            html = await page.text()
            policy = page.headers["Content-Security-Policy"]
        hosts = set(re.findall(r"""(?:https?|wss?)://([^/"'\s)]+)""", html)) - {"www.w3.org"}  # an SVG namespace
        assert hosts == {f"127.0.0.1:{server.port}"}, hosts
        assert "default-src 'self'" in policy
        font = re.search(r"url\('([^']+\.ttf)'\)", html).group(1)
        async with http.get(font) as response:  # the font comes from Kepler itself
            assert response.status == 200
