"""Run a Trainer in a background thread and stream its snapshots.

One thread owns the trainer: the worker. Everyone else sends it commands (play, pause, step
N, change a hyperparameter, reset, any function of the trainer) through a queue, which it
drains between two epochs; a command never sees half an epoch, and the caller gets the
command's result (or its exception) back. Since only the worker runs commands and takes
snapshots, snapshots reach listeners in the order things happened: after a command has
returned, no snapshot from before it can arrive.

Listeners receive a `Snapshot` after every command and, while training, at most
`snapshot_rate` per second. A slow consumer never builds a backlog if it keeps only the
newest (`snapshots()` does).

`threaded=False` runs every command inline on the caller's thread: tests use it to drive
training step by step, deterministically.
"""
from __future__ import annotations

import asyncio
import queue
import threading
import time
from concurrent.futures import Future, TimeoutError
from typing import AsyncIterator, Callable

import numpy as np

from .trainer import Hyperparameters, Setup, Snapshot, Trainer

Listener = Callable[[Snapshot], None]
_SLICE = 0.02  # longest the worker trains before it looks at the queue again


class BackgroundTrainer:
    def __init__(self, trainer: Trainer | None = None, *, epochs_per_second: float | None = None,
                 snapshot_rate: float = 10.0, threaded: bool = True,
                 clock: Callable[[], float] = time.perf_counter):
        self.trainer = trainer or Trainer()
        self.clock = clock  # what the worker paces epochs and snapshots by (tests pass a fake one)
        self._listeners: list[Listener] = []
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._running = False
        self._pending = 0  # epochs still to run for step(n)
        self._closed = False
        self._speed = epochs_per_second
        self._snapshot_rate = snapshot_rate
        self._threaded = threaded
        self._thread: threading.Thread | None = None
        self._depth = 0  # commands running inside commands (on the worker): one snapshot at the end
        self._latest = self.trainer.snapshot(speed_limit=self._speed)

    # ------------------------------------------------------------------ listening
    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(snapshot)` (from the worker thread) on every delivered snapshot;
        returns a function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    @property
    def latest(self) -> Snapshot:
        """The newest snapshot delivered (for scripts and tests; a UI listens instead)."""
        return self._latest

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
    def call(self, fn: Callable[[Trainer], object], pause: bool = False):
        """Run `fn(trainer)` between two epochs (after pausing the run, if `pause`), publish
        a snapshot of the result, and return what `fn` returned (or raise what it raised;
        the snapshot is published either way, so a listener sees the run as it is)."""
        if pause:
            def paused(trainer: Trainer, fn=fn):
                self._pause(trainer)
                return fn(trainer)

            fn = paused
        if not self._threaded or self._closed or threading.current_thread() is self._thread:
            return self._run_command(fn)  # nobody else touches the trainer: run it here
        future: Future = Future()
        self._commands.put((fn, future))
        self._start_worker()
        while True:
            try:
                return future.result(timeout=1.0)
            except TimeoutError:
                if self._thread is None or not self._thread.is_alive():  # the worker died or closed
                    if future.set_running_or_notify_cancel():
                        return self._run_command(fn)
                    return future.result()

    def play(self) -> None:
        """Train continuously until paused, diverged or the epoch budget is reached."""
        self.call(self._play)

    def pause(self) -> None:
        self.call(self._pause)

    def toggle(self) -> None:
        self.call(lambda t: self._pause(t) if self._running else self._play(t))

    def step(self, epochs: int = 1) -> None:
        """Train exactly `epochs` more epochs (stops early on divergence or the budget)."""
        def step(trainer: Trainer) -> None:
            self._pause(trainer)
            if trainer.can_step:
                self._pending = max(0, int(epochs))
                if not self._threaded:
                    self._train_inline(trainer)

        self.call(step)

    def set_speed(self, epochs_per_second: float | None) -> None:
        """Limit training to this many epochs per second (None: as fast as possible)."""
        def set_speed(_trainer: Trainer) -> None:
            self._speed = epochs_per_second if epochs_per_second and epochs_per_second > 0 else None

        self.call(set_speed)

    def set_hyperparameters(self, **changes) -> Hyperparameters:
        """Steer the run between two epochs; raises SettingError for a bad value."""
        return self.call(lambda t: t.set_hyperparameters(**changes))

    def reset(self, setup: Setup | None = None, dataset=None, hyper: Hyperparameters | None = None,
              resume: bool = False) -> None:
        """Start over, optionally with a new setup, dataset and hyperparameters, and go on
        playing if the run was playing and `resume`; raises SettingError for a bad value
        (and then the current run is kept untouched)."""
        def reset(trainer: Trainer) -> None:
            was_running = self._running
            trainer.reset(setup, dataset=dataset, hyper=hyper)
            self._running = False
            self._pending = 0
            if resume and was_running:
                self._play(trainer)

        self.call(reset)

    def rewind(self, epochs: int = 1) -> int:
        def rewind(trainer: Trainer) -> int:
            self._pause(trainer)
            return trainer.rewind(epochs)

        return self.call(rewind)

    def close(self) -> None:
        """Stop the worker thread (idempotent)."""
        if self._closed:
            return
        if self._thread is not None and self._thread.is_alive() and threading.current_thread() is not self._thread:
            self.call(self._close)
            self._thread.join(timeout=2)
        self._closed = True
        self._running = False
        self._pending = 0

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no epochs are pending and not running (for tests and scripts)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.call(lambda t: not self._running and self._pending == 0):
                return True
            time.sleep(0.002)
        return False

    # ------------------------------------------------------------------ on the worker
    def _play(self, trainer: Trainer) -> None:
        if trainer.can_step:
            self._running = True
            self._pending = 0
            trainer.state = "running"

    def _pause(self, trainer: Trainer) -> None:
        self._running = False
        self._pending = 0
        if trainer.state == "running":
            trainer.state = "paused"

    def _close(self, trainer: Trainer) -> None:
        self._pause(trainer)
        self._closed = True

    def _run_command(self, fn: Callable[[Trainer], object]):
        self._depth += 1
        try:
            return fn(self.trainer)
        finally:
            self._depth -= 1
            if not self._depth:
                self._publish()

    def _train_inline(self, trainer: Trainer) -> None:
        with np.errstate(all="ignore"):
            while self._pending > 0 and trainer.can_step:
                trainer.advance()
                self._pending -= 1
        self._pending = 0
        if trainer.state == "ready" and trainer.epoch:
            trainer.state = "paused"

    def _start_worker(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="kepler-trainer", daemon=True)
            self._thread.start()

    def _drain(self, block_for: float | None) -> None:
        """Run the queued commands; wait up to `block_for` seconds for the first (None:
        until one comes, 0: not at all)."""
        try:
            item = self._commands.get(timeout=block_for) if block_for != 0 else self._commands.get_nowait()
        except queue.Empty:
            return
        while True:
            fn, future = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(self._run_command(fn))
                except BaseException as exc:  # noqa: BLE001 - handed to the caller
                    future.set_exception(exc)
            try:
                item = self._commands.get_nowait()
            except queue.Empty:
                return

    def _loop(self) -> None:
        interval = 1.0 / self._snapshot_rate if self._snapshot_rate else 0.0
        next_publish = 0.0
        next_epoch_at = self.clock()
        trainer = self.trainer
        with np.errstate(all="ignore"):
            while not self._closed:
                training = (self._running or self._pending > 0) and trainer.can_step
                if not training:
                    self._drain(block_for=None)  # idle: sleep until a command comes
                    next_epoch_at = self.clock()
                    continue
                now = self.clock()
                if self._speed and now < next_epoch_at:
                    self._drain(block_for=min(next_epoch_at - now, 0.1))  # the speed limit: wait, but listen
                    continue
                self._drain(block_for=0)
                if self._closed or not ((self._running or self._pending > 0) and trainer.can_step):
                    continue
                slice_end = self.clock() + _SLICE
                while (self._running or self._pending > 0) and trainer.can_step:
                    now = self.clock()
                    if self._speed:
                        if now < next_epoch_at:
                            break
                        # Don't bank time while paused or slow: at most one epoch of catch-up.
                        next_epoch_at = max(next_epoch_at, now - 1.0 / self._speed) + 1.0 / self._speed
                    trainer.advance()
                    if self._pending:
                        self._pending -= 1
                    if now >= slice_end or not self._commands.empty():
                        break
                finished = not trainer.can_step or (not self._running and self._pending == 0)
                if finished:
                    self._running = False
                    self._pending = 0
                    if trainer.state in ("running", "ready"):
                        trainer.state = "paused" if trainer.epoch else "ready"
                now = self.clock()
                if finished or now >= next_publish:
                    next_publish = now + interval
                    self._publish()
                time.sleep(0)  # hand the interpreter to the UI thread between two slices

    def _publish(self) -> None:
        snapshot = self.trainer.snapshot(speed_limit=self._speed)
        self._latest = snapshot
        for listener in list(self._listeners):
            listener(snapshot)
