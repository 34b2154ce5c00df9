"""`kepler serve-web`: the server starts on localhost, serves its page, and each visitor's
websocket runs their own Kepler (the real app, through textual-serve's web driver)."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pyte
import pytest

from serve.web import KeplerWebServer

TIMEOUT = 20


@pytest.fixture
async def web_server(tmp_path):
    server = KeplerWebServer("127.0.0.1", 0, max_sessions=1, state_dir=tmp_path / "state")
    await server.start()
    yield server
    await server.close()


def browser() -> aiohttp.ClientSession:
    """An HTTP client that keeps cookies from an IP address, as a browser does."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def ws_url(server, **query) -> str:
    """The websocket's address, with the token as the page's cookie would carry it."""
    query = {"token": server.token, **query}
    return f"ws://127.0.0.1:{server.port}/ws?" + "&".join(f"{k}={v}" for k, v in query.items())


async def test_the_page_is_served_and_points_at_this_server(web_server):
    async with browser() as http:
        async with http.get(web_server.url) as page:
            assert page.status == 200
            html = await page.text()
        assert f'ws://127.0.0.1:{web_server.port}/ws' in html
        assert "<div>Kepler</div>" in html  # the intro card names the app
        # the token came once in the URL; the page's own requests carry it as a cookie
        async with http.get(f"http://127.0.0.1:{web_server.port}/static/js/textual.js") as script:
            assert script.status == 200


async def test_a_visitor_gets_their_own_kepler_and_the_next_one_is_told_it_is_full(web_server):
    screen = pyte.Screen(100, 30)
    stream = pyte.ByteStream(screen)
    async with browser() as http:
        async with http.ws_connect(ws_url(web_server, width=100, height=30)) as ws:

            async def trainer_screen_shown():
                async for message in ws:
                    if message.type == aiohttp.WSMsgType.BINARY:
                        stream.feed(message.data)
                        text = "\n".join(screen.display)
                        if "learning rate" in text and "Loss" in text:
                            return
                raise AssertionError("the session closed before the trainer screen was drawn")

            await asyncio.wait_for(trainer_screen_shown(), TIMEOUT)
            assert web_server.active_sessions == 1

            # ctrl+s: saved in the tab's own folder, and handed to the browser as a download
            await ws.send_str(json.dumps(["stdin", "\x13"]))

            async def delivered() -> str:
                async for message in ws:
                    if message.type == aiohttp.WSMsgType.TEXT and message.json()[0] == "deliver_file_start":
                        return message.json()[1]
                raise AssertionError("the session closed before the download was offered")

            key = await asyncio.wait_for(delivered(), TIMEOUT)
            async with http.get(f"http://127.0.0.1:{web_server.port}/download/{key}?token={web_server.token}") as download:
                assert download.status == 200
                assert "kepler-session-" in download.headers["Content-Disposition"]
                assert json.loads(await download.text())["format"] == "kepler-session"
            (folder,) = (web_server.state_dir / "students").iterdir()
            assert folder.name.startswith("web-") and next(folder.glob("kepler-session-*.json"))

            async with http.get(web_server.url) as page:  # max_sessions=1: the next visitor
                assert page.status == 503
                assert "Kepler is full" in await page.text()

            await ws.send_str(json.dumps(["stdin", "q"]))  # quitting the app closes the socket

            async def closed():
                async for _ in ws:
                    pass

            await asyncio.wait_for(closed(), TIMEOUT)

    await until(lambda: web_server.active_sessions == 0, "the place is free again")


async def test_a_visitor_who_leaves_while_the_app_starts_leaves_no_process_behind(web_server):
    # What a browser tab closed at once sends (seen from headless Chromium): two resizes,
    # then "going away". textual-serve alone left that app running, and busy.
    async with browser() as http:
        ws = await http.ws_connect(ws_url(web_server, width=133, height=39))
        await ws.send_str(json.dumps(["resize", {"width": 133, "height": 39}]))
        await until(lambda: web_server.app_pids, "the app has started")
        (pid,) = web_server.app_pids
        await asyncio.sleep(0.1)
        await ws.send_str(json.dumps(["resize", {"width": 133, "height": 44}]))
        await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY)
    await until(lambda: web_server.active_sessions == 0, "the session has ended")
    assert not Path(f"/proc/{pid}").exists(), "the app outlived its visitor"


async def until(condition, what: str) -> None:
    async def poll():
        while not condition():
            await asyncio.sleep(0.02)

    try:
        await asyncio.wait_for(poll(), TIMEOUT)
    except asyncio.TimeoutError:
        raise AssertionError(f"timed out waiting until {what}") from None
