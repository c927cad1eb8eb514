"""Argument checks shared by the client, the hooks, the operators and the sensor.

Every check returns the value in the form PostHog needs or raises :class:`PostHogConfigError` (a
``ValueError``) whose message names the argument, the value given and what is allowed, always as
``"<field> must be <what is allowed>; got <value>."``. Checks run before any request is sent: the
operators run them once when the DAG is parsed (skipping values that are still templates) and
again on the rendered values at the start of ``execute``. No Airflow imports here.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Iterable
from typing import Any, NoReturn

from airflow_provider.api.errors import PostHogConfigError

UUID_EXAMPLE = "0192f3a0-aaaa-7bbb-8ccc-000000000001"


def invalid(field: str, allowed: str, value: Any, hint: str = "", *, shown: str | None = None) -> NoReturn:
    """Raise the error for ``field``: ``"<field> must be <allowed>; got <value>. <hint>"``.

    :param field: the argument's name.
    :param allowed: what the argument accepts, e.g. ``"an integer >= 1"``.
    :param value: what was given (shown with ``repr``, cut at 80 characters).
    :param hint: what to do instead, when the usual mistake is known.
    :param shown: a description to show instead of ``value``, when the value may carry a secret (a URL
        with credentials).
    :raises PostHogConfigError: always.
    """
    if shown is None:
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
    raise PostHogConfigError(f"{field} must be {allowed}; got {shown}." + (f" {hint}" if hint else ""))


def require_choice(field: str, value: Any, allowed: Collection[str]) -> str:
    """Return ``value`` if it is one of ``allowed``.

    :param field: the argument's name, used in the error.
    :param value: the value to check.
    :param allowed: the accepted values, listed in the error in the order given.
    """
    if not isinstance(value, str) or value not in allowed:
        invalid(field, f"one of {', '.join(map(repr, allowed))}", value)
    return value


def require_int(field: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int (a rendered template like ``"42"`` is accepted) within the bounds.

    :param field: the argument's name, used in the error.
    :param value: the value to check; ``bool`` and fractional floats are refused.
    :param minimum: the smallest accepted value, if any.
    :param maximum: the largest accepted value, if any.
    """
    if minimum is not None and maximum is not None:
        allowed = f"an integer from {minimum} to {maximum}"
    elif minimum is not None:
        allowed = f"an integer >= {minimum}"
    else:
        allowed = "an integer"
    if isinstance(value, bool):
        invalid(field, allowed, value)
    try:
        number = int(value.strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError, OverflowError):
        invalid(field, allowed, value)
    if isinstance(value, float) and number != value:
        invalid(field, allowed, value)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        invalid(field, allowed, value)
    return number


def require_seconds(field: str, value: Any) -> float:
    """Return ``value`` as a positive, finite number of seconds.

    :param field: the argument's name, used in the error.
    :param value: an int or float (``bool`` is refused).
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < float("inf"):
        invalid(field, "a positive number of seconds", value)
    return float(value)


def require_text(field: str, value: Any, *, max_length: int | None = None) -> str:
    """Return ``value`` if it is a non-empty string no longer than ``max_length``.

    :param field: the argument's name, used in the error.
    :param value: the value to check.
    :param max_length: the longest accepted length, if any.
    """
    if not isinstance(value, str) or not value.strip():
        invalid(field, "a non-empty string", value)
    if max_length is not None and len(value) > max_length:
        invalid(field, f"at most {max_length} characters (it has {len(value)})", value)
    return value


def require_str_list(field: str, value: Any) -> list[str]:
    """Return ``value`` as a list of non-empty strings (a list, tuple or other iterable of strings).

    :param field: the argument's name, used in the error.
    :param value: the value to check; a single string is refused (it would be taken letter by letter).
    """
    if isinstance(value, str | bytes | dict) or not isinstance(value, Iterable):
        invalid(field, "a list of strings", value)
    items = list(value)
    for index, item in enumerate(items):
        require_text(f"{field}[{index}]", item)
    return items


def require_uuid(field: str, value: Any, *, hint: str = "") -> str:
    """Return ``value`` as a canonical UUID string (how PostHog names interviews and saved queries).

    :param field: the argument's name, used in the error.
    :param value: a UUID string (any case, surrounding spaces allowed) or a :class:`uuid.UUID`.
    :param hint: added to the error, e.g. where the right id comes from.
    """
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value.strip()))
        except ValueError:
            pass
    invalid(field, f"a UUID such as {UUID_EXAMPLE}", value, hint)


def require_datetime(field: str, value: Any) -> dt.datetime:
    """Return ``value`` as an aware datetime; ISO-8601 strings are parsed and naive values taken as UTC.

    :param field: the argument's name, used in the error.
    :param value: a ``datetime``, ``date`` or ISO-8601 string (``Z`` suffix accepted).
    """
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        parsed = _parse_iso(field, value)
    else:
        invalid(field, "a datetime or an ISO-8601 string", value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.timezone.utc)


def require_timestamp(field: str, value: Any) -> float | None:
    """Return a time as epoch seconds: epoch seconds, a datetime, a date or an ISO-8601 string.

    :param field: the argument's name, used in the error.
    :param value: the time; ``None`` or ``""`` mean "no time" and give ``None``.
    """
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, dt.date | str):
        return require_datetime(field, value).timestamp()
    invalid(field, "a datetime, an ISO-8601 string or epoch seconds", value)


def _parse_iso(field: str, value: str) -> dt.datetime:
    text = value.strip()
    # datetime.fromisoformat takes a trailing "Z" only from Python 3.11 on.
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        pass
    import pendulum  # only for the ISO-8601 forms fromisoformat does not read (e.g. week dates)

    try:
        parsed = pendulum.parse(text, tz="UTC")
    except ValueError:  # pendulum's ParserError is a ValueError
        parsed = None
    if not isinstance(parsed, dt.datetime):
        invalid(field, "an ISO-8601 datetime such as '2026-01-31T09:00:00+00:00'", value)
    return parsed
