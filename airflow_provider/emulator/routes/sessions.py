"""``GET sessions/property_definitions/`` and ``GET sessions/values/`` (docs/posthog-api.md section 7.2)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from airflow_provider.emulator.access import admit, emulator_of
from airflow_provider.emulator.errors import validation_error
from airflow_provider.emulator.routing import api_route
from airflow_provider.emulator.throttle import CLICKHOUSE_CLASSES

_UTM = ("source", "campaign", "medium", "term", "content")
_CLICK_IDS = (
    "gclid",
    "gad_source",
    "gclsrc",
    "dclid",
    "gbraid",
    "wbraid",
    "fbclid",
    "msclkid",
    "twclid",
    "li_fat_id",
    "mc_cid",
    "igshid",
    "ttclid",
    "_kx",
    "irclid",
)
#: Session properties of PostHog's v2 sessions table, with their property types.
PROPERTY_TYPES: dict[str, str] = {
    "$start_timestamp": "DateTime",
    "$end_timestamp": "DateTime",
    "$entry_current_url": "String",
    "$entry_pathname": "String",
    "$entry_hostname": "String",
    "$end_current_url": "String",
    "$end_pathname": "String",
    "$end_hostname": "String",
    "$entry_referring_domain": "String",
    **{f"$entry_utm_{name}": "String" for name in _UTM},
    **{f"$entry_{name}": "String" for name in _CLICK_IDS},
    "$pageview_count": "Numeric",
    "$autocapture_count": "Numeric",
    "$screen_count": "Numeric",
    "$channel_type": "String",
    "$session_duration": "Duration",
    "$is_bounce": "Boolean",
    "$last_external_click_url": "String",
    "$vitals_lcp": "Numeric",
}
#: PostHog answers at most this many values (``LIMIT 20`` in its values query).
VALUES_LIMIT = 20
#: PostHog's default channel types, offered for ``$channel_type`` whatever the data holds.
DEFAULT_CHANNEL_TYPES = (
    "Cross Network",
    "Paid Search",
    "Paid Social",
    "Paid Video",
    "Paid Shopping",
    "Paid Unknown",
    "Direct",
    "Organic Search",
    "Organic Social",
    "Organic Video",
    "Organic Shopping",
    "Push",
    "SMS",
    "Audio",
    "Email",
    "Referral",
    "Affiliate",
    "Unknown",
)


async def property_definitions(request: Request) -> Response:
    """Session property names, filtered by ``search`` words (any case) and ``is_numerical``; not paginated.

    As in PostHog (``is_numerical.lower() == "true"``), ``is_numerical`` given with ``true`` in any
    case keeps the numeric properties only, and given with any other value (``false``, ``1``, empty)
    keeps the others.

    :param request: the request.
    """
    await admit(request, "query:read", CLICKHOUSE_CLASSES)
    words = re.findall(r"\w+", request.query_params.get("search", "").lower())
    is_numerical = request.query_params.get("is_numerical")
    wanted = None if is_numerical is None else is_numerical.lower() == "true"
    results: list[dict[str, Any]] = [
        {
            "id": name,
            "name": name,
            "is_numerical": kind in ("Numeric", "Duration"),
            "property_type": kind,
            "is_seen_on_filtered_events": None,
            "tags": [],
        }
        for name, kind in PROPERTY_TYPES.items()
        if all(word in name.lower() for word in words)
        and (wanted is None or (kind in ("Numeric", "Duration")) == wanted)
    ]
    return JSONResponse({"count": len(results), "results": results})


async def property_values(request: Request) -> Response:
    """Values a session property takes in the seeded sessions: at most 20, most frequent first.

    ``value`` filters as PostHog's ``ILIKE '%value%'`` (any case; ``%`` and ``_`` in it are
    wildcards, since PostHog does not escape them). Equally frequent values come in alphabetical
    order (ClickHouse leaves their order open; the emulator fixes one so answers repeat).
    ``$channel_type`` offers PostHog's default channel types that contain ``value``, whatever the
    sessions hold; boolean properties offer ``1`` and ``0``.

    :param request: the request.
    """
    await admit(request, "query:read", CLICKHOUSE_CLASSES)
    key = request.query_params.get("key")
    if not key:
        raise validation_error(None, "invalid", "Key not provided")
    search = request.query_params.get("value") or None
    with emulator_of(request).state.lock:
        sessions = list(emulator_of(request).state.sessions.values())
    values = _values(key, search, sessions)
    return JSONResponse({"results": [{"name": value} for value in values], "refreshing": False})


def _values(key: str, search: str | None, sessions: list[dict[str, Any]]) -> list[str]:
    kind = PROPERTY_TYPES.get(key)
    if kind == "Boolean":
        return ["1", "0"]
    if key == "$channel_type":
        return [
            channel for channel in DEFAULT_CHANNEL_TYPES if not search or search.lower() in channel.lower()
        ]
    if kind != "String":
        return []
    seen = [session["entry"].get(key) for session in sessions]
    matches = _ilike(search) if search else None
    counts = Counter(
        value
        for value in seen
        if isinstance(value, str) and value and (matches is None or matches.fullmatch(value))
    )
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [value for value, _ in ranked[:VALUES_LIMIT]]


def _ilike(search: str) -> re.Pattern[str]:
    """The regular expression of ClickHouse's ``ILIKE '%search%'``: ``%`` any text, ``_`` one character,
    a backslash escapes the next character."""
    pattern, escaped = ".*", False
    for char in search:
        if escaped:
            pattern += re.escape(char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            pattern += {"%": ".*", "_": "."}.get(char, re.escape(char))
    return re.compile(pattern + ".*", re.IGNORECASE | re.DOTALL)


routes = [
    api_route("/sessions/property_definitions", property_definitions, ["GET"]),
    api_route("/sessions/values", property_values, ["GET"]),
]
