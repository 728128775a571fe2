"""Waiting for something to happen, in tests: poll until it has, up to a deadline, rather than
sleep a fixed time and hope. A busy machine then makes a test slower, not wrong; a quiet one
makes it faster."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def until(condition: Callable[[], T], *, seconds: float = 30, every: float = 0.05, what: str = "it") -> T:
    """condition()'s first truthy value; fails saying `what` never happened within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {seconds:g} s")
        time.sleep(every)


async def until_async(condition: Callable[[], T | Awaitable[T]], *, seconds: float = 30, every: float = 0.05,
                      what: str = "it") -> T:
    """As :func:`until`, sleeping without blocking the event loop; condition may be async."""
    deadline = time.monotonic() + seconds
    while True:
        found = condition()
        if asyncio.iscoroutine(found):
            found = await found
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {seconds:g} s")
        await asyncio.sleep(every)
