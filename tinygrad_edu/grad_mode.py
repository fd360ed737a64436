"""Grad mode: are new ops recorded in the graph? One flag per thread, as in PyTorch.

The lowest floor of the package: it imports nothing from it. The engine reads the flag
for every op (`Function.apply`) and sets it for the length of a backward pass (on with
`create_graph=True`, so that the backward is recorded too; off otherwise).
"""

from __future__ import annotations

import contextlib
import threading


class _GradMode(threading.local):
    enabled = True  # the class attribute is each new thread's starting value


_grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    """True when new ops record the graph (the default); False inside `no_grad()`."""
    return _grad_mode.enabled


class _SetGradMode(contextlib.ContextDecorator):
    """Context manager and decorator that sets grad mode for this thread, then restores it."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._previous: list[bool] = []  # a stack, so one instance can be nested

    def _recreate_cm(self):
        # As a decorator, each call gets its own instance: two threads calling the same
        # decorated function must not share one stack of previous modes.
        return type(self)(self.enabled)

    def __enter__(self):
        self._previous.append(_grad_mode.enabled)
        _grad_mode.enabled = self.enabled
        return self

    def __exit__(self, *exc):
        _grad_mode.enabled = self._previous.pop()
        return False


def no_grad() -> _SetGradMode:
    """Do not record ops (no `grad_fn`, nothing saved): for evaluation and optimizer steps.

    Works as `with tg.no_grad():` and as a decorator `@tg.no_grad()`. The mode is per
    thread: another thread keeps recording.
    """
    return _SetGradMode(False)


def enable_grad() -> _SetGradMode:
    """Record ops again, for example inside a `no_grad()` block."""
    return _SetGradMode(True)
