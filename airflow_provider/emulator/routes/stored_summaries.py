"""PostHog's stored summaries: ``GET single_session_summaries/`` and ``…/<session_id>/`` (§7.7).

Read-only, like PostHog's ``SingleSessionSummaryViewSet`` (``ee/api/session_summaries.py``): the list
holds the newest summary of each session in a light shape without ``summary``, the detail the whole
row. Both serve only summaries made without a focus area. Rows are written by the summaries routes
(``routes/session_summaries.py``) each time they generate a summary.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from typing import Any

from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped]
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from airflow_provider.emulator.access import admit, emulator_of
from airflow_provider.emulator.errors import not_found, validation_error
from airflow_provider.emulator.pagination import limit_offset
from airflow_provider.emulator.routing import api_route
from airflow_provider.emulator.seed import utc_now
from airflow_provider.emulator.timefmt import parse_datetime

SCOPE = "session_recording:read"
NOT_STORED = "No stored summary found for this session."
ORDER_FIELDS = frozenset(
    f"{prefix}{field}"
    for field in ("created_at", "session_start_time", "session_duration")
    for prefix in ("", "-")
)
DEFAULT_ORDER = "-created_at"
# PostHog's strict relative-date form (``_RELATIVE_DATE_RE``), checked before its looser parser runs.
_RELATIVE_DATE = re.compile(r"^-?(\d+)([hdwmqsy])(Start|End)?$", re.IGNORECASE)
_LIGHT_FIELDS = (
    "id", "session_id", "distinct_id", "session_start_time", "session_duration", "extra_summary_context",
    "created_at", "created_by",
)  # fmt: skip


async def list_stored_summaries(request: Request) -> Response:
    """The newest default-context summary of each session, filtered, ordered and paged.

    :param request: the request.
    """
    if request.method != "GET":
        await admit(request, None)  # a read-only viewset: other methods are no action of a personal key
    await admit(request, SCOPE)
    emulator = emulator_of(request)
    params = request.query_params
    now = utc_now()
    date_from = _date_param(params.get("date_from"), "date_from", now)
    date_to = _date_param(params.get("date_to"), "date_to", now)
    created_by = params.get("created_by")
    if created_by:
        try:
            uuid.UUID(created_by)
        except ValueError:
            raise validation_error("created_by", "invalid", "Must be a valid UUID.") from None
    session_ids = {part.strip() for part in params.get("session_ids", "").split(",") if part.strip()}
    with emulator.state.lock:
        rows = [dict(row) for row in emulator.state.objects["single_session_summaries"].values()]
    # Which sessions count (scope filters) is decided before keeping each session's newest row; what
    # that row says (state filters) after, so the list always agrees with the detail route.
    rows = [
        row
        for row in rows
        if row["extra_summary_context"] is None
        and (date_from is None or _created(row) >= date_from)
        and (date_to is None or _created(row) <= date_to)
        and (not params.get("distinct_id") or row["distinct_id"] == params["distinct_id"])
        and (not created_by or row["created_by"]["uuid"] == created_by)
        and (not session_ids or row["session_id"] in session_ids)
    ]
    newest = [row for row in _newest_per_session(rows) if _state_matches(row, params)]
    order = params.get("order") or DEFAULT_ORDER
    if order not in ORDER_FIELDS:
        raise validation_error(
            "order", "invalid", f"Invalid order field. Allowed values: {', '.join(sorted(ORDER_FIELDS))}."
        )
    field = order.lstrip("-")
    newest.sort(key=lambda row: (row[field], row["session_id"]), reverse=order.startswith("-"))
    return JSONResponse(limit_offset(request, [_light(row) for row in newest]))


async def get_stored_summary(request: Request) -> Response:
    """The newest summary made without a focus area for one session; 404 when there is none.

    :param request: the request.
    """
    if request.method != "GET":
        await admit(request, None)
    await admit(request, SCOPE)
    emulator = emulator_of(request)
    session_id = request.path_params["session_id"]
    with emulator.state.lock:
        rows = [
            dict(row)
            for row in emulator.state.objects["single_session_summaries"].values()
            if row["session_id"] == session_id and row["extra_summary_context"] is None
        ]
    if not rows:
        raise not_found(NOT_STORED)
    return JSONResponse(max(rows, key=_created))


def _newest_per_session(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    newest: dict[str, dict[str, Any]] = {}
    for row in rows:
        kept = newest.get(row["session_id"])
        if kept is None or _created(row) > _created(kept):
            newest[row["session_id"]] = row
    return list(newest.values())


def _state_matches(row: dict[str, Any], params: Any) -> bool:
    """PostHog's ``_apply_state_filters``: unknown values of a filter are ignored, not refused."""
    success = (row["summary"].get("session_outcome") or {}).get("success")
    outcome = params.get("outcome")
    if (outcome == "success" and success is not True) or (outcome == "failure" and success is not False):
        return False
    if outcome == "unknown" and row["summary"].get("session_outcome") is not None:
        return False
    has_exceptions = (params.get("has_exceptions") or "").lower()
    if has_exceptions in ("true", "false") and bool(row["exception_event_ids"]) != (has_exceptions == "true"):
        return False
    visual = (params.get("has_visual_confirmation") or "").lower()
    confirmed = bool((row["run_metadata"] or {}).get("visual_confirmation"))
    return visual not in ("true", "false") or confirmed == (visual == "true")


def _light(row: dict[str, Any]) -> dict[str, Any]:
    """``SingleSessionSummaryMinimalSerializer``: no ``summary``, no ``exception_event_ids``."""
    meta = row["run_metadata"] or {}
    outcome = row["summary"].get("session_outcome")
    return {
        **{field: row[field] for field in _LIGHT_FIELDS},
        "session_outcome": outcome if isinstance(outcome, dict) else None,
        "exception_count": len(row["exception_event_ids"]),
        "has_exceptions": bool(row["exception_event_ids"]),
        "model_used": meta.get("model_used"),
        "visual_confirmation": bool(meta.get("visual_confirmation")),
    }


def _created(row: dict[str, Any]) -> datetime:
    created = parse_datetime(row["created_at"])
    assert created is not None
    return created


def _date_param(value: str | None, name: str, now: datetime) -> datetime | None:
    """``_validate_date_param`` then ``relative_date_parse`` (the project's time zone: UTC here)."""
    if not value:
        return None
    match = _RELATIVE_DATE.match(value)
    if match:
        number, unit, position = int(match.group(1)), match.group(2), match.group(3)
        unit = unit if unit == "M" else unit.lower()  # M: minutes; the other units in any case
        return now - relativedelta(**_delta_mapping(unit, number, position))
    parsed = parse_datetime(value)
    if parsed is None:
        try:
            parsed = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=timezone.utc)  # unpadded, 2026-1-5
        except ValueError:
            raise validation_error(
                name,
                "invalid",
                f"Invalid date value '{value}'. Use an ISO date (YYYY-MM-DD) or relative shorthand "
                "like `-7d`.",
            ) from None
    return parsed


def _delta_mapping(unit: str, number: int, position: str | None) -> dict[str, int]:
    """PostHog's ``get_delta_mapping_for``: how far back, and which fields a Start/End suffix pins."""
    start, end = position == "Start", position == "End"
    if unit == "h":
        pinned = {"minute": 0, "second": 0, "microsecond": 0} if start else {}
        pinned = {"minute": 59, "second": 59, "microsecond": 999999} if end else pinned
        return {"hours": number, **pinned}
    if unit == "d":
        pinned = {"hour": 0, "minute": 0, "second": 0, "microsecond": 0} if start else {}
        pinned = {"hour": 23, "minute": 59, "second": 59, "microsecond": 999999} if end else pinned
        return {"days": number, **pinned}
    if unit == "m":
        return {"months": number, **({"day": 1} if start else {"day": 31} if end else {})}
    if unit == "y":
        return {"years": number, **({"month": 1, "day": 1} if start else {"day": 31} if end else {})}
    if unit == "M":
        return {"minutes": number}
    return {"w": {"weeks": number}, "q": {"weeks": 13 * number}, "s": {"seconds": number}}[unit]


routes = [
    api_route("/single_session_summaries", list_stored_summaries, ["GET", "POST", "PUT", "PATCH", "DELETE"]),
    api_route(
        "/single_session_summaries/{session_id}",
        get_stored_summary,
        ["GET", "POST", "PUT", "PATCH", "DELETE"],
    ),
]
