"""Argument checks for operators and sensors: each raises ``ValueError`` naming the field and what is allowed.

Operators run these once at construction, skipping values that are still templates or XCom references,
and again at the start of ``execute`` on the rendered values, before any request is sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from typing import Any

import pendulum


def is_unrendered(value: Any) -> bool:
    """Tell whether ``value`` is still a Jinja template or an XCom reference (known only at run time).

    :param value: an operator argument as given to the constructor.
    """
    from airflow.sdk import XComArg

    return isinstance(value, XComArg) or (isinstance(value, str) and "{{" in value)


def require_choice(field: str, value: Any, allowed: Collection[str]) -> str:
    """Return ``value`` if it is one of ``allowed``.

    :param field: the argument's name, used in the error.
    :param value: the value to check.
    :param allowed: the accepted values.
    """
    if value not in allowed:
        raise ValueError(f"{field} must be one of {', '.join(map(repr, allowed))}; got {value!r}.")
    return str(value)


def require_int(field: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int (a rendered template like ``"42"`` is accepted) within the bounds.

    :param field: the argument's name, used in the error.
    :param value: the value to check.
    :param minimum: the smallest accepted value, if any.
    :param maximum: the largest accepted value, if any.
    """
    bounds = (
        f" between {minimum} and {maximum}"
        if minimum is not None and maximum is not None
        else f" >= {minimum}"
        if minimum is not None
        else ""
    )
    if isinstance(value, bool):
        raise ValueError(f"{field} must be an integer{bounds}; got {value!r}.")
    try:
        number = int(str(value).strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{field} must be an integer{bounds}; got {value!r}.") from None
    if isinstance(value, float) and number != value:
        raise ValueError(f"{field} must be an integer{bounds}; got {value!r}.")
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ValueError(f"{field} must be an integer{bounds}; got {value!r}.")
    return number


def require_text(field: str, value: Any, *, max_length: int | None = None) -> str:
    """Return ``value`` if it is a non-empty string no longer than ``max_length``.

    :param field: the argument's name, used in the error.
    :param value: the value to check.
    :param max_length: the longest accepted length, if any.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field} must be a non-empty string; got {value!r}.")
    if max_length is not None and len(value) > max_length:
        raise ValueError(f"{field} must be at most {max_length} characters; got {len(value)}.")
    return value


def require_str_list(field: str, value: Any) -> list[str]:
    """Return ``value`` as a list of non-empty strings (a list, tuple or other iterable of strings).

    :param field: the argument's name, used in the error.
    :param value: the value to check.
    """
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
        raise ValueError(f"{field} must be a list of strings; got {type(value).__name__} {value!r:.80}.")
    items = list(value)
    for index, item in enumerate(items):
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"{field}[{index}] must be a non-empty string; got {item!r}.")
    return items


def require_datetime(field: str, value: Any) -> dt.datetime:
    """Return ``value`` as an aware datetime; ISO-8601 strings are parsed and naive values taken as UTC.

    :param field: the argument's name, used in the error.
    :param value: a ``datetime``, ``date`` or ISO-8601 string.
    """
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            result = pendulum.parse(value.strip(), tz="UTC")
        except ValueError:  # pendulum's ParserError is a ValueError
            result = None
        if not isinstance(result, dt.datetime):
            raise ValueError(
                f"{field} must be an ISO-8601 datetime such as '2026-01-31T09:00:00+00:00'; got {value!r}."
            )
        parsed = result
    else:
        raise ValueError(f"{field} must be a datetime or an ISO-8601 string; got {value!r}.")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.timezone.utc)
