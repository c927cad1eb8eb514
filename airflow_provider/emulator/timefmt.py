"""Datetime reading and writing the way DRF does it (ISO 8601, UTC as ``Z``)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

_RELATIVE = re.compile(r"^-(\d+)([hdwmy])$")
_RELATIVE_UNITS = {
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
    "m": timedelta(days=30),
    "y": timedelta(days=365),
}


def iso(value: datetime | None) -> str | None:
    """DRF's ``DateTimeField`` output: ISO 8601 with ``Z`` for UTC.

    :param value: an aware datetime or ``None``.
    """
    if value is None:
        return None
    text = value.astimezone(timezone.utc).isoformat()
    return text.removesuffix("+00:00") + "Z"


def parse_datetime(value: str) -> datetime | None:
    """Read an ISO 8601 date or datetime (naive means UTC); ``None`` when it cannot be read.

    :param value: text such as ``2025-06-01T10:00:00Z``, ``2025-06-01T10:00:00+02:00`` or ``2025-06-01``.
    """
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def parse_relative_or_absolute(value: str, now: datetime) -> datetime | None:
    """Read PostHog's relative dates (``-3d``, ``-24h``, ``-1w``) or an absolute date/datetime.

    :param value: the filter value.
    :param now: the moment relative dates count back from.
    """
    match = _RELATIVE.match(value.strip()) if isinstance(value, str) else None
    if match:
        return now - _RELATIVE_UNITS[match.group(2)] * int(match.group(1))
    return parse_datetime(value)
