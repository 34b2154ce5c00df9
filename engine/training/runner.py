"""Run a Trainer in a background thread and stream its snapshots.

The UI (or any caller) never trains on its own thread: it sends commands (play, pause,
step N, change a hyperparameter, reset) and receives `Snapshot`s, at most `snapshot_rate`
per second plus one at every change of state. A slow consumer never builds a backlog: only
the newest snapshot is kept, older ones are dropped.

Commands take effect between two epochs. The trainer itself is only touched while
`_lock` is held, so a command never sees half an epoch.

`threaded=False` runs every command inline on the caller's thread: tests use it to drive
training step by step, deterministically.
"""
from __future__ import annotations

import asyncio
import threading
import time
from contextlib import contextmanager
from typing import AsyncIterator, Callable

import numpy as np

from .trainer import Hyperparameters, Setup, Snapshot, Trainer

Listener = Callable[[Snapshot], None]
_SLICE = 0.02  # longest time the worker holds the lock before letting commands in
_HANDOVER = 0.005  # longest time the worker steps aside for a waiting command


class BackgroundTrainer:
    def __init__(self, trainer: Trainer | None = None, *, epochs_per_second: float | None = None,
                 snapshot_rate: float = 10.0, threaded: bool = True):
        self.trainer = trainer or Trainer()
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._listeners: list[Listener] = []
        self._running = False
        self._pending = 0  # epochs still to run for step(n)
        self._closed = False
        self._speed = epochs_per_second
        self._snapshot_rate = snapshot_rate
        self._threaded = threaded
        self._thread: threading.Thread | None = None
        self._latest = self.trainer.snapshot()
        self._waiting = 0  # commands waiting for the lock (the worker lets them in first)
        self._waiting_lock = threading.Lock()

    @contextmanager
    def _command(self):
        """Hold the lock for a command. The lock is not fair: a worker that releases it and
        takes it straight back can starve a waiting key press for seconds. So a command
        says it is waiting; the worker ends its slice at the next epoch and steps aside
        until the command has the lock."""
        with self._waiting_lock:
            self._waiting += 1
        try:
            self._lock.acquire()
        finally:
            with self._waiting_lock:
                self._waiting -= 1
        try:
            yield
        finally:
            self._lock.release()

    # ------------------------------------------------------------------ listening
    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(snapshot)` (from the worker thread) on every delivered snapshot;
        returns a function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    @property
    def latest(self) -> Snapshot:
        return self._latest

    @property
    def state(self) -> str:
        return self._latest.state

    @property
    def running(self) -> bool:
        return self._running

    @property
    def epochs_per_second(self) -> float | None:
        return self._speed

    async def snapshots(self, rate: float | None = None) -> AsyncIterator[Snapshot]:
        """The current snapshot, then each new one, at most `rate` per second; a consumer
        that falls behind gets the newest and skips the rest."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        box: list[Snapshot] = [self._latest]

        def deliver(snapshot: Snapshot) -> None:
            box[0] = snapshot
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # the loop has closed
                pass

        remove = self.add_listener(deliver)
        try:
            yield box[0]
            while True:
                await event.wait()
                event.clear()
                yield box[0]
                if rate:
                    await asyncio.sleep(1.0 / rate)
        finally:
            remove()

    # ------------------------------------------------------------------ commands
    def play(self) -> None:
        """Train continuously until paused, diverged or the epoch budget is reached."""
        with self._command():
            if not self.trainer.can_step:
                return
            self._running = True
            self._set_state("running")
            self._kick()
        self._publish()

    start = resume = play

    def pause(self) -> None:
        with self._command():
            self._running = False
            self._pending = 0
            if self.trainer.state == "running":
                self._set_state("paused")
        self._publish()

    def toggle(self) -> None:
        self.pause() if self._running else self.play()

    def step(self, epochs: int = 1) -> None:
        """Train exactly `epochs` more epochs (stops early on divergence or the budget)."""
        with self._command():
            if self._running or not self.trainer.can_step:
                return
            self._pending += max(0, int(epochs))
            if not self._threaded:
                self._run_inline()
                return
            self._kick()

    def set_speed(self, epochs_per_second: float | None) -> None:
        """Limit training to this many epochs per second (None: as fast as possible)."""
        with self._command():
            self._speed = epochs_per_second if epochs_per_second and epochs_per_second > 0 else None
            self._wake.notify_all()

    def set_hyperparameters(self, **changes) -> Hyperparameters:
        """Steer the run between two epochs; raises SettingError for a bad value."""
        with self._command():
            hyper = self.trainer.set_hyperparameters(**changes)
        self._publish()
        return hyper

    def reset(self, setup: Setup | None = None, dataset=None, **setup_changes) -> None:
        """Start over, optionally with a new setup; raises SettingError for a bad one
        (and then the current run is kept untouched)."""
        from dataclasses import replace

        with self._command():
            new_setup = replace(setup or self.trainer.setup, **setup_changes) if setup_changes else setup
            self._running = False
            self._pending = 0
            self.trainer.reset(new_setup, dataset=dataset) if (new_setup or dataset) else self.trainer.reset()
        self._publish()

    def rewind(self, epochs: int = 1) -> int:
        with self._command():
            self._running = False
            self._pending = 0
            epoch = self.trainer.rewind(epochs)
        self._publish()
        return epoch

    def call(self, fn: Callable[[Trainer], object]):
        """Run `fn(trainer)` between two epochs and publish the result's effect."""
        with self._command():
            result = fn(self.trainer)
        self._publish()
        return result

    def close(self) -> None:
        """Stop the worker thread (idempotent)."""
        with self._command():
            self._closed = True
            self._running = False
            self._pending = 0
            self._wake.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    cancel = close

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no epochs are pending and not running (for tests and scripts)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._command():
                if not self._running and self._pending == 0:
                    return True
            time.sleep(0.002)
        return False

    # ------------------------------------------------------------------ the worker
    def _set_state(self, state: str) -> None:
        if self.trainer.state not in ("diverged", "finished") or state in ("ready",):
            self.trainer.state = state

    def _kick(self) -> None:
        if not self._threaded:
            return
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="kepler-trainer", daemon=True)
            self._thread.start()
        self._wake.notify_all()

    def _run_inline(self) -> None:
        with np.errstate(all="ignore"):
            while self._pending > 0 and self.trainer.can_step:
                self.trainer.advance()
                self._pending -= 1
        self._pending = 0
        if self.trainer.state == "running":
            self.trainer.state = "paused"
        elif self.trainer.state == "ready" and self.trainer.epoch:
            self.trainer.state = "paused"
        self._publish()

    def _loop(self) -> None:
        interval = 1.0 / self._snapshot_rate if self._snapshot_rate else 0.0
        next_publish = 0.0
        next_epoch_at = time.perf_counter()
        with np.errstate(all="ignore"):
            while True:
                with self._wake:
                    while not self._closed and not self._running and self._pending == 0:
                        self._wake.wait()
                        next_epoch_at = time.perf_counter()
                    if self._closed:
                        return
                    trainer = self.trainer
                    slice_end = time.perf_counter() + _SLICE
                    sleep_for = 0.0
                    while (self._running or self._pending > 0) and trainer.can_step:
                        if self._waiting:
                            break  # a command is waiting: let it in now, not at the end of the slice
                        now = time.perf_counter()
                        if self._speed:
                            if now < next_epoch_at:
                                sleep_for = next_epoch_at - now
                                break
                            # Don't bank time while paused or slow: at most one epoch of catch-up.
                            next_epoch_at = max(next_epoch_at, now - 1.0 / self._speed) + 1.0 / self._speed
                        trainer.advance()
                        if self._pending:
                            self._pending -= 1
                        if now >= slice_end:
                            break
                    finished = not trainer.can_step or (not self._running and self._pending == 0)
                    if finished:
                        self._running = False
                        self._pending = 0
                        if trainer.state in ("running", "ready"):
                            trainer.state = "paused" if trainer.epoch else "ready"
                    now = time.perf_counter()
                    due = finished or now >= next_publish
                    if due:
                        next_publish = now + interval
                        # Delivered under the lock: a command's own snapshot (taken under
                        # it too) can then never be overtaken by an older one from here.
                        self._deliver(trainer.snapshot())
                if sleep_for:
                    with self._wake:
                        self._wake.wait(timeout=min(sleep_for, 0.1))
                elif self._waiting:
                    handover_until = time.perf_counter() + _HANDOVER
                    while self._waiting and time.perf_counter() < handover_until:
                        time.sleep(0.0001)  # until the waiting command holds the lock
                else:
                    time.sleep(0)  # let the UI thread have the interpreter

    def _publish(self) -> None:
        with self._command():
            self._deliver(self.trainer.snapshot())  # in order with the worker's (see _loop)

    def _deliver(self, snapshot: Snapshot) -> None:
        self._latest = snapshot
        for listener in list(self._listeners):
            listener(snapshot)
