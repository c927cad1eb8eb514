"""What the emulator saw: one entry per API request (never the key, only whether one was sent)."""

from __future__ import annotations

import collections
import re
import threading
from typing import Any

MAX_ENTRIES = 20_000


class RequestLog:
    """A bounded, thread-safe list of request entries, oldest first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: collections.deque[dict[str, Any]] = collections.deque(maxlen=MAX_ENTRIES)

    def add(self, entry: dict[str, Any]) -> None:
        """Record a request.

        :param entry: ``method``, ``path``, ``query``, ``body``, ``status``, ``auth_present``, ``time``
            (and ``fault`` when one was applied).
        """
        with self._lock:
            self._entries.append(entry)

    def select(self, method: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        """Entries matching a method and a path regular expression (searched), oldest first.

        :param method: HTTP method, ``None`` for any.
        :param path: regular expression searched in the path, ``None`` for any.
        """
        pattern = re.compile(path) if path else None
        wanted = method.upper() if method else None
        with self._lock:
            entries = list(self._entries)
        return [
            entry
            for entry in entries
            if (wanted is None or entry["method"] == wanted)
            and (pattern is None or pattern.search(entry["path"]))
        ]

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
