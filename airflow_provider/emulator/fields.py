"""DRF field validation with DRF's codes and messages, one field at a time (first error wins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .errors import required, validation_error
from .timefmt import parse_datetime

_MISSING = object()
DATETIME_FORMAT_HELP = (
    "Datetime has wrong format. Use one of these formats instead: "
    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)


def get(body: dict[str, Any], name: str, *, is_required: bool, allow_null: bool = False) -> Any:
    """A field's raw value, or ``_MISSING``; required and null rules applied.

    :param body: the request body.
    :param name: the field.
    :param is_required: raise ``required`` when absent.
    :param allow_null: accept ``null``.
    """
    if name not in body:
        if is_required:
            raise required(name)
        return _MISSING
    value = body[name]
    if value is None and not allow_null:
        raise validation_error(name, "null", "This field may not be null.")
    return value


def is_missing(value: Any) -> bool:
    """Whether :func:`get` found nothing.

    :param value: what :func:`get` returned.
    """
    return value is _MISSING


def string(attr: str, value: Any, *, max_length: int | None = None, allow_blank: bool = True) -> str:
    """DRF ``CharField``: strings and numbers are accepted, other types are not; surrounding
    whitespace is trimmed first (DRF's ``trim_whitespace``, on by default), as PostHog stores it.

    :param attr: field path for errors.
    :param value: the raw value.
    :param max_length: longest allowed length.
    :param allow_blank: accept ``""``.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise validation_error(attr, "invalid", "Not a valid string.")
    text = str(value).strip()
    if not text and not allow_blank:
        raise validation_error(attr, "blank", "This field may not be blank.")
    if max_length is not None and len(text) > max_length:
        raise validation_error(
            attr, "max_length", f"Ensure this field has no more than {max_length} characters."
        )
    return text


def integer(attr: str, value: Any, *, min_value: int | None = None) -> int:
    """DRF ``IntegerField``.

    :param attr: field path for errors.
    :param value: the raw value.
    :param min_value: smallest allowed value.
    """
    if isinstance(value, bool):
        raise validation_error(attr, "invalid", "A valid integer is required.")
    try:
        number = int(value)
        if isinstance(value, float) and number != value:
            raise ValueError(value)
    except (TypeError, ValueError):
        raise validation_error(attr, "invalid", "A valid integer is required.") from None
    if min_value is not None and number < min_value:
        raise validation_error(
            attr, "min_value", f"Ensure this value is greater than or equal to {min_value}."
        )
    return number


def boolean(attr: str, value: Any) -> bool:
    """DRF ``BooleanField`` (``true``/``false`` and their usual spellings).

    :param attr: field path for errors.
    :param value: the raw value.
    """
    truthy = {True, "true", "True", "TRUE", "1", "yes", "on"}
    falsy = {False, "false", "False", "FALSE", "0", "no", "off"}
    if isinstance(value, (bool, int, str)) and value in truthy:
        return True
    if isinstance(value, (bool, int, str)) and value in falsy:
        return False
    raise validation_error(attr, "invalid", "Must be a valid boolean.")


def choice(attr: str, value: Any, choices: tuple[str, ...]) -> str:
    """DRF ``ChoiceField``.

    :param attr: field path for errors.
    :param value: the raw value.
    :param choices: allowed values.
    """
    if not isinstance(value, str) or value not in choices:
        raise validation_error(attr, "invalid_choice", f'"{value}" is not a valid choice.')
    return value


def a_list(attr: str, value: Any) -> list[Any]:
    """DRF ``ListField``'s type check.

    :param attr: field path for errors.
    :param value: the raw value.
    """
    if not isinstance(value, list):
        raise validation_error(
            attr, "not_a_list", f'Expected a list of items but got type "{type(value).__name__}".'
        )
    return value


def date_time(attr: str, value: Any) -> datetime:
    """DRF ``DateTimeField`` (ISO 8601; naive means UTC).

    :param attr: field path for errors.
    :param value: the raw value.
    """
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise validation_error(attr, "invalid", DATETIME_FORMAT_HELP)
    return parsed
