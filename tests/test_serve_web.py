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
async def web_server():
    server = KeplerWebServer("127.0.0.1", 0, max_sessions=1)
    await server.start()
    yield server
    await server.close()


async def test_the_page_is_served_and_points_at_this_server(web_server):
    async with aiohttp.ClientSession() as http:
        async with http.get(web_server.url) as page:
            assert page.status == 200
            html = await page.text()
        assert f'ws://127.0.0.1:{web_server.port}/ws' in html
        assert "<div>Kepler</div>" in html  # the intro card names the app
        async with http.get(f"{web_server.url}static/js/textual.js") as script:
            assert script.status == 200


async def test_a_visitor_gets_their_own_kepler_and_the_next_one_is_told_it_is_full(web_server):
    screen = pyte.Screen(100, 30)
    stream = pyte.ByteStream(screen)
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(f"ws://127.0.0.1:{web_server.port}/ws?width=100&height=30") as ws:

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
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(f"ws://127.0.0.1:{web_server.port}/ws?width=133&height=39")
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
