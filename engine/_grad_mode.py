"""Whether operations record the graph for autograd (PyTorch's grad mode).

One process-wide flag, as in PyTorch's default mode. `no_grad()` and `enable_grad()` work
both as context managers and as decorators.
"""
from __future__ import annotations

import functools
import threading


class _GradState(threading.local):
    # The class attribute is what every thread sees until it sets its own flag, so reading the
    # flag is a plain attribute lookup: `Tensor._make` reads it on every operation.
    enabled = True


_state = _GradState()


def is_grad_enabled() -> bool:
    return _state.enabled


def set_grad_enabled(mode: bool) -> None:
    _state.enabled = bool(mode)


class _GradMode:
    _mode = True

    def __new__(cls, fn=None):
        # `@no_grad` without parentheses decorates directly, as PyTorch allows.
        self = super().__new__(cls)
        return self if fn is None else self(fn)

    def __enter__(self):
        self._prev = is_grad_enabled()
        set_grad_enabled(self._mode)
        return self

    def __exit__(self, *exc):
        set_grad_enabled(self._prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Operations inside do not record gradients; in-place parameter updates go here."""

    _mode = False


class enable_grad(_GradMode):
    """Turn gradient recording back on inside a `no_grad()` block."""

    _mode = True
