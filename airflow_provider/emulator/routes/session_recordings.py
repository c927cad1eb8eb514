"""``GET session_recordings/``: recordings of a time range (docs/posthog-api.md section 7.6).

``{"results", "has_next", "version"}`` paged by ``limit``/``offset``; each query value is read
with ``json.loads`` falling back to the raw string; unknown keys are refused like PostHog's
pydantic model does. The filters are evaluated by :mod:`airflow_provider.emulator.recording_filters`.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from airflow_provider.emulator.access import admit, emulator_of
from airflow_provider.emulator.errors import validation_error
from airflow_provider.emulator.recording_filters import aggregates, recording_filter
from airflow_provider.emulator.routing import api_route
from airflow_provider.emulator.seed import utc_now
from airflow_provider.emulator.throttle import CLICKHOUSE_CLASSES
from airflow_provider.emulator.timefmt import iso, parse_relative_or_absolute

DEFAULT_LIMIT = 50
DEFAULT_DATE_FROM = "-3d"
RETENTION_DAYS = 30
#: Fields of PostHog's ``RecordingsQuery`` accepted here (filters the emulator does not model are
#: refused by recording_filters; the rest of these are accepted and ignored).
KNOWN_PARAMETERS = frozenset(
    {
        "actions",
        "after",
        "comment_text",
        "console_log_filters",
        "date_from",
        "date_to",
        "distinct_ids",
        "events",
        "filter_test_accounts",
        "having_predicates",
        "kind",
        "limit",
        "modifiers",
        "offset",
        "operand",
        "order",
        "order_direction",
        "person_uuid",
        "properties",
        "response",
        "session_ids",
        "session_recording_id",
        "user_modified_filters",
        "personal_api_key",
    }
)
_ORDER_FIELDS = {
    "start_time": "start_time",
    "duration": "duration",
    "recording_duration": "duration",
    "active_seconds": "active_seconds",
    "click_count": "click_count",
    "console_error_count": "console_error_count",
}


async def list_session_recordings(request: Request) -> Response:
    """Recordings whose start lies in ``[date_from, date_to]``, newest first by default.

    :param request: the request.
    """
    await admit(request, "session_recording:read", CLICKHOUSE_CLASSES)
    emulator = emulator_of(request)
    params = {key: _loads(value) for key, value in request.query_params.items()}
    unknown = sorted(set(params) - KNOWN_PARAMETERS)
    if unknown:
        raise validation_error(None, "invalid", _extra_forbidden(unknown, params))
    now = utc_now()
    date_from = _date(params, "date_from", DEFAULT_DATE_FROM, now)
    date_to = _date(params, "date_to", None, now)
    limit = _integer_at_least(params, "limit", DEFAULT_LIMIT, minimum=1)
    offset = _integer_at_least(params, "offset", 0, minimum=0)
    matches_filters = recording_filter(params, emulator.state.seed.project.get("test_account_filters", []))
    with emulator.state.lock:
        sessions = list(emulator.state.sessions.values())
        summarized = {key.split("|", 1)[0] for key in emulator.state.summary_cache}
    matching = [
        session
        for session in sessions
        if (date_from is None or session["start_time"] >= date_from)
        and (date_to is None or session["start_time"] <= date_to)
        and _matches_lists(session, params)
        and matches_filters(session, aggregates(session))
    ]
    order = _ORDER_FIELDS.get(str(params.get("order", "start_time")), "start_time")
    descending = str(params.get("order_direction", "DESC")).upper() != "ASC"
    matching.sort(key=lambda session: (session[order], session["id"]), reverse=descending)
    page = matching[offset : offset + limit + 1]
    results = [_recording(session, session["id"] in summarized, now) for session in page[:limit]]
    return JSONResponse({"results": results, "has_next": len(page) > limit, "version": 4})


def _loads(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _extra_forbidden(unknown: list[str], params: dict[str, Any]) -> str:
    lines = [f"{len(unknown)} validation error{'s' if len(unknown) > 1 else ''} for RecordingsQuery"]
    for key in unknown:
        lines += [
            key,
            f"  Extra inputs are not permitted [type=extra_forbidden, input_value={params[key]!r}, "
            f"input_type={type(params[key]).__name__}]",
        ]
    return "\n".join(lines)


def _date(params: dict[str, Any], name: str, default: str | None, now: datetime) -> datetime | None:
    raw = params.get(name, default)
    if raw is None:
        return None
    parsed = parse_relative_or_absolute(str(raw), now)
    if parsed is None:
        raise validation_error(
            name, "invalid", f"Invalid date: {raw!r}. Use an ISO 8601 datetime or a relative date like -3d."
        )
    return parsed


def _integer_at_least(params: dict[str, Any], name: str, default: int, *, minimum: int) -> int:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise validation_error(name, "invalid", f"{name} must be an integer >= {minimum}.")
    return value


def _matches_lists(session: dict[str, Any], params: dict[str, Any]) -> bool:
    session_ids = params.get("session_ids")
    if isinstance(session_ids, list) and session["id"] not in session_ids:
        return False
    distinct_ids = params.get("distinct_ids")
    if isinstance(distinct_ids, list) and session["distinct_id"] not in distinct_ids:
        return False
    person_uuid = params.get("person_uuid")
    return not (isinstance(person_uuid, str) and session["person"]["uuid"] != person_uuid)


def _recording(session: dict[str, Any], has_summary: bool, now: datetime) -> dict[str, Any]:
    expiry = session["start_time"] + timedelta(days=RETENTION_DAYS)
    person = dict(session["person"], last_seen_at=iso(session["end_time"]))
    numbers = aggregates(session)
    return {
        "id": session["id"],
        "distinct_id": session["distinct_id"],
        "viewed": False,
        "viewers": [],
        "recording_duration": numbers["duration"],
        "active_seconds": numbers["active_seconds"],
        "inactive_seconds": numbers["inactive_seconds"],
        "start_time": iso(session["start_time"]),
        "end_time": iso(session["end_time"]),
        "click_count": numbers["click_count"],
        "keypress_count": numbers["keypress_count"],
        "mouse_activity_count": numbers["mouse_activity_count"],
        "console_log_count": numbers["console_log_count"],
        "console_warn_count": numbers["console_warn_count"],
        "console_error_count": numbers["console_error_count"],
        "start_url": session["events"][0]["current_url"],
        "person": person,
        "retention_period_days": RETENTION_DAYS,
        "expiry_time": iso(expiry),
        "recording_ttl": max((expiry - now).days, 0),
        "storage": "object_storage",  # required by PostHog's OpenAPI schema ("object_storage" or "..._lts")
        "snapshot_source": "web",
        "snapshot_library": "web",
        "ongoing": False,
        "activity_score": round(min(session["click_count"] / 10, 1.0) * 100, 1),
        "has_summary": has_summary,
        "summary_outcome": None,
        "external_references": [],
        "matches_filters": None,
    }


routes = [api_route("/session_recordings", list_session_recordings, ["GET"])]
