"""`kepler serve-ssh` against what a class (and a stranger) tried on it: each test is one
attack from issue 10, run with asyncssh's client on 127.0.0.1, bounded in count and time.

Most tests drive the stand-in app (tests/fake_terminal_app.py); the first one runs the real
Kepler, because the files a student could reach were reached through the app's own keys.
"""
from __future__ import annotations

import asyncio
import logging
import os
import resource
import sys

import asyncssh
import pyte
import pytest

from serve.cpu_budget import CpuBudget
from serve.room import MAX_COLS, MAX_ROWS
from serve.ssh import RESTORE_TERMINAL

from test_serve_ssh import (FAKE_APP, PASSWORD, TIMEOUT, connect, read_until, settings, start_server,  # noqa: F401
                            student_key, wait_for)


def log_lines(caplog, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


# ---------------------------------------------------------------------- a student's files
async def test_the_apps_file_keys_reach_only_the_students_own_folder(settings, student_key, start_server,
                                                                     monkeypatch, tmp_path):
    state = settings.state_dir
    monkeypatch.chdir(state)  # the server runs where its secrets are
    (state / "authorized_keys").write_bytes(settings.authorized_keys.read_bytes())
    server = await start_server(settings, app_command=[sys.executable, "-m", "tui.cli"])
    before = {p.name: p.read_bytes() for p in state.iterdir() if p.is_file()}
    assert "ssh_host_ed25519_key" in before and "class_password" in before
    screen = pyte.Screen(100, 30)
    stream = pyte.ByteStream(screen)
    async with connect(server, key=student_key) as conn:
        process = await conn.create_process(term_type="xterm-256color", term_size=(100, 30), encoding=None)

        async def until_shown(text: str) -> None:
            while text not in "\n".join(screen.display):
                chunk = await process.stdout.read(65536)
                assert chunk, f"the app ended before showing {text!r}"
                stream.feed(chunk)

        async def close_picker(title: str) -> None:
            process.stdin.write(b"\x1b")
            while title in "\n".join(screen.display):
                chunk = await process.stdout.read(65536)
                assert chunk, "the app ended"
                stream.feed(chunk)

        await asyncio.wait_for(until_shown("learning rate"), TIMEOUT)
        # Each key used to open a dialog with a path to type (authorized_keys, the password
        # hash, the host key were overwritten that way). Now each saves under a name of ours.
        for key, shown in ((b"\x13", "Session saved"), (b"\x05", "the loss history"), (b"\x07", "the screen as SVG")):
            process.stdin.write(key)
            await asyncio.wait_for(until_shown(shown), TIMEOUT)
        process.stdin.write(b"\x0c")  # ctrl+l: a list of this student's own sessions
        await asyncio.wait_for(until_shown("Load a session"), TIMEOUT)
        await asyncio.wait_for(until_shown("kepler-session-"), TIMEOUT)  # the list may come a frame later
        await asyncio.wait_for(close_picker("Load a session"), TIMEOUT)
        process.stdin.write(b"\x0f")  # ctrl+o: a list of names, no path field
        await asyncio.wait_for(until_shown("Open data"), TIMEOUT)
        assert "path/to/file.csv" not in "\n".join(screen.display)
        await asyncio.wait_for(close_picker("Open data"), TIMEOUT)
        process.stdin.write(b"q")
        await asyncio.wait_for(process.wait(), TIMEOUT)
    after = {p.name: p.read_bytes() for p in state.iterdir() if p.is_file()}
    assert after == before  # the server's own files: not one byte changed, nothing added
    (folder,) = (state / "students").iterdir()
    assert folder.name.startswith("key-")  # a key login keeps its folder from one login to the next
    assert sorted(p.name.rsplit("-", 2)[0] for p in folder.iterdir()) == [
        "kepler-history", "kepler-screen", "kepler-session"]
    assert oct(folder.stat().st_mode & 0o777) == "0o700"


async def test_password_logins_get_a_folder_each(settings, start_server):
    server = await start_server(settings)
    for _ in range(2):
        async with connect(server, password=PASSWORD) as conn:
            process = await conn.create_process(term_type="xterm", encoding=None)
            seen = await read_until(process, b"--workspace ")
            await read_until(process, b"\r\n", seen)
            assert f"--workspace {settings.state_dir / 'students'}/ssh-".encode() in seen
    assert len(list((settings.state_dir / "students").iterdir())) == 2  # the password is shared: ids are not


# ---------------------------------------------------------------------- terminal sizes
async def test_a_huge_terminal_is_clamped_and_a_resize_past_65535_keeps_the_connection(settings, student_key,
                                                                                       start_server):
    server = await start_server(settings)
    async with connect(server, key=student_key) as conn:
        process = await conn.create_process(term_type="xterm", term_size=(10000, 10000), encoding=None)
        seen = await read_until(process, f"fake app ready {MAX_COLS}x{MAX_ROWS}".encode())
        process.change_terminal_size(90, 30)
        seen = await read_until(process, b"resized 90x30", seen)
        process.change_terminal_size(70000, 70000)
        await read_until(process, f"resized {MAX_COLS}x{MAX_ROWS}".encode(), seen)
        process.stdin.write(b"q")
        await asyncio.wait_for(process.wait(), TIMEOUT)
    assert process.exit_status == 0


# ---------------------------------------------------------------------- before logging in
async def test_idle_tcp_connections_cannot_lock_a_student_out(settings, student_key, start_server, caplog):
    settings.max_startups = 10
    server = await start_server(settings)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    base = len(os.listdir("/proc/self/fd"))
    idle = []
    # 120 idle connections: this process holds both ends, 240 descriptors without a cap
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, base + 200), hard))
    try:
        for _ in range(120):
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", server.port), TIMEOUT)
            idle.append(writer)
        async with connect(server, key=student_key, login_timeout=TIMEOUT) as conn:
            process = await conn.create_process(term_type="xterm", encoding=None)
            await read_until(process, b"fake app ready")
    finally:
        for writer in idle:
            writer.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert len(log_lines(caplog, "(MaxStartups)")) == 1  # logged once for the burst
    assert server.startups.pending <= 10


async def test_failed_accepts_are_logged_once_per_burst(settings, start_server, caplog):
    server = await start_server(settings)
    loop = asyncio.get_running_loop()
    for _ in range(500):
        loop.call_exception_handler({"message": "socket.accept() out of system resource",
                                     "exception": OSError(24, "Too many open files")})
    assert len(log_lines(caplog, "cannot accept connections: Too many open files")) == 1
    assert "Traceback" not in caplog.text


async def test_guessing_from_one_address_is_slowed_but_the_right_password_gets_in(settings, start_server):
    settings.auth_failure_delay, settings.auth_checks_per_source = 0.3, 2
    settings.max_startups = 40  # a class behind one NAT address logs in at once
    server = await start_server(settings)
    async with connect(server, password=PASSWORD):  # the teacher tries it first
        pass
    guard = server.password_guard
    assert guard.slow_checks == 1

    async def guess(n: int) -> None:
        with pytest.raises(asyncssh.PermissionDenied):
            async with connect(server, password=f"guess-{n:04d}", login_timeout=TIMEOUT * 3):
                pass

    guessers = [asyncio.create_task(guess(n)) for n in range(16)]
    await wait_for(lambda: guard.recent_failures("127.0.0.1") >= 2, "some guesses were answered")
    async with connect(server, password=PASSWORD, login_timeout=TIMEOUT):  # a student behind the same NAT
        pass
    still_guessing = sum(not task.done() for task in guessers)
    await asyncio.wait_for(asyncio.gather(*guessers), TIMEOUT * 3)
    assert still_guessing > 0  # the student did not wait behind the guessers
    assert guard.peak_in_flight("127.0.0.1") <= 2  # 16 connections, 2 answers in flight
    assert guard.slow_checks == 1  # and no scrypt for a guess once the password is known


# ---------------------------------------------------------------------- after logging in
async def test_one_connection_opens_one_session(settings, student_key, start_server, caplog):
    server = await start_server(settings)
    async with connect(server, key=student_key) as conn:
        first = await conn.create_process(term_type="xterm", encoding=None)
        await read_until(first, b"fake app ready")
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.create_process(term_type="xterm", encoding=None)
        assert len(server.sessions) == 1
    assert log_lines(caplog, "refused: a second session on one connection")


async def test_a_login_that_opens_no_session_is_dropped(settings, student_key, start_server, caplog):
    settings.session_grace = 0.3
    server = await start_server(settings)
    async with connect(server, key=student_key) as conn:
        await asyncio.wait_for(conn.wait_closed(), TIMEOUT)
    assert log_lines(caplog, "started no session")


async def test_client_strings_in_the_log_are_escaped_and_cut_short(settings, start_server, caplog):
    caplog.set_level(logging.INFO, logger="kepler.serve")
    server = await start_server(settings)
    with pytest.raises(asyncssh.PermissionDenied):  # a user name of 1005 characters
        async with asyncssh.connect("127.0.0.1", server.port, username="class" + "x" * 1000,
                                    password="wrong-password", known_hosts=None, agent_path=None):
            pass
    forged = "\n2026-01-01 00:00:00 #9 logged in as 'teacher' with the class password" + "y" * 5000
    async with connect(server, password=PASSWORD) as conn:
        with pytest.raises(asyncssh.ChannelOpenError):
            await conn.create_unix_connection(asyncssh.SSHUNIXSession, "/run/x" + forged)
    async with connect(server, password=PASSWORD) as conn:
        process = await conn.create_process(term_type="xterm\x1b]0;owned\x07" + forged, encoding=None)
        seen = await read_until(process, b"TERM=")
        await read_until(process, b"options", seen)
        assert b"TERM=xterm-256color" in seen  # a TERM that is no terminal's name is not passed on
    lines = [r.getMessage() for r in caplog.records]
    assert all("\n" not in line and "\x1b" not in line and len(line) < 300 for line in lines), \
        max(lines, key=len)[:200]
    assert any("wrong class password" in line and "1005 chars" in line for line in lines)
    assert any("forwarding to socket" in line and "\\n2026" in line for line in lines)


async def test_refused_x11_agent_and_no_terminal_requests_are_logged(settings, student_key, start_server, caplog,
                                                                     tmp_path):
    server = await start_server(settings)
    async with connect(server, key=student_key, agent_forwarding=str(tmp_path / "agent.sock")) as conn:
        process = await conn.create_process(encoding=None, x11_forwarding="ignore_failure",
                                            x11_display="127.0.0.1:9", x11_auth_path=str(tmp_path / "none"))
        await asyncio.wait_for(process.wait(), TIMEOUT)  # no pty: told to use ssh -t
    await wait_for(lambda: log_lines(caplog, "refused: agent forwarding"), "the agent refusal is logged")
    assert log_lines(caplog, "refused: X11 forwarding")
    assert log_lines(caplog, "refused: no terminal")


@pytest.mark.parametrize("with_terminal", [False, True], ids=["ssh -T", "ssh -tt"])
async def test_a_client_whose_input_is_closed_gets_an_exit_status(settings, student_key, start_server,
                                                                 with_terminal):
    server = await start_server(settings)
    for _ in range(3):  # it used to hang about half the time
        async with connect(server, key=student_key) as conn:
            process = await conn.create_process(term_type="xterm" if with_terminal else None, encoding=None)
            process.stdin.write_eof()  # `</dev/null`
            await asyncio.wait_for(process.wait(), TIMEOUT)
            assert process.exit_status is not None and process.exit_status > 0
    await wait_for(lambda: not server.sessions, "every place is free")


async def test_a_killed_app_is_logged_as_killed_and_the_terminal_restored(settings, student_key, start_server,
                                                                         caplog):
    caplog.set_level(logging.INFO, logger="kepler.serve")
    server = await start_server(settings)
    async with connect(server, key=student_key) as conn:
        process = await conn.create_process(term_type="xterm", encoding=None)
        seen = await read_until(process, b"fake app ready")
        (session,) = server.sessions
        os.kill(session.pid, 9)  # the OOM killer, or a teacher's `kill -9`
        seen = await read_until(process, b"Connect again", seen)
        await asyncio.wait_for(process.wait(), TIMEOUT)
    assert RESTORE_TERMINAL in seen and b"killed by SIGKILL" in seen
    assert process.exit_status == 137
    await wait_for(lambda: log_lines(caplog, "session ended (killed by SIGKILL, after"), "the kill is logged")


# ---------------------------------------------------------------------- the room's CPU
def test_the_room_budget_holds_when_a_few_students_train_flat_out():
    """4 of 20 sessions at a full core each, 16 at 5 % each; the room may use one core."""
    now, cpu = [0.0], {pid: 0.0 for pid in range(20)}
    stopped: set[int] = set()

    def signal_(pid, sig):
        (stopped.add if sig == 19 else stopped.discard)(pid)

    budget = CpuBudget(0.25, burst=0.5, room=1.0, read_cpu=cpu.get, send_signal=signal_, clock=lambda: now[0])
    for pid in cpu:
        budget.add(pid)
    greedy = range(4)
    for _ in range(600):  # a minute in ticks of 0.1 s
        now[0] += 0.1
        for pid in cpu:
            if pid not in stopped:
                cpu[pid] += 0.1 if pid in greedy else 0.005
        budget.tick()
    light = sum(cpu[pid] for pid in cpu if pid not in greedy)
    assert light == pytest.approx(16 * 0.05 * 60)  # the light ones are never held back
    room_use = sum(cpu.values()) / 60
    assert room_use < 1.0 + 4 * 0.5 / 60 + 0.1  # the room's core, the greedy ones' bursts, one tick
    per_session_only = 4 * 0.25 + 0.8
    assert room_use < per_session_only - 0.5  # well under what the per-session shares alone allow
