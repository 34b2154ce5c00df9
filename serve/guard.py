"""Keeping strangers from wearing the server down before they have logged in.

The ideas are OpenSSH's:

- `Startups` (MaxStartups): connections that have not logged in yet are capped, and
  at the cap an idle one makes room for a new one. 1,100 idle TCP connections used to
  exhaust the common 1024-file limit, and a real student's login then timed out.
- `PasswordGuard` (PerSourcePenalties): a wrong password is answered late, later the more
  wrong ones came from the same address recently, and one address has at most a few
  password checks in flight, however many connections it opens. A class often shares one
  NAT address, so the right password must not wait behind a guesser: once anyone has logged
  in with it, the server keeps a keyed digest of it (HMAC with a random key that lives only
  in memory) and the right password is recognised at once, without a slot and without
  scrypt. scrypt itself runs one at a time, so guessing cannot take both cores.
- `BurstLog`: an event that can repeat thousands of times a second (a refused connection,
  a failed accept) is logged once when a burst starts and once, with a count, after it.
"""
from __future__ import annotations

import asyncio
import collections
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Callable

log = logging.getLogger("kepler.serve")


class BurstLog:
    """Log the first of a burst of like events, then one summary line with how many followed."""

    def __init__(self, quiet: float = 10.0, clock: Callable[[], float] = time.monotonic):
        self.quiet, self._clock = quiet, clock
        self._bursts: dict[str, list] = {}  # key -> [last time, suppressed count]

    def note(self, key: str, message: str, *args, level: int = logging.WARNING) -> bool:
        """Log `message` unless a burst of `key` is going on; True if it was logged."""
        now = self._clock()
        burst = self._bursts.get(key)
        if burst is not None and now - burst[0] < self.quiet:
            burst[0] = now
            burst[1] += 1
            return False
        if burst is not None and burst[1]:
            log.log(level, "... and %d more like it", burst[1])
        self._bursts[key] = [now, 0]
        log.log(level, message, *args)
        return True

    def flush(self) -> None:
        for burst in self._bursts.values():
            if burst[1]:
                log.warning("... and %d more like it", burst[1])
                burst[1] = 0


class Startups:
    """A cap on connections that have not logged in yet, in the order they came.

    At the cap, the oldest one that has not even started to log in (no user name sent:
    an idle socket, a stalled handshake) makes room for the new one; if every one of them
    is logging in, the new one is refused. A flood of idle connections thus only ever
    pushes out its own, while a student typing the password (who has sent a user name)
    keeps their place."""

    def __init__(self, full: int = 100):
        self.full = full
        self._pending: dict[object, bool] = {}  # connection -> has started to log in (dict: in order)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def admit(self, connection) -> tuple[bool, object | None]:
        """(May `connection` stay?, an older connection to close to make room, or None)."""
        evicted = None
        if len(self._pending) >= self.full:
            evicted = next((c for c, started in self._pending.items() if not started), None)
            if evicted is None:
                return False, None
            del self._pending[evicted]
        self._pending[connection] = False
        return True, evicted

    def started(self, connection) -> None:
        """`connection` sent a user name: it is logging in, not idling."""
        if connection in self._pending:
            self._pending[connection] = True

    def done(self, connection) -> None:
        """`connection` logged in or left."""
        self._pending.pop(connection, None)


@dataclass
class _Source:
    failures: collections.deque = field(default_factory=lambda: collections.deque(maxlen=256))
    in_flight: int = 0
    peak_in_flight: int = 0
    waiters: collections.deque = field(default_factory=collections.deque)


class PasswordGuard:
    """Checks the class password for a connection from `address`, with penalties per source."""

    def __init__(self, check: Callable[[str], bool], *, delay: float = 1.0, max_delay: float = 30.0,
                 per_source: int = 3, window: float = 600.0, max_sources: int = 10000,
                 clock: Callable[[], float] = time.monotonic):
        self._check = check  # the slow, true check (scrypt against the stored hash)
        self.delay, self.max_delay, self.per_source, self.window = delay, max_delay, per_source, window
        self.max_sources = max_sources
        self._clock = clock
        self._sources: dict[str, _Source] = {}
        self._scrypt = asyncio.Semaphore(1)
        self._mac_key = secrets.token_bytes(32)
        self._known: bytes | None = None  # HMAC of the right password, once someone used it
        self.slow_checks = 0  # scrypt runs (for tests and the log)

    def _digest(self, password: str) -> bytes:
        return hmac.new(self._mac_key, password.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()

    def _source(self, address: str) -> _Source:
        source = self._sources.get(address)
        if source is None:
            if len(self._sources) >= self.max_sources:
                self._forget_quiet_sources()
            source = self._sources[address] = _Source()
        return source

    def _forget_quiet_sources(self) -> None:
        now = self._clock()
        for address, source in list(self._sources.items()):
            if source.in_flight == 0 and (not source.failures or now - source.failures[-1] > self.window):
                del self._sources[address]

    def recent_failures(self, address: str) -> int:
        source = self._sources.get(address)
        if source is None:
            return 0
        now = self._clock()
        while source.failures and now - source.failures[0] > self.window:
            source.failures.popleft()
        return len(source.failures)

    def penalty(self, address: str) -> float:
        """How long a wrong password from `address` waits for its answer: doubles every 10
        recent failures, up to `max_delay`."""
        return min(self.max_delay, self.delay * 2 ** min(self.recent_failures(address) // 10, 16))

    def peak_in_flight(self, address: str) -> int:
        source = self._sources.get(address)
        return source.peak_in_flight if source else 0

    async def verify(self, address: str, password: str) -> bool:
        digest = self._digest(password)
        if self._known is not None and hmac.compare_digest(digest, self._known):
            return True  # the right password: at once, whatever the address is doing
        source = self._source(address)
        await self._take_slot(source)
        try:
            if self._known is not None:
                ok = False  # the password is known and this is not it: no need for scrypt
            else:
                async with self._scrypt:  # one at a time, off the event loop
                    self.slow_checks += 1
                    ok = await asyncio.get_running_loop().run_in_executor(None, self._check, password)
                if ok:
                    self._known = digest
            if not ok:
                source.failures.append(self._clock())
                await asyncio.sleep(self.penalty(address))
            return ok
        finally:
            self._give_slot(source)

    async def _take_slot(self, source: _Source) -> None:
        if source.in_flight >= self.per_source:
            waiter = asyncio.get_running_loop().create_future()
            source.waiters.append(waiter)
            try:
                await waiter  # the slot is handed over with the wake-up
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._give_slot(source)  # woken and cancelled at once: pass the slot on
                elif waiter in source.waiters:
                    source.waiters.remove(waiter)
                raise
        else:
            source.in_flight += 1
        source.peak_in_flight = max(source.peak_in_flight, source.in_flight)

    def _give_slot(self, source: _Source) -> None:
        while source.waiters:
            waiter = source.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # in_flight stays: the slot changes hands
                return
        source.in_flight -= 1
