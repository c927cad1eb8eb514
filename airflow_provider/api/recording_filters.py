"""PostHog's recording filters (its ``RecordingsQuery``), checked before they are sent.

PostHog's ``GET session_recordings/`` reads every query parameter with ``json.loads`` (falling back to
the raw text) and validates the whole as ``RecordingsQuery``, a pydantic model that forbids unknown
keys (``posthog/session_recordings/utils.py``: ``query_as_params_to_dict``,
``filter_from_params_to_query``; the fields are those of ``RecordingsQuery`` in
``frontend/src/queries/schema/schema-general.ts``, generated into ``posthog/schema.py``). A mistake
there is a 400 after the request; here it is a :class:`PostHogConfigError` naming the key, before it.

Only the filtering fields are taken: the window (``date_from``/``date_to``), paging (``limit``,
``offset``, ``after``) and the query plumbing (``kind``, ``modifiers``, ``response``, ``tags``,
``user_modified_filters``) belong to whoever lists, not to the filters.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from typing import Any

from airflow_provider.api.arguments import invalid, require_choice

#: RecordingsQuery's ``order`` values (``VALID_RECORDING_ORDERS`` in PostHog's schema).
RECORDING_ORDERS = (
    "start_time",
    "duration",
    "recording_duration",
    "inactive_seconds",
    "active_seconds",
    "console_error_count",
    "click_count",
    "keypress_count",
    "mouse_activity_count",
    "activity_score",
    "recording_ttl",
)
#: ``type`` values of PostHog's property filters (``PropertyFilterType``) a recordings query takes.
PROPERTY_TYPES = (
    "event",
    "person",
    "session",
    "recording",
    "log_entry",
    "cohort",
    "element",
    "group",
    "hogql",
    "feature",
    "event_metadata",
)
#: RecordingsQuery fields set by the listing itself, with what to use instead.
_NOT_FILTERS = {
    "date_from": "the window (date_from, date_to, lookback or the data interval) sets it",
    "date_to": "the window (date_from, date_to, lookback or the data interval) sets it",
    "limit": "paging sets it; use the operator's limit",
    "offset": "paging sets it",
    "after": "paging sets it",
    "kind": "it is always RecordingsQuery",
    "modifiers": "HogQL modifiers are not a filter",
    "response": "it is PostHog's answer, not a filter",
    "tags": "query tags are not a filter",
    "user_modified_filters": "it records UI edits, not a filter",
}


def require_recording_filters(field: str, value: Any) -> dict[str, Any]:
    """Return ``value`` as a dict of RecordingsQuery filters, each key and JSON type checked.

    :param field: the argument's name, used in errors (keys are named ``field['key']``).
    :param value: a dict, or the text a template renders one to (JSON or a Python literal).
    :raises PostHogConfigError: for an unknown key, a key the listing sets itself, or a wrong type.
    """
    filters = _as_mapping(field, value)
    checked: dict[str, Any] = {}
    for key, item in filters.items():
        name = f"{field}[{key!r}]"
        if not isinstance(key, str):
            invalid(f"{field} keys", "strings", key)
        if key in _NOT_FILTERS:
            invalid(name, "left out", item, f"It is not a filter: {_NOT_FILTERS[key]}.")
        checker = _CHECKS.get(key)
        if checker is None:
            invalid(
                field,
                f"a dict with RecordingsQuery filter keys ({', '.join(sorted(_CHECKS))})",
                {key: item},
                f"{key!r} is not one of them.",
            )
        checker(name, item)
        checked[key] = item
    return checked


def _as_mapping(field: str, value: Any) -> Mapping[Any, Any]:
    if isinstance(value, str):
        text = value.strip()
        try:
            value = json.loads(text)
        except ValueError:
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                invalid(field, "a dict of RecordingsQuery filters (or JSON text of one)", text)
    if not isinstance(value, Mapping):
        invalid(field, "a dict of RecordingsQuery filters", value)
    return value


def _bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        invalid(name, "true or false", value)


def _text(name: str, value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        invalid(name, "a non-empty string", value)


def _text_list(name: str, value: Any) -> None:
    if not isinstance(value, list):
        invalid(name, "a list of strings", value)
    for index, item in enumerate(value):
        _text(f"{name}[{index}]", item)


def _object_list(name: str, value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        invalid(name, "a list of filter objects", value)
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            invalid(f"{name}[{index}]", "a filter object (a dict)", item)
    return value


def _property_filters(name: str, value: Any) -> None:
    for index, item in enumerate(_object_list(name, value)):
        _property_filter(f"{name}[{index}]", item)


def _property_filter(name: str, item: Mapping[str, Any]) -> None:
    require_choice(f"{name}['type']", item.get("type"), PROPERTY_TYPES)
    if item["type"] != "cohort" and not isinstance(item.get("key"), str):
        invalid(f"{name}['key']", "a property name (a string)", item.get("key"))
    if "operator" in item and item["operator"] is not None and not isinstance(item["operator"], str):
        invalid(
            f"{name}['operator']", "an operator name such as 'exact', 'gt' or 'icontains'", item["operator"]
        )


def _entities(name: str, value: Any, id_type: type) -> None:
    for index, item in enumerate(_object_list(name, value)):
        entity = f"{name}[{index}]"
        entity_id = item.get("id")
        if id_type is str and entity_id is not None and not isinstance(entity_id, str):
            invalid(f"{entity}['id']", "an event name (a string) or null for any event", entity_id)
        if id_type is int and (isinstance(entity_id, bool) or not isinstance(entity_id, int)):
            invalid(f"{entity}['id']", "an action id (an integer)", entity_id)
        if "properties" in item:
            _property_filters(f"{entity}['properties']", item["properties"])


def _events(name: str, value: Any) -> None:
    _entities(name, value, str)


def _actions(name: str, value: Any) -> None:
    _entities(name, value, int)


def _operand(name: str, value: Any) -> None:
    require_choice(name, value, ("AND", "OR"))


def _order(name: str, value: Any) -> None:
    require_choice(name, value, RECORDING_ORDERS)


def _order_direction(name: str, value: Any) -> None:
    require_choice(name, value, ("ASC", "DESC"))


def _comment_text(name: str, value: Any) -> None:
    if not isinstance(value, Mapping):
        invalid(name, "a recording property filter object (a dict)", value)
    _property_filter(name, value)


_CHECKS = {
    "events": _events,
    "actions": _actions,
    "properties": _property_filters,
    "console_log_filters": _property_filters,
    "having_predicates": _property_filters,
    "comment_text": _comment_text,
    "filter_test_accounts": _bool,
    "operand": _operand,
    "person_uuid": _text,
    "distinct_ids": _text_list,
    "session_ids": _text_list,
    "order": _order,
    "order_direction": _order_direction,
}
