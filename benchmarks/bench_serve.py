"""A room on one server: N students over SSH, each training at the capped speed, and the
key-to-screen latency one of them feels.

The real `kepler serve-ssh` runs as its own process on 127.0.0.1 (an ephemeral port, a
throw-away state directory and key); this script is the class: N asyncssh clients at
80x24, each pressing `b` `b` (a 100,000-epoch budget, so nobody finishes) and `space`
(train). One session is watched through `pyte`, a terminal emulator: it presses `*` and
`/` (learning rate x2, /2) and times each press until the screen shows the new rate. The
others only drain their output, as a student's terminal would.

The same session is measured alone first: that is the reference for the ratio (shared,
noisy machines). Memory is read from /proc for every app process (RSS, and PSS, which
splits shared pages fairly between the sessions), with the server's own RSS beside it.

    .venv/bin/python benchmarks/bench_serve.py               # 20 sessions, then 4 of them flat out
    .venv/bin/python benchmarks/bench_serve.py --sessions 30 --presses 60
    .venv/bin/python benchmarks/bench_serve.py --greedy 2    # two students press `]` to the max
    .venv/bin/python benchmarks/bench_serve.py --cpu-share 0   # ... with no CPU budget at all
    .venv/bin/python benchmarks/bench_serve.py --room-cpu 2  # ... with only the per-session budget

The crowded room is measured twice: everyone at the capped speed, then with `--greedy`
students pressing `]` past the top ("as fast as the machine goes") and restarting.

Target (issue 10): on a 2-core machine, 20 sessions with p95 < 150 ms, with and without 4
students training flat out.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncssh
import pyte

ROOT = Path(__file__).resolve().parent.parent
COLS, ROWS = 80, 24
TARGET_P95_MS = 150.0
RATE_RE = re.compile(r"learning rate\s+(\S+)")
SPEED_RE = re.compile(r"([\d,.]+) ep/s")


class Student:
    """One SSH session at 80x24; `watched` ones mirror their screen in pyte."""

    def __init__(self, conn: asyncssh.SSHClientConnection, process, watched: bool):
        self.conn, self.process, self.watched = conn, process, watched
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.bytes = 0
        self._want: str | None = None
        self._seen = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            chunk = await self.process.stdout.read(65536)
            if not chunk:
                return
            self.bytes += len(chunk)
            if self.watched:
                self.stream.feed(chunk)
                if self._want is not None and self._want in self.text():
                    self._seen.set()

    def text(self) -> str:
        return "\n".join(self.screen.display)

    async def until(self, text: str, timeout: float = 30.0) -> float:
        """Seconds until `text` is on the screen."""
        start = time.perf_counter()
        self._want, self._seen = text, asyncio.Event()
        if text in self.text():
            return 0.0
        await asyncio.wait_for(self._seen.wait(), timeout)
        return time.perf_counter() - start

    def press(self, keys: str) -> None:
        self.process.stdin.write(keys.encode())

    async def start_training(self) -> None:
        """Wait for the trainer screen, then a 100,000-epoch budget, then play."""
        self.watched = True
        await self.until("learning rate", timeout=120)
        self.press("bb")
        await self.until("100,000")
        self.press(" ")
        await self.until("running")

    async def close(self) -> None:
        self.conn.close()
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)


async def latencies(student: Student, presses: int) -> list[float]:
    """Milliseconds from `*` or `/` to the new learning rate on the screen."""
    found = []
    for i in range(presses):
        match = RATE_RE.search(student.text())
        before = match.group(1) if match else "0.01"
        key, after = ("*", "0.02") if before == "0.01" else ("/", "0.01")
        await asyncio.sleep(random.uniform(0.15, 0.35))  # out of step with the frame timer
        sent = time.perf_counter()
        student.press(key)
        await student.until(f"learning rate {after}", timeout=10)
        found.append((time.perf_counter() - sent) * 1000)
    return found


def children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry))
    return kids


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in kB."""
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("Rss", "Pss"):
            values[name] = int(rest.split()[0])
    return values["Rss"], values["Pss"]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def run(sessions: int, presses: int, greedy: int, cpu_share: str, room_cpu: str | None,
              workdir: Path) -> int:
    key = asyncssh.generate_private_key("ssh-ed25519")
    (workdir / "authorized_keys").write_bytes(key.export_public_key())
    server = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "serve-ssh", "--port", "0", "--state-dir", str(workdir / "state"),
         "--authorized-keys", str(workdir / "authorized_keys"), "--max-sessions", str(sessions),
         "--cpu-share", cpu_share, *(["--room-cpu", room_cpu] if room_cpu is not None else [])],
        cwd=ROOT, stderr=subprocess.PIPE, text=True,
    )
    try:
        port = None
        for line in server.stderr:  # the start-up line names the port it got
            match = re.search(r"port (\d+)", line)
            if match:
                port = int(match.group(1))
                break
        if port is None:
            print("the server did not start", file=sys.stderr)
            return 1
        # keep the server's log flowing (a full pipe would block it)
        asyncio.get_running_loop().run_in_executor(None, lambda: [None for _ in server.stderr])

        async def join(watched: bool) -> Student:
            conn = await asyncssh.connect("127.0.0.1", port, username="class", known_hosts=None,
                                          client_keys=[key], agent_path=None)
            process = await conn.create_process(term_type="xterm-256color", term_size=(COLS, ROWS), encoding=None)
            return Student(conn, process, watched)

        print(f"kepler serve-ssh on 127.0.0.1:{port}, {os.cpu_count()} cores, {sessions} sessions at {COLS}x{ROWS}")
        watched = await join(True)
        await watched.start_training()
        alone = await latencies(watched, presses // 2)

        started = time.perf_counter()
        others = await asyncio.gather(*(join(False) for _ in range(sessions - 1)))
        await asyncio.gather(*(s.start_training() for s in others))
        for s in others:
            s.watched = False  # from now on they only drain, as a terminal would
        async def flat_out(student: Student) -> None:
            student.press("]" * 20)  # past every listed speed to "as fast as the machine goes"
            while True:  # 100,000 epochs last under 2 s at full speed: `r` resets (and pauses), space plays
                await asyncio.sleep(1.0)
                student.press("r ")

        print(f"{sessions - 1} more sessions up and training in {time.perf_counter() - started:.1f} s")
        await asyncio.sleep(2.0)  # let start-up work settle
        code = await measure(server, watched, others, presses, sessions, alone, "everyone at the capped speed")
        if greedy:
            hogs = [asyncio.create_task(flat_out(s)) for s in others[:greedy]]
            print(f"\n{greedy} of them now train as fast as the machine goes (--cpu-share {cpu_share}, "
                  f"--room-cpu {room_cpu or 'default'})")
            await asyncio.sleep(3.0)
            code |= await measure(server, watched, others, presses, sessions, alone, f"{greedy} flat out")
            for hog in hogs:
                hog.cancel()
        await asyncio.gather(*(s.close() for s in [watched, *others]))
        return code
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


async def measure(server, watched: Student, others: list[Student], presses: int, sessions: int,
                  alone: list[float], label: str) -> int:
    """Time `presses` key presses in the crowded room and print what it cost; 1 on a miss."""
    apps = children(server.pid)
    app_cpu_before = {p: cpu_seconds(p) for p in apps}
    wall_before = time.perf_counter()
    server_cpu_before, client_cpu_before = cpu_seconds(server.pid), time.process_time()
    bytes_before = sum(s.bytes for s in [watched, *others])
    crowded = await latencies(watched, presses)
    wall = time.perf_counter() - wall_before
    app_cpu = sorted((cpu_seconds(p) - app_cpu_before[p] for p in apps), reverse=True)
    cpu = sum(app_cpu)
    server_cpu = cpu_seconds(server.pid) - server_cpu_before
    client_cpu = time.process_time() - client_cpu_before
    sent = sum(s.bytes for s in [watched, *others]) - bytes_before
    speed = SPEED_RE.search(watched.text())

    memory = [memory_kb(p) for p in apps]
    server_rss = memory_kb(server.pid)[0]
    p50a, p95a = statistics.median(alone), percentile(alone, 0.95)
    p50, p95 = statistics.median(crowded), percentile(crowded, 0.95)
    print(f"key to screen, alone          ({len(alone):3d} presses): p50 {p50a:6.1f} ms  p95 {p95a:6.1f} ms")
    print(f"key to screen, with {sessions - 1:2d} others ({len(crowded):3d} presses): "
          f"p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  (p95 ratio to alone {p95 / p95a:.1f}x)")
    print(f"target p95 < {TARGET_P95_MS:g} ms with {sessions} sessions, {label}: "
          f"{'PASS' if p95 < TARGET_P95_MS else 'MISS'}")
    print(f"training speed shown in the watched session: {speed.group(1) if speed else '?'} epochs/s")
    print(f"app processes: {len(apps)}; CPU {cpu / wall * 100:.0f}% of one core in all "
          f"({cpu / wall / len(apps) * 100:.1f}% each, the busiest {app_cpu[0] / wall * 100:.0f}%); "
          f"output {sent / wall / 1000:.1f} KB/s in all")
    print(f"CPU of the server {server_cpu / wall * 100:.0f}%, of this benchmark's {sessions} clients "
          f"{client_cpu / wall * 100:.0f}% (of one core; the machine has {os.cpu_count()})")
    print(f"memory per session: RSS {statistics.mean(m[0] for m in memory) / 1024:.1f} MiB, "
          f"PSS {statistics.mean(m[1] for m in memory) / 1024:.1f} MiB "
          f"(total PSS {sum(m[1] for m in memory) / 1024:.0f} MiB); server RSS {server_rss / 1024:.1f} MiB")
    return 0 if p95 < TARGET_P95_MS else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20, help="students at once (default 20)")
    parser.add_argument("--presses", type=int, default=40, help="key presses timed with everyone in (default 40)")
    parser.add_argument("--greedy", type=int, default=4,
                        help="sessions that then lift the speed cap with `]` (default 4; 0: skip that part)")
    parser.add_argument("--cpu-share", default="0.25", help="the server's --cpu-share (default 0.25; 0: none)")
    parser.add_argument("--room-cpu", default=None, help="the server's --room-cpu (default: the server's default)")
    opts = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="kepler-bench-serve-"))
    try:
        return asyncio.run(run(max(1, opts.sessions), max(2, opts.presses), max(0, opts.greedy), opts.cpu_share,
                               opts.room_cpu, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
