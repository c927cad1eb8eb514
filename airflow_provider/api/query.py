"""How query parameters travel: the one encoding of values into PostHog's query strings. No I/O."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from airflow_provider.api.errors import PostHogConfigError


def encode_params(params: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """Encode query parameters the way PostHog reads them.

    ``None`` is left out; booleans become ``true``/``false``; lists and dicts travel as one JSON
    value (PostHog's recordings list ``json.loads`` each value); datetimes go as ISO 8601 with their
    UTC offset, and must have one.

    :param params: parameter name → value.
    """
    encoded: list[tuple[str, str]] = []
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, datetime):
            if value.utcoffset() is None:
                raise PostHogConfigError(
                    f"{name} must be a timezone-aware datetime (PostHog needs the UTC offset), got {value!r}."
                )
            text = value.isoformat()
        elif isinstance(value, date):
            text = value.isoformat()
        elif isinstance(value, list | tuple | dict):
            text = json.dumps(value)
        else:
            text = str(value)
        encoded.append((name, text))
    return tuple(encoded)
