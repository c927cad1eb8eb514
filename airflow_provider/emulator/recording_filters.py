"""The recording filters the emulator evaluates on its seeded sessions (docs/posthog-api.md §7.6).

PostHog turns a ``RecordingsQuery`` into ClickHouse SQL
(``posthog/session_recordings/queries/session_recording_list_from_query.py``): ``having_predicates``
compare the replay summary's aggregates (``duration``, ``click_count``, ``console_error_count``, ...);
``events`` need every named event (``operand`` AND: ``hasAll``) or one of them (OR: ``hasAny``);
``properties`` match person, session or event properties; ``console_log_filters`` match the console
log entries; ``operand`` joins events, properties and console filters; ``filter_test_accounts``
applies the team's ``test_account_filters``. What the seed cannot answer (actions, cohorts, HogQL,
console messages, comments, ...) is refused with a 400 that says the emulator does not model it,
rather than answered wrongly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from airflow_provider.emulator.errors import validation_error

#: The replay aggregates ``having_predicates`` compare (the ``recording`` property type).
AGGREGATES = (
    "duration",
    "active_seconds",
    "inactive_seconds",
    "click_count",
    "keypress_count",
    "mouse_activity_count",
    "console_log_count",
    "console_warn_count",
    "console_error_count",
)
_SESSION_PROPERTIES_PREFIX = "$"
_EVENT_PROPERTIES = {
    "$current_url": lambda event: event["current_url"],
    "$pathname": lambda event: event["pathname"],
    "$host": lambda event: urlparse(event["current_url"]).netloc,
}
#: Console log levels and the aggregate that counts them.
_LOG_LEVELS = {
    "log": "console_log_count",
    "info": "console_log_count",
    "warn": "console_warn_count",
    "error": "console_error_count",
}

Predicate = Callable[[dict[str, Any], dict[str, Any]], bool]


def aggregates(session: dict[str, Any]) -> dict[str, int]:
    """The replay summary's numbers for a seeded session, as the listing shows them.

    :param session: a seeded session.
    """
    return {
        "duration": session["duration"],
        "active_seconds": session["active_seconds"],
        "inactive_seconds": session["duration"] - session["active_seconds"],
        "click_count": session["click_count"],
        "keypress_count": session["keypress_count"],
        "mouse_activity_count": session["click_count"] * 7 + session["keypress_count"],
        "console_log_count": len(session["events"]),
        "console_warn_count": 0,
        "console_error_count": session["console_error_count"],
    }


def recording_filter(params: dict[str, Any], test_account_filters: list[dict[str, Any]]) -> Predicate:
    """A predicate ``(session, aggregates) -> bool`` for the filters in ``params``.

    :param params: the decoded query parameters.
    :param test_account_filters: the team's filters, applied with ``filter_test_accounts``.
    :raises APIError: 400 for a malformed filter or one the emulator does not model.
    """
    required: list[Predicate] = []
    optional: list[Predicate] = []
    for name in ("actions", "comment_text"):
        if params.get(name):
            raise _not_modeled(name, f"{name} filters")
    events = _list(params, "events")
    for index, entity in enumerate(events):
        optional.append(_event_entity(f"events__{index}", entity))
    for index, prop in enumerate(_list(params, "properties")):
        optional.append(_property(f"properties__{index}", prop))
    for index, prop in enumerate(_list(params, "console_log_filters")):
        optional.append(_console_filter(f"console_log_filters__{index}", prop))
    for index, prop in enumerate(_list(params, "having_predicates")):
        required.append(_aggregate(f"having_predicates__{index}", prop))
    test_accounts = params.get("filter_test_accounts", False)
    if not isinstance(test_accounts, bool):
        raise validation_error("filter_test_accounts", "invalid", "Input should be a valid boolean")
    if test_accounts:
        required.extend(_property("filter_test_accounts", prop) for prop in test_account_filters)
    operand = params.get("operand", "AND")
    if operand not in ("AND", "OR"):
        raise validation_error("operand", "invalid", "Input should be 'AND' or 'OR'")
    join = all if operand == "AND" else any

    def matches(session: dict[str, Any], numbers: dict[str, Any]) -> bool:
        return all(check(session, numbers) for check in required) and (
            not optional or join(check(session, numbers) for check in optional)
        )

    return matches


def _list(params: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = params.get(name) or []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise validation_error(name, "invalid", "Input should be a valid list of filter objects")
    return value


def _not_modeled(attr: str, what: str) -> Exception:
    return validation_error(
        attr,
        "invalid",
        f"The emulator does not model {what}; PostHog would evaluate it. See docs/emulator.md.",
    )


def _event_entity(attr: str, entity: dict[str, Any]) -> Predicate:
    name = entity.get("id")
    if name is not None and not isinstance(name, str):
        raise validation_error(attr, "invalid", "An event filter's id is an event name or null.")
    checks = [_property(f"{attr}__properties__{i}", p) for i, p in enumerate(entity.get("properties") or [])]

    def matches(session: dict[str, Any], _: dict[str, Any]) -> bool:
        return any(
            (name is None or event["event"] == name)
            and all(check({**session, "events": [event]}, {}) for check in checks)
            for event in session["events"]
        )

    return matches


def _property(attr: str, prop: dict[str, Any]) -> Predicate:
    kind, key = prop.get("type"), prop.get("key")
    if kind == "person" and isinstance(key, str):
        return _compare(attr, prop, lambda session: [session["person"]["properties"].get(key)])
    if kind == "session" and isinstance(key, str) and key.startswith(_SESSION_PROPERTIES_PREFIX):
        return _compare(attr, prop, lambda session: [session["entry"].get(key)])
    if kind == "event" and key in _EVENT_PROPERTIES:
        read = _EVENT_PROPERTIES[key]
        return _compare(attr, prop, lambda session: [read(event) for event in session["events"]])
    raise _not_modeled(attr, f"{kind!r} property filters on {key!r}")


def _console_filter(attr: str, prop: dict[str, Any]) -> Predicate:
    if prop.get("type") != "log_entry" or prop.get("key") != "level":
        raise _not_modeled(attr, "console log filters other than the level")
    value = prop.get("value")
    levels = [str(level) for level in (value if isinstance(value, list) else [value])]
    unknown = [level for level in levels if level not in _LOG_LEVELS]
    if unknown or prop.get("operator", "exact") != "exact":
        raise validation_error(
            attr, "invalid", f"A console level filter takes levels {sorted(_LOG_LEVELS)} with 'exact'."
        )
    counters = [_LOG_LEVELS[level] for level in levels]
    return lambda _, numbers: any(numbers[counter] > 0 for counter in counters)


def _aggregate(attr: str, prop: dict[str, Any]) -> Predicate:
    key = prop.get("key")
    if prop.get("type") != "recording" or key not in AGGREGATES:
        raise _not_modeled(attr, f"having_predicates on {prop.get('type')!r} {key!r}")
    return _compare(attr, prop, lambda _session: [], numbers_key=str(key))


def _compare(
    attr: str, prop: dict[str, Any], values_of: Callable[[dict[str, Any]], list[Any]], numbers_key: str = ""
) -> Predicate:
    """Compare with PostHog's property operators; a session matches when any of its values does."""
    operator = prop.get("operator") or "exact"
    wanted = prop.get("value")
    test = _OPERATORS.get(operator)
    if test is None:
        raise _not_modeled(attr, f"the {operator!r} operator")
    if operator in _NUMERIC and (isinstance(wanted, bool) or not isinstance(wanted, int | float)):
        raise validation_error(attr, "invalid", f"The {operator!r} operator compares with a number.")
    negative = operator in _NEGATIVE

    def matches(session: dict[str, Any], numbers: dict[str, Any]) -> bool:
        values = [numbers[numbers_key]] if numbers_key else values_of(session)
        results = [test(value, wanted) for value in values]
        # A negative operator must hold for every value (PostHog's countIf(positive) = 0).
        return all(results) if negative else any(results)

    return matches


def _choices(wanted: Any) -> list[str]:
    return [str(item) for item in (wanted if isinstance(wanted, list) else [wanted])]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "exact": lambda value, wanted: value is not None and _text(value) in _choices(wanted),
    "is_not": lambda value, wanted: _text(value) not in _choices(wanted),
    "icontains": lambda value, wanted: value is not None and _text(wanted).lower() in _text(value).lower(),
    "not_icontains": lambda value, wanted: _text(wanted).lower() not in _text(value).lower(),
    "regex": lambda value, wanted: value is not None and re.search(_text(wanted), _text(value)) is not None,
    "not_regex": lambda value, wanted: re.search(_text(wanted), _text(value)) is None,
    "is_set": lambda value, _: value is not None,
    "is_not_set": lambda value, _: value is None,
    "gt": lambda value, wanted: value is not None and float(value) > wanted,
    "gte": lambda value, wanted: value is not None and float(value) >= wanted,
    "lt": lambda value, wanted: value is not None and float(value) < wanted,
    "lte": lambda value, wanted: value is not None and float(value) <= wanted,
}
_NUMERIC = frozenset({"gt", "gte", "lt", "lte"})
_NEGATIVE = frozenset({"is_not", "not_icontains", "not_regex", "is_not_set"})
