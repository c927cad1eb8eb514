"""The subscription the hook tests create: a weekly email of an insight of the emulator's demo seed."""

from __future__ import annotations

from typing import Any

SUBSCRIPTION: dict[str, Any] = {
    "insight": 101,  # an insight of the emulator's demo seed
    "target_type": "email",
    "target_value": "team@example.com",
    "frequency": "weekly",
    "interval": 1,
    "byweekday": ["monday"],
    "start_date": "2026-12-07T09:00:00Z",
}
