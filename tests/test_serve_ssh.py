"""`kepler serve-ssh`: a class logs in over SSH and each student gets their own app, and
nothing else.

Everything runs on 127.0.0.1 with an ephemeral port and asyncssh's own client. Most tests
drive a small stand-in app (`fake_terminal_app.py`: prints its size and options, echoes
keys, quits on `q`), which starts in a blink; the first test runs the real Kepler.
"""
from __future__ import annotations

import asyncio
import logging
import re
import stat
import subprocess
import sys
from pathlib import Path

import asyncssh
import pyte
import pytest

from serve.cpu_budget import CpuBudget, cpu_seconds
from serve.credentials import (CredentialError, fingerprint, hash_password, load_or_create_host_key,
                               verify_password, write_password_file)
from serve.ssh import ClassroomSSHServer, SSHSettings, student_options

PASSWORD = "gradient-descent"
FAKE_APP = [sys.executable, str(Path(__file__).with_name("fake_terminal_app.py"))]
TIMEOUT = 20  # generous: a loaded CI machine, not a slow server, is what this guards against


@pytest.fixture
def student_key():
    return asyncssh.generate_private_key("ssh-ed25519")


@pytest.fixture
def settings(tmp_path, student_key) -> SSHSettings:
    keys = tmp_path / "authorized_keys"
    keys.write_bytes(student_key.export_public_key())
    write_password_file(tmp_path / "state" / "class_password", PASSWORD)
    return SSHSettings(host="127.0.0.1", port=0, state_dir=tmp_path / "state", authorized_keys=keys,
                       auth_failure_delay=0.0)


@pytest.fixture
async def start_server():
    servers = []

    async def start(settings: SSHSettings, app_command=FAKE_APP) -> ClassroomSSHServer:
        server = ClassroomSSHServer(settings, app_command=app_command)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


def connect(server: ClassroomSSHServer, *, key=None, password=None, **options):
    """A student's SSH client, checking the server's host key as a student's would."""
    known = asyncssh.import_known_hosts(
        f"[127.0.0.1]:{server.port} {server.host_key.export_public_key().decode()}")
    return asyncssh.connect("127.0.0.1", server.port, username="class", known_hosts=known,
                            client_keys=[key] if key else None, password=password, agent_path=None,
                            **options)


async def read_until(process, text: bytes, seen: bytearray | None = None) -> bytearray:
    """Read the session's output until `text` appears; everything read so far is returned."""
    seen = bytearray() if seen is None else seen

    async def pump():
        while text not in seen:
            chunk = await process.stdout.read(4096)
            if not chunk:
                raise AssertionError(f"session ended before {text!r} appeared; it said {bytes(seen)!r}")
            seen.extend(chunk)

    await asyncio.wait_for(pump(), TIMEOUT)
    return seen


async def wait_for(condition, what: str) -> None:
    async def poll():
        while not condition():
            await asyncio.sleep(0.02)

    try:
        await asyncio.wait_for(poll(), TIMEOUT)
    except asyncio.TimeoutError:
        raise AssertionError(f"timed out waiting until {what}") from None


def process_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"  # a zombie has exited
    except FileNotFoundError:
        return True


# ---------------------------------------------------------------------- logging in
async def test_a_key_login_opens_the_trainer_screen_and_q_ends_the_connection(settings, student_key, start_server):
    server = await start_server(settings, app_command=[sys.executable, "-m", "tui.cli"])
    screen = pyte.Screen(100, 30)
    stream = pyte.ByteStream(screen)
    async with connect(server, key=student_key) as conn:
        process = await conn.create_process(term_type="xterm-256color", term_size=(100, 30), encoding=None)

        async def trainer_screen_shown():
            while True:
                chunk = await process.stdout.read(65536)
                assert chunk, "the app ended before drawing its screen"
                stream.feed(chunk)
                text = "\n".join(screen.display)
                if "learning rate" in text and "Loss" in text and "epoch 0" in text:
                    return

        await asyncio.wait_for(trainer_screen_shown(), TIMEOUT)
        process.stdin.write(b"q")
        await asyncio.wait_for(process.wait(), TIMEOUT)
        assert process.exit_status == 0
        await asyncio.wait_for(conn.wait_closed(), TIMEOUT)  # the server hung up once the app quit
    await wait_for(lambda: not server.sessions, "the place is free again")


async def test_the_speed_cap_reaches_the_app(settings, student_key, start_server):
    settings.speed_cap = 50
    server = await start_server(settings, app_command=[sys.executable, "-m", "tui.cli"])
    screen = pyte.Screen(100, 30)
    stream = pyte.ByteStream(screen)
    async with connect(server, key=student_key) as conn:
        process = await conn.create_process(term_type="xterm-256color", term_size=(100, 30), encoding=None)

        async def speed_shown() -> str:
            while True:
                chunk = await process.stdout.read(65536)
                assert chunk, "the app ended before drawing its screen"
                stream.feed(chunk)
                match = re.search(r"speed\s+(\S+/s)", "\n".join(screen.display))
                if match:
                    return match.group(1)

        shown = await asyncio.wait_for(speed_shown(), TIMEOUT)
        process.stdin.write(b"q")
        await asyncio.wait_for(process.wait(), TIMEOUT)
    assert shown == "50/s"


async def test_the_class_password_logs_in(settings, start_server, caplog):
    caplog.set_level(logging.INFO, logger="kepler.serve")
    server = await start_server(settings)
    async with connect(server, password=PASSWORD) as conn:
        process = await conn.create_process(term_type="xterm", term_size=(80, 24), encoding=None)
        seen = await read_until(process, b"options:")
        await read_until(process, b"\r\n", seen)
        # the session runs at a capped speed and, unless the student asks, at low bandwidth
        assert b"fake app ready 80x24 TERM=xterm options: --low-bandwidth --speed 200" in seen
        process.stdin.write(b"q")
        await asyncio.wait_for(process.wait(), TIMEOUT)
    await wait_for(lambda: "disconnected" in caplog.text, "the disconnection is logged")
    assert "connected from 127.0.0.1" in caplog.text
    assert "logged in as 'class' with the class password" in caplog.text
    assert "session started" in caplog.text and "session ended (quit, exit status 0" in caplog.text


async def test_a_wrong_password_is_refused(settings, start_server, caplog):
    server = await start_server(settings)
    with pytest.raises(asyncssh.PermissionDenied):
        async with connect(server, password="gradient-ascent"):
            pass
    assert "wrong class password" in caplog.text
    assert not server.sessions


async def test_an_unknown_key_is_refused(settings, start_server, caplog):
    caplog.set_level(logging.INFO, logger="kepler.serve")
    server = await start_server(settings)
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    with pytest.raises(asyncssh.PermissionDenied):
        async with connect(server, key=stranger):
            pass
    assert f"key {fingerprint(stranger)} is not authorized" in caplog.text


async def test_a_key_added_during_the_lesson_is_accepted_without_a_restart(settings, start_server):
    server = await start_server(settings)
    latecomer = asyncssh.generate_private_key("ssh-ed25519")
    with pytest.raises(asyncssh.PermissionDenied):
        async with connect(server, key=latecomer):
            pass
    with settings.authorized_keys.open("ab") as f:
        f.write(latecomer.export_public_key())
    async with connect(server, key=latecomer) as conn:
        process = await conn.create_process(term_type="xterm", encoding=None)
        await read_until(process, b"fake app ready")


async def test_without_a_password_only_keys_get_in(settings, start_server):
    (settings.state_dir / "class_password").unlink()
    server = await start_server(settings)
    with pytest.raises(asyncssh.PermissionDenied):
        async with connect(server, password=PASSWORD):
            pass


async def test_a_server_nobody_could_log_in_to_does_not_start(tmp_path):
    server = ClassroomSSHServer(SSHSettings(port=0, state_dir=tmp_path))
    with pytest.raises(CredentialError, match="nobody could log in"):
        await server.start()


# ---------------------------------------------------------------------- only the app
async def test_exec_and_subsystems_are_refused(settings, student_key, start_server, caplog):
    server = await start_server(settings)
    for attempt in (lambda conn: conn.run("cat /etc/passwd"),
                    lambda conn: conn.create_process("sh", term_type="xterm"),  # not with a terminal either
                    lambda conn: conn.start_sftp_client()):
        async with connect(server, key=student_key) as conn:  # one session per connection
            with pytest.raises(asyncssh.ChannelOpenError):
                await attempt(conn)
    assert "refused: exec 'cat /etc/passwd'" in caplog.text
    assert "refused: subsystem 'sftp'" in caplog.text
    assert not server.sessions


async def test_port_forwarding_is_refused(settings, student_key, start_server, caplog):
    server = await start_server(settings)
    async with connect(server, key=student_key) as conn:
        with pytest.raises(asyncssh.ChannelOpenError):  # ssh -L: through the server to its port
            await conn.create_connection(asyncssh.SSHTCPSession, "127.0.0.1", server.port)
        with pytest.raises(asyncssh.ChannelListenError):  # ssh -R: a port opened on the server
            await conn.forward_remote_port("127.0.0.1", 0, "127.0.0.1", server.port)
        with pytest.raises(asyncssh.ChannelOpenError):  # a Unix socket on the server
            await conn.create_unix_connection(asyncssh.SSHUNIXSession, "/run/docker.sock")
    assert "refused: port forwarding" in caplog.text and "refused: remote port forwarding" in caplog.text


async def test_a_session_without_a_terminal_is_told_to_ask_for_one(settings, student_key, start_server):
    server = await start_server(settings)
    async with connect(server, key=student_key) as conn:
        process = await conn.create_process(encoding=None)  # `ssh -T`: a shell, no pty
        output = await asyncio.wait_for(process.stdout.read(), TIMEOUT)
        await process.wait()
    assert b"Kepler needs a terminal" in output and process.exit_status == 1


# ---------------------------------------------------------------------- the session
async def test_a_resize_reaches_the_app(settings, student_key, start_server):
    server = await start_server(settings)
    async with connect(server, key=student_key) as conn:
        process = await conn.create_process(term_type="xterm", term_size=(90, 30), encoding=None)
        seen = await read_until(process, b"fake app ready 90x30")
        process.change_terminal_size(132, 43)
        await read_until(process, b"resized 132x43", seen)


async def test_keys_reach_the_app_and_its_exit_status_reaches_the_student(settings, student_key, start_server):
    server = await start_server(settings)
    async with connect(server, key=student_key) as conn:
        process = await conn.create_process(term_type="xterm", encoding=None)
        seen = await read_until(process, b"fake app ready")
        process.stdin.write(b"k")
        await read_until(process, b"key k", seen)
        process.stdin.write(b"x")  # the stand-in's "crash": exit status 3
        await asyncio.wait_for(process.wait(), TIMEOUT)
        assert process.exit_status == 3
        await asyncio.wait_for(conn.wait_closed(), TIMEOUT)


async def test_leaving_ends_the_app(settings, student_key, start_server, caplog):
    caplog.set_level(logging.INFO, logger="kepler.serve")
    server = await start_server(settings)
    async with connect(server, key=student_key) as conn:
        process = await conn.create_process(term_type="xterm", encoding=None)
        await read_until(process, b"fake app ready")
        (session,) = server.sessions
        pid = session.pid
    await wait_for(lambda: process_gone(pid), "the app's process has ended")
    await wait_for(lambda: not server.sessions, "the place is free again")
    await wait_for(lambda: "the client left" in caplog.text, "the end is logged")


async def test_the_session_limit_refuses_the_next_student_with_a_message(settings, student_key, start_server):
    settings.max_sessions = 2
    server = await start_server(settings)
    async with connect(server, key=student_key) as a, connect(server, key=student_key) as b:
        inside = []
        for conn in (a, b):
            inside.append(await conn.create_process(term_type="xterm", encoding=None))
            await read_until(inside[-1], b"fake app ready")
        async with connect(server, password=PASSWORD) as c:
            refused = await c.create_process(term_type="xterm", encoding=None)
            said = await asyncio.wait_for(refused.stdout.read(), TIMEOUT)
            await refused.wait()
        assert b"Kepler is full: all 2 places are taken" in said
        assert refused.exit_status == 1
        inside[0].stdin.write(b"q")  # one student leaves: the next one gets in
        await asyncio.wait_for(inside[0].wait(), TIMEOUT)
        await wait_for(lambda: len(server.sessions) == 1, "a place is free")
        async with connect(server, password=PASSWORD) as d:
            process = await d.create_process(term_type="xterm", encoding=None)
            await read_until(process, b"fake app ready")


async def test_an_idle_session_is_ended_with_a_message(settings, student_key, start_server):
    settings.idle_timeout = 0.6
    server = await start_server(settings)
    async with connect(server, key=student_key) as conn:
        process = await conn.create_process(term_type="xterm", encoding=None)
        seen = await read_until(process, b"fake app ready")
        (session,) = server.sessions
        pid = session.pid
        await read_until(process, b"without a key press", seen)
        await asyncio.wait_for(process.wait(), TIMEOUT)
    assert b"\x1b[?1049l" in seen  # the student's terminal is given back (alternate screen left)
    assert process_gone(pid)


async def test_a_student_may_lift_the_low_bandwidth_default(settings, student_key, start_server):
    server = await start_server(settings)
    async with connect(server, key=student_key) as conn:
        process = await conn.create_process(term_type="xterm", encoding=None,
                                            env={"KEPLER_FPS": "30", "KEPLER_ASCII": "1"})
        seen = await read_until(process, b"options:")
        await read_until(process, b"\r\n", seen)
    # 30 asked, 10 allowed (--max-fps); no --low-bandwidth; the speed cap stays
    assert b"options: --fps 10 --ascii --speed 200 --served ssh" in seen


def test_student_options_ignore_what_makes_no_sense():
    s = SSHSettings(speed_cap=None)
    assert student_options(s, {}) == ["--low-bandwidth"]
    for nonsense in ("fast", "0", "-5", "nan", "inf"):
        assert student_options(s, {"KEPLER_FPS": nonsense}) == ["--low-bandwidth"]
    assert student_options(s, {"KEPLER_FPS": "4"}) == ["--fps", "4"]
    assert student_options(SSHSettings(fps=5.0, speed_cap=50), {}) == ["--fps", "5", "--speed", "50"]


# ---------------------------------------------------------------------- the CPU budget
async def test_a_session_running_flat_out_is_held_to_its_cpu_share(settings, student_key, start_server):
    settings.cpu_share, settings.cpu_burst = 0.2, 0.1
    server = await start_server(settings)
    async with connect(server, key=student_key) as conn:
        process = await conn.create_process(term_type="xterm", encoding=None)
        seen = await read_until(process, b"fake app ready")
        (session,) = server.sessions
        process.stdin.write(b"b")  # the stand-in burns CPU from now on
        await read_until(process, b"key b", seen)
        await wait_for(lambda: server.cpu_budget.is_stopped(session.pid), "the budget stops the busy app")
        await wait_for(lambda: not server.cpu_budget.is_stopped(session.pid), "and lets it run again")
        before, start = cpu_seconds(session.pid), asyncio.get_running_loop().time()
        await asyncio.sleep(2.0)
        used = cpu_seconds(session.pid) - before
        elapsed = asyncio.get_running_loop().time() - start
        # unchecked it would use a whole core (~2 s); its share is 0.4 s, plus at most a tick
        assert used < 0.5 * elapsed, f"{used:.2f} s of CPU in {elapsed:.2f} s"
        pid = session.pid
    await wait_for(lambda: process_gone(pid), "a stopped app still ends when the student leaves")


def test_the_cpu_budget_is_a_token_bucket():
    now, cpu, signals = [0.0], {7: 0.0}, []
    budget = CpuBudget(0.25, burst=0.5, read_cpu=cpu.get, send_signal=lambda pid, sig: signals.append(sig),
                       clock=lambda: now[0])
    budget.add(7)

    def second(cpu_used: float) -> None:
        now[0] += 1.0
        cpu[7] += cpu_used
        budget.tick()

    second(0.2)  # within its share: never touched
    second(0.2)
    assert signals == []
    second(1.0)  # a whole core: credit 0.5 (the most it may save) - 1.0 used = -0.5
    assert signals == [19] and budget.is_stopped(7)  # SIGSTOP
    second(0.0)  # stopped, it earns its share back: -0.25
    assert signals == [19] and budget.is_stopped(7)
    second(0.0)  # 0: square again
    assert signals == [19, 18] and not budget.is_stopped(7)  # SIGCONT
    budget.remove(7)
    assert signals == [19, 18]


# ---------------------------------------------------------------------- credentials on disk
async def test_the_host_key_is_made_once_private_and_kept(tmp_path):
    first = load_or_create_host_key(tmp_path / "state")
    path = tmp_path / "state" / "ssh_host_ed25519_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    again = load_or_create_host_key(tmp_path / "state")
    assert fingerprint(again) == fingerprint(first)  # students' clients see no change


def test_the_class_password_is_stored_hashed_and_private(tmp_path):
    path = tmp_path / "state" / "class_password"
    write_password_file(path, PASSWORD)
    stored = path.read_text()
    assert PASSWORD not in stored and stored.startswith("scrypt$")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert verify_password(PASSWORD, stored) and not verify_password(PASSWORD + "!", stored)
    assert hash_password(PASSWORD) != hash_password(PASSWORD)  # salted
    with pytest.raises(CredentialError, match="at least 8"):
        hash_password("short")


def test_set_password_reads_stdin_not_the_command_line(tmp_path):
    state = tmp_path / "state"
    done = subprocess.run([sys.executable, "-m", "tui.cli", "serve-ssh", "--state-dir", str(state), "--set-password"],
                          input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert verify_password(PASSWORD, (state / "class_password").read_text())
    assert PASSWORD not in done.stdout + done.stderr


def test_the_app_and_headless_training_never_load_the_servers():
    probe = ("import sys; from tui.cli import main; main(['train', '--epochs', '2']); "
             "print(sorted(m for m in ('asyncssh', 'textual_serve', 'aiohttp') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_both_servers_listen_on_localhost_unless_told():
    from tui.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["serve-ssh"]).host == "127.0.0.1"
    assert parser.parse_args(["serve-web"]).host == "127.0.0.1"
    assert SSHSettings().host == "127.0.0.1"
