"""One app process on its own pseudo-terminal, pumped with asyncio.

A pseudo-terminal is a pair: the app gets the slave end as its stdin, stdout and stderr and
believes it sits in a real terminal; we keep the master end and carry bytes between it and
the student. The app is the leader of a new session with the pty as its controlling
terminal, so:

- a window-size change (TIOCSWINSZ on the master) makes the kernel send SIGWINCH to the
  app, which redraws at the new size, exactly as in a local terminal;
- the app and anything it starts form one process group, which we end as a whole.

Reading the master is non-blocking and driven by `loop.add_reader`; when the student's
side cannot keep up, `pause_output()` stops reading, the pty's buffer fills and the app's
own writes block: back-pressure reaches the app instead of piling up in our memory.
"""
from __future__ import annotations

import asyncio
import errno
import fcntl
import os
import pty
import signal
import struct
import termios
from typing import Callable, Sequence

READ_SIZE = 65536
MAX_PENDING_INPUT = 65536  # keys the app has not read yet; a huge paste beyond this is dropped


def _adopt_terminal() -> None:
    """Runs in the child between fork and exec (already a session leader): make the pty,
    which is its stdin, the controlling terminal, so SIGWINCH and hang-ups reach it."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def set_window_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class PtyApp:
    """`argv` running on a fresh pty of `cols` x `rows`; what it writes goes to `on_output`."""

    def __init__(self, argv: Sequence[str], *, cols: int, rows: int, env: dict[str, str],
                 on_output: Callable[[bytes], None], cwd: str | None = None):
        self.argv = list(argv)
        self.cols, self.rows = cols, rows
        self.env = env
        self.cwd = cwd
        self.on_output = on_output
        self._master: int | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._pending = bytearray()  # input waiting for room in the pty
        self._paused = False
        self._eof = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode if self._proc else None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        master, slave = pty.openpty()
        try:
            set_window_size(slave, self.cols, self.rows)
            self._proc = await asyncio.create_subprocess_exec(
                *self.argv, stdin=slave, stdout=slave, stderr=slave, env=self.env, cwd=self.cwd,
                start_new_session=True, preexec_fn=_adopt_terminal, close_fds=True,
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            # Our copy of the slave must go: the master reports EOF only once no process
            # holds the slave open, and that is how we learn the app is gone.
            os.close(slave)
        self._master = master
        os.set_blocking(master, False)
        self._loop.add_reader(master, self._read)

    # ------------------------------------------------------------------ app -> student
    def _read(self) -> None:
        try:
            data = os.read(self._master, READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:  # EIO: every holder of the slave has closed it
            if exc.errno != errno.EIO:
                raise
            data = b""
        if not data:
            self._loop.remove_reader(self._master)
            self._eof.set()
            return
        self.on_output(data)

    def pause_output(self) -> None:
        if not self._paused and self._master is not None and not self._eof.is_set():
            self._loop.remove_reader(self._master)
        self._paused = True

    def resume_output(self) -> None:
        if self._paused and self._master is not None and not self._eof.is_set():
            self._loop.add_reader(self._master, self._read)
        self._paused = False

    # ------------------------------------------------------------------ student -> app
    def write(self, data: bytes) -> None:
        if self._master is None or self._eof.is_set():
            return
        if self._pending:
            self._pending += data[: MAX_PENDING_INPUT - len(self._pending)]
            return
        try:
            written = os.write(self._master, data)
        except BlockingIOError:
            written = 0
        except OSError:
            return  # the app is gone; its exit is reported through wait()
        if written < len(data):
            self._pending += data[written:MAX_PENDING_INPUT]
            self._loop.add_writer(self._master, self._flush)

    def _flush(self) -> None:
        try:
            written = os.write(self._master, self._pending)
        except BlockingIOError:
            return
        except OSError:
            written = len(self._pending)
        del self._pending[:written]
        if not self._pending:
            self._loop.remove_writer(self._master)

    def resize(self, cols: int, rows: int) -> None:
        """Tell the app its window changed; the kernel sends it SIGWINCH."""
        self.cols, self.rows = cols, rows
        if self._master is not None:
            set_window_size(self._master, cols, rows)

    # ------------------------------------------------------------------ the end
    async def wait(self, drain_timeout: float = 1.0) -> int:
        """The app's exit status, once it has exited and what it wrote has been read."""
        returncode = await self._proc.wait()
        try:
            # Its last frame (the terminal restored) is still in the pty: read it before
            # closing. A grandchild still holding the slave must not keep us waiting.
            await asyncio.wait_for(self._eof.wait(), drain_timeout)
        except asyncio.TimeoutError:
            pass
        self._close()
        return returncode

    async def stop(self, grace: float = 1.0) -> int:
        """End the app's whole process group: a hang-up first, then SIGKILL after `grace`."""
        if self._proc is None:
            return 0
        if self._proc.returncode is None:
            # SIGCONT as well, in case the CPU budget had it stopped: a stopped process
            # does not act on SIGHUP until it runs again.
            for sig in (signal.SIGHUP, signal.SIGCONT):
                self._signal_group(sig)
            try:
                await asyncio.wait_for(self._proc.wait(), grace)
            except asyncio.TimeoutError:
                self._signal_group(signal.SIGKILL)
                await self._proc.wait()
        self._close()
        return self._proc.returncode

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self._proc.pid, sig)
        except ProcessLookupError:
            pass

    def _close(self) -> None:
        if self._master is None:
            return
        self._loop.remove_reader(self._master)
        self._loop.remove_writer(self._master)
        os.close(self._master)
        self._master = None
        self._eof.set()
