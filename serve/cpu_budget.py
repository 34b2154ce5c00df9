"""Holding each session to its share of the CPU, whatever keys the student presses.

Every session starts at a capped training speed (`kepler --speed`), but the app lets a
student speed up (`]`, up to "as fast as the machine goes"), and one run at full speed
keeps a core busy: on a 2-core server two such students would slow the other eighteen.
So the server measures instead of trusting: a token bucket per session.

- A session earns `share` seconds of CPU per second of wall time (0.25 = a quarter of one
  core), and may save up to `burst` seconds (start-up and short bursts are free).
- Every `period` the CPU it really used is read from /proc/PID/stat and taken off.
- Below zero, its process group is stopped (SIGSTOP); it resumes (SIGCONT) once the
  credit it keeps earning while stopped is back above zero.

A session that stays within its share is never touched; one that exceeds it runs at its
share, in short stop-and-go steps, and only its own screen feels sluggish.

A share per session is not enough for a room: 20 students x 0.25 is five cores, and on a
2-core server four students flat out (a core between them) pushed everyone else's p95
latency to 104 ms. So the room has a budget too (`room`, in cores): what the light
sessions use now is theirs, and the sessions that want more than their share (the greedy
ones) split what is left of the room, each earning at most its share and at least
`floor`. A room of light sessions is never touched, whatever its size.
"""
from __future__ import annotations

import asyncio
import os
import signal
import time
from dataclasses import dataclass
from typing import Callable

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process `pid` (all its threads), or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may hold spaces and parentheses: count after the last ')'.
    fields = stat[stat.rindex(b")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime: fields 14 and 15


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


@dataclass
class _Account:
    last_cpu: float
    credit: float
    stopped: bool = False
    greedy: bool = False  # it spent more than it earned lately: it takes from the room's leftover


class CpuBudget:
    """A token bucket of CPU seconds per process group (the group's leader is `pid`)."""

    def __init__(self, share: float, *, burst: float = 2.0, period: float = 0.1, room: float | None = None,
                 floor: float | None = None,
                 read_cpu: Callable[[int], float | None] = cpu_seconds,
                 send_signal: Callable[[int, int], None] = _signal_group,
                 clock: Callable[[], float] = time.monotonic):
        if share <= 0:
            raise ValueError("a CPU share must be positive")
        self.share, self.burst, self.period = share, burst, period
        self.room = room  # cores for every session together (None: no room budget)
        self.floor = share / 5 if floor is None else min(floor, share)
        self._read_cpu, self._send_signal, self._clock = read_cpu, send_signal, clock
        self._accounts: dict[int, _Account] = {}
        self._last_tick = clock()

    def add(self, pid: int) -> None:
        used = self._read_cpu(pid)
        if used is not None:
            self._accounts[pid] = _Account(last_cpu=used, credit=self.burst)

    def remove(self, pid: int) -> None:
        account = self._accounts.pop(pid, None)
        if account and account.stopped:
            self._send_signal(pid, signal.SIGCONT)

    def is_stopped(self, pid: int) -> bool:
        account = self._accounts.get(pid)
        return bool(account and account.stopped)

    def greedy_share(self, light_use: float, greedy: int) -> float:
        """What each greedy session earns per second when the light ones use `light_use` cores."""
        if self.room is None or greedy == 0:
            return self.share
        return max(self.floor, min(self.share, (self.room - light_use) / greedy))

    def tick(self) -> None:
        now = self._clock()
        elapsed = now - self._last_tick
        self._last_tick = now
        used: dict[int, float] = {}
        for pid, account in list(self._accounts.items()):
            used_total = self._read_cpu(pid)
            if used_total is None:  # exited; the session will remove it
                del self._accounts[pid]
                continue
            used[pid] = used_total - account.last_cpu
            account.last_cpu = used_total
        greedy = [a for pid, a in self._accounts.items() if a.greedy]
        light_use = sum(used[pid] for pid, a in self._accounts.items() if not a.greedy) / elapsed if elapsed > 0 else 0.0
        rates = {True: self.greedy_share(light_use, len(greedy)), False: self.share}
        for pid, account in self._accounts.items():
            account.credit = min(self.burst, account.credit + rates[account.greedy] * elapsed) - used[pid]
            # Greedy from its first overspend until its credit is whole again.
            account.greedy = account.credit < self.burst - self.share * self.period
            if account.credit < 0 and not account.stopped:
                self._send_signal(pid, signal.SIGSTOP)
                account.stopped = True
            elif account.credit >= 0 and account.stopped:
                self._send_signal(pid, signal.SIGCONT)
                account.stopped = False

    async def run(self) -> None:
        """Tick every `period` until cancelled; every stopped session is resumed on the way out."""
        try:
            while True:
                await asyncio.sleep(self.period)
                self.tick()
        finally:
            for pid in list(self._accounts):
                self.remove(pid)
