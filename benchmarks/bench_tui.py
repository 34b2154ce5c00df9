"""How the app behaves in a real terminal: bytes per second, key-to-screen latency,
training throughput and start-up time, measured in a pseudo-terminal.

The app runs as a child process on a pty of a given size, exactly as in a terminal or over
SSH; everything it writes is counted and fed to `pyte` (a terminal emulator) so the
benchmark can read the screen the way a person would. Figures are medians of one run, and
ratios are against references measured in the same run (shared, noisy machines).

    .venv/bin/python benchmarks/bench_tui.py            # the full table
    .venv/bin/python benchmarks/bench_tui.py --quick    # shorter windows

Targets (issue 3): <= 12 KB/s at 80x24 with default settings, <= 4 KB/s with
--low-bandwidth, key-to-screen p95 < 50 ms while training at full speed, in-app training
throughput >= 70% of headless `kepler train`, first frame well under a second.
"""
from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pyte

ROOT = Path(__file__).resolve().parent.parent
EPOCH_RE = re.compile(r"[Ee]poch\s+([\d,]+)")
LR_RE = re.compile(r"(?:lr|learning rate)\s*[=:]?\s*([0-9][0-9.eE+-]*)")


class TerminalApp:
    """The app on a pty of `cols` x `rows`, with a pyte screen mirroring what it drew."""

    def __init__(self, args: list[str], cols: int, rows: int):
        self.cols, self.rows = cols, rows
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor", COLUMNS=str(cols), LINES=str(rows))
        env.pop("NO_COLOR", None)
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tui.cli", *args], stdin=slave, stdout=slave, stderr=slave,
            cwd=ROOT, env=env, start_new_session=True, close_fds=True,
        )
        os.close(slave)
        self.fd = master
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.bytes_read = 0

    def pump(self, timeout: float = 0.01) -> int:
        """Read whatever the app wrote within `timeout`; returns the byte count."""
        got = 0
        ready, _, _ = select.select([self.fd], [], [], timeout)
        while ready:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            got += len(chunk)
            self.stream.feed(chunk)
            ready, _, _ = select.select([self.fd], [], [], 0)
        self.bytes_read += got
        return got

    def text(self) -> str:
        return "\n".join(self.screen.display)

    def wait_for(self, predicate, timeout: float = 10.0) -> float | None:
        """Seconds until predicate(screen text) holds, or None."""
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            self.pump(0.002)
            if predicate(self.text()):
                return time.perf_counter() - start
        return None

    def send(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def epoch(self) -> int | None:
        m = EPOCH_RE.search(self.text())
        return int(m.group(1).replace(",", "")) if m else None

    def learning_rate(self) -> str | None:
        m = LR_RE.search(self.text())
        return m.group(1) if m else None

    def close(self) -> None:
        try:
            self.send("q")
            self.proc.wait(timeout=3)
        except Exception:
            pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        os.close(self.fd)


def steady_bandwidth(args: list[str], cols: int, rows: int, seconds: float) -> tuple[float, float]:
    """(KB/s written while training steadily, seconds to the first frame)."""
    app = TerminalApp(args, cols, rows)
    try:
        first = app.wait_for(lambda t: EPOCH_RE.search(t) is not None, timeout=15)
        app.send(" ")  # play
        settle_until = time.perf_counter() + 1.0
        while time.perf_counter() < settle_until:
            app.pump(0.01)
        start_bytes, start = app.bytes_read, time.perf_counter()
        while time.perf_counter() - start < seconds:
            app.pump(0.01)
        rate = (app.bytes_read - start_bytes) / (time.perf_counter() - start) / 1000
        return rate, (first if first is not None else float("nan")) + 0.0
    finally:
        app.close()


def latency_and_throughput(args: list[str], cols: int, rows: int, presses: int, seconds: float):
    """Key-to-screen latencies (s) for learning-rate changes while training at full speed,
    and the epochs per second the app reached meanwhile."""
    app = TerminalApp(args, cols, rows)
    latencies = []
    try:
        app.wait_for(lambda t: EPOCH_RE.search(t) is not None, timeout=15)
        app.send(" ")
        app.wait_for(lambda t: (app.epoch() or 0) > 0, timeout=10)
        for _ in range(30):
            app.pump(0.01)
        e0, t0 = app.epoch(), time.perf_counter()
        for i in range(presses):
            before = app.learning_rate()
            key = "-" if i % 2 == 0 else "+"
            app.send(key)
            waited = app.wait_for(lambda t: app.learning_rate() != before, timeout=2.0)
            latencies.append(waited if waited is not None else 2.0)
            pause_until = time.perf_counter() + 0.1
            while time.perf_counter() < pause_until:
                app.pump(0.01)
        while time.perf_counter() - t0 < seconds:
            app.pump(0.01)
        e1, t1 = app.epoch(), time.perf_counter()
        throughput = (e1 - e0) / (t1 - t0) if e0 is not None and e1 is not None else float("nan")
        return latencies, throughput
    finally:
        app.close()


def headless_throughput(seconds: float) -> float:
    """Epochs per second of the same training without the UI (what `kepler train` runs)."""
    sys.path.insert(0, str(ROOT))
    from engine.training.trainer import Hyperparameters, Setup, Trainer

    trainer = Trainer(Setup(input_transform="scale"), Hyperparameters(epochs=10_000_000))
    trainer.train(2000)
    start, done = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        trainer.train(2000)
        done += 2000
    return done / (time.perf_counter() - start)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter measuring windows")
    opts = parser.parse_args()
    window = 3.0 if opts.quick else 8.0
    presses = 10 if opts.quick else 30
    # full speed, and a budget that lasts the whole measurement (5,000 epochs take < 0.1 s)
    full_speed = ["--speed", "0", "--epochs", "10000000"]

    rows = []
    for label, args, cols, lines, target in [
        ("80x24 default", [], 80, 24, 12.0),
        ("80x24 --low-bandwidth", ["--low-bandwidth"], 80, 24, 4.0),
        ("200x50 default", [], 200, 50, None),
    ]:
        rate, first = steady_bandwidth(args, cols, lines, window)
        rows.append((label, rate, first, target))
    print(f"{'terminal':24} {'KB/s':>8} {'first frame':>12}  target")
    for label, rate, first, target in rows:
        verdict = "" if target is None else f"<= {target:g} KB/s {'PASS' if rate <= target else 'MISS'}"
        print(f"{label:24} {rate:8.1f} {first * 1000:9.0f} ms  {verdict}")

    headless = headless_throughput(window / 2)
    latencies, in_app = latency_and_throughput(full_speed, 80, 24, presses, window)
    headless_after = headless_throughput(window / 2)
    reference = statistics.median([headless, headless_after])
    lat_ms = [x * 1000 for x in latencies]
    print()
    print(f"key to screen at full training speed (80x24, {len(lat_ms)} presses): "
          f"median {statistics.median(lat_ms):.1f} ms, p95 {p95(lat_ms):.1f} ms "
          f"(target p95 < 50 ms: {'PASS' if p95(lat_ms) < 50 else 'MISS'})")
    ratio = in_app / reference if reference else float("nan")
    print(f"training throughput: in app {in_app:,.0f} epochs/s, headless {reference:,.0f} epochs/s, "
          f"ratio {ratio:.2f} (target >= 0.70: {'PASS' if ratio >= 0.7 else 'MISS'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
