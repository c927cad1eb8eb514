"""The one way a test waits for a condition: poll it until a deadline, then fail saying what was awaited.

No test sleeps a fixed time hoping something has happened by then; it names the condition and waits
for it, so a slow machine makes the test slower, never red.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

POLL_SECONDS = 0.1


def wait_until(
    check: Callable[[], T | None], *, what: str, timeout: float = 10.0, interval: float = POLL_SECONDS
) -> T:
    """Call ``check`` every ``interval`` s until it returns something truthy; return that.

    :param check: the condition; its truthy result is returned.
    :param what: what is awaited, for the failure message (e.g. "the job to complete").
    :param timeout: seconds before giving up.
    :param interval: seconds between calls.
    :raises AssertionError: naming ``what`` and the last value, when ``timeout`` passes first.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout:g} s waiting for {what} (last value {result!r}).")
        time.sleep(interval)


async def await_until(
    check: Callable[[], T | None], *, what: str, timeout: float = 10.0, interval: float = POLL_SECONDS
) -> T:
    """:func:`wait_until` for async tests: the event loop keeps running (triggers go on) between calls.

    :param check: the condition, a plain function; its truthy result is returned.
    :param what: what is awaited, for the failure message.
    :param timeout: seconds before giving up.
    :param interval: seconds between calls.
    :raises AssertionError: naming ``what`` and the last value, when ``timeout`` passes first.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout:g} s waiting for {what} (last value {result!r}).")
        await asyncio.sleep(interval)
