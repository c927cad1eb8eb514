"""Fault injection: for the next N requests matching a method and a path pattern, misbehave on purpose."""

from __future__ import annotations

import dataclasses
import re
import threading
from typing import Any

FAULT_KINDS = ("status", "delay", "drop", "malformed", "after_processing")


@dataclasses.dataclass
class Fault:
    """One injected misbehaviour.

    :param kind: ``status`` (answer ``status`` with an optional ``Retry-After``), ``delay`` (sleep
        ``delay`` seconds, then process normally), ``drop`` (close the connection without answering),
        ``malformed`` (200 with a body that is not JSON), ``after_processing`` (process fully, then
        answer ``status``, or drop the connection when ``status`` is ``None``).
    :param method: HTTP method to match; ``None`` matches any.
    :param path: regular expression searched in the request path.
    :param status: status to answer with (``status`` and ``after_processing``).
    :param times: how many matching requests it applies to; ``None`` for all of them.
    :param retry_after: ``Retry-After`` header value (seconds), if any.
    :param delay: seconds to wait (``delay``; also applied before any other kind).
    """

    kind: str = "status"
    method: str | None = "POST"
    path: str = ""
    status: int | None = 502
    times: int | None = 1
    retry_after: float | None = None
    delay: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {list(FAULT_KINDS)}, got {self.kind!r}")
        try:
            self.pattern = re.compile(self.path)
        except (re.error, TypeError) as error:
            raise ValueError(
                f"fault path must be a regular expression, got {self.path!r}: {error}"
            ) from error
        if self.method is not None:
            self.method = self.method.upper()
        if self.kind == "status" and (self.status is None or not 100 <= self.status <= 599):
            raise ValueError(f"a 'status' fault needs status between 100 and 599, got {self.status!r}")
        if self.kind == "after_processing" and self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(
                f"an 'after_processing' fault needs status between 100 and 599 or None, got {self.status!r}"
            )
        if self.times is not None and (
            isinstance(self.times, bool) or not isinstance(self.times, int) or self.times < 1
        ):
            raise ValueError(
                f"fault times must be a positive integer or None (every match), got {self.times!r}"
            )
        if isinstance(self.delay, bool) or not isinstance(self.delay, (int, float)) or self.delay < 0:
            raise ValueError(f"fault delay must be a non-negative number of seconds, got {self.delay!r}")
        if self.kind == "delay" and self.delay <= 0:
            raise ValueError("a 'delay' fault needs delay > 0 seconds")
        if self.retry_after is not None and (isinstance(self.retry_after, bool) or self.retry_after < 0):
            raise ValueError(
                f"fault retry_after must be a non-negative number or None, got {self.retry_after!r}"
            )

    def as_dict(self) -> dict[str, Any]:
        """The fault as plain data (what the control API returns)."""
        return {
            "kind": self.kind,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "times": self.times,
            "retry_after": self.retry_after,
            "delay": self.delay,
        }


class FaultList:
    """Faults in the order they were added; the first one that matches a request is used up."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        """Queue a fault.

        :param fault: the fault.
        """
        with self._lock:
            self._faults.append(fault)

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request, counting it as used.

        :param method: request method.
        :param path: request path.
        """
        if not self._faults:
            return None
        with self._lock:
            for fault in self._faults:
                if (fault.method is None or fault.method == method) and fault.pattern.search(path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> list[dict[str, Any]]:
        """Faults not used up yet."""
        with self._lock:
            return [fault.as_dict() for fault in self._faults]

    def clear(self) -> None:
        """Forget every fault."""
        with self._lock:
            self._faults.clear()
