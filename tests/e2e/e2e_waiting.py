"""Poll a condition until it holds, failing with a message that says what was awaited."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

POLL_SECONDS = 0.3


def wait_until(check: Callable[[], T], *, timeout: float, what: str, interval: float = POLL_SECONDS) -> T:
    """Call ``check`` every ``interval`` s until it returns something truthy; return that.

    :param check: the condition; its truthy result is returned.
    :param timeout: seconds before giving up.
    :param what: what is awaited, for the failure message.
    :param interval: seconds between calls.
    :raises AssertionError: when ``timeout`` passes first.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout:g} s waiting for {what}.")
        time.sleep(interval)
