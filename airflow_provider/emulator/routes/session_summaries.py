"""``POST session_summaries/create_session_summaries_individually/`` (docs/posthog-api.md section 7.1) and
``POST session_summaries/create_session_summaries/``, the group summary (§7.8).

Synchronous like PostHog: the individual answer is a dict keyed by session id, the group answer the
patterns found. Summaries are cached per (session, focus area), and each one generated is also
stored as a ``single_session_summaries`` row (§7.7), as PostHog's workflow stores it; the group call
summarises its sessions through the same cache, as PostHog's group workflow does. With
``gateway_timeout`` set, a slow request is answered 504 at that time while its work goes on and
fills the cache, as PostHog's gateway does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from airflow_provider.emulator import fields
from airflow_provider.emulator.access import admit, emulator_of
from airflow_provider.emulator.bodies import json_object
from airflow_provider.emulator.errors import gateway_response, server_error, validation_error
from airflow_provider.emulator.routing import api_route
from airflow_provider.emulator.runtime import Emulator
from airflow_provider.emulator.seed import utc_now
from airflow_provider.emulator.summaries import (
    RECORDING_NOT_FOUND,
    TOO_SHORT,
    group_patterns,
    stored_summary,
    summarize,
)
from airflow_provider.emulator.throttle import CLICKHOUSE_CLASSES

MAX_SESSION_IDS = 300
FOCUS_AREA_MAX_LENGTH = 500
CLOUD_ONLY = "Session summaries are only supported in PostHog Cloud"
GROUP_NOT_FOUND = (
    "Session recordings not found for the following IDs (the recording may not have been captured, "
    "may have expired, or may belong to a different team): "
)
#: The text of PostHog's own test of the group view; its workflow's exact wording was not found.
SKIPPED_REASON = "Recording is too short or has no usable events"


async def _admitted_summary_request(request: Request) -> tuple[Emulator, list[str], str]:
    """What both summary calls check first, in PostHog's order: scope and throttle, Cloud, the body."""
    await admit(request, "session_recording:read", CLICKHOUSE_CLASSES)
    emulator = emulator_of(request)
    if emulator.config.self_hosted:
        raise validation_error(None, "invalid", CLOUD_ONLY)
    session_ids, focus_area = _validate(await json_object(request))
    return emulator, session_ids, focus_area


async def create_session_summaries_individually(request: Request) -> Response:
    """Summarise each session on its own.

    :param request: the request.
    """
    emulator, session_ids, focus_area = await _admitted_summary_request(request)
    return await _answer(emulator, _summarize(emulator, session_ids, focus_area))


async def create_session_summaries(request: Request) -> Response:
    """Summarise a group of sessions into the patterns found across them (PostHog's group summary).

    Every id must be a recorded session, else 400 (``find_sessions_timestamps``). Sessions too short
    to summarise are listed in ``failed_sessions`` as ``skipped``; when none can be summarised, or no
    pattern is seen, PostHog's workflow fails and the answer is a 500.

    :param request: the request.
    """
    emulator, session_ids, focus_area = await _admitted_summary_request(request)
    with emulator.state.lock:
        missing = [
            session_id
            for session_id in dict.fromkeys(session_ids)
            if session_id not in emulator.state.sessions
        ]
    if missing:
        raise validation_error(None, "invalid", GROUP_NOT_FOUND + ", ".join(missing))
    return await _answer(emulator, _summarize_group(emulator, session_ids, focus_area))


async def _answer(emulator: Emulator, work: Coroutine[Any, Any, dict[str, Any]]) -> Response:
    """The work's result, or the gateway's 504 at ``gateway_timeout`` while the work goes on."""
    task = asyncio.ensure_future(work)
    timeout = emulator.config.gateway_timeout
    if timeout is not None:
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            return gateway_response(504)
    return JSONResponse(await task)


async def _summarize_group(emulator: Emulator, session_ids: list[str], focus_area: str) -> dict[str, Any]:
    """``EnrichedSessionGroupSummaryPatternsList`` plus ``failed_sessions``, as PostHog's view answers."""
    unique = list(dict.fromkeys(session_ids))
    results = await _summarize(emulator, unique, focus_area)
    summaries = {session_id: result for session_id, result in results.items() if "error" not in result}
    patterns = group_patterns(summaries, focus_area) if summaries else []
    if not patterns:
        raise server_error(
            f"Failed to generate session summaries for sessions {_logging_session_ids(unique)}. "
            "Please try again later."
        )
    skipped = [
        session_id for session_id, result in results.items() if result.get("error") == TOO_SHORT["error"]
    ]
    return {
        "patterns": patterns,
        "failed_sessions": [
            {"session_id": session_id, "category": "skipped", "reason": SKIPPED_REASON}
            for session_id in skipped
        ],
    }


def _logging_session_ids(session_ids: list[str]) -> str:
    """PostHog's ``logging_session_ids``: the ids as a Python list, cut at 150 characters."""
    return f"Session IDs: {str(session_ids)[:150]}"


def cache_key(session_id: str, focus_area: str) -> str:
    """Where a summary is cached.

    :param session_id: the session.
    :param focus_area: the focus area ("" for none).
    """
    return f"{session_id}|{focus_area}"


def _validate(body: dict[str, Any]) -> tuple[list[str], str]:
    raw_ids = fields.a_list("session_ids", fields.get(body, "session_ids", is_required=True))
    session_ids = [
        fields.string(f"session_ids__{index}", value, allow_blank=False)
        for index, value in enumerate(raw_ids)
    ]
    if not session_ids:
        raise validation_error("session_ids", "min_length", "Ensure this field has at least 1 elements.")
    if len(session_ids) > MAX_SESSION_IDS:
        raise validation_error(
            "session_ids", "max_length", f"Ensure this field has no more than {MAX_SESSION_IDS} elements."
        )
    raw_focus = fields.get(body, "focus_area", is_required=False)
    focus_area = (
        ""
        if fields.is_missing(raw_focus)
        else fields.string("focus_area", raw_focus, max_length=FOCUS_AREA_MAX_LENGTH)
    )
    return session_ids, focus_area


async def _summarize(emulator: Emulator, session_ids: list[str], focus_area: str) -> dict[str, Any]:
    """Summaries for every id, generating only what is neither cached nor in progress.

    A (session, focus area) that another request is summarising is awaited, not summarised again:
    PostHog runs one workflow per session (id ``session-summary:single:<team>:<session>``).
    """
    state = emulator.state
    mine: dict[str, asyncio.Future[dict[str, Any]]] = {}
    others: dict[str, asyncio.Future[dict[str, Any]]] = {}
    with state.lock:
        in_progress = state.summaries_in_progress
        for session_id in dict.fromkeys(session_ids):
            session = state.sessions.get(session_id)
            key = cache_key(session_id, focus_area)
            if session is None or session["too_short"] or key in state.summary_cache:
                continue
            if key in in_progress:
                others[session_id] = in_progress[key]
            else:
                mine[session_id] = in_progress[key] = asyncio.get_running_loop().create_future()
    try:
        if mine and emulator.config.summary_latency:
            await asyncio.sleep(emulator.config.summary_latency)
        with state.lock:
            for session_id, future in mine.items():
                key = cache_key(session_id, focus_area)
                summary = summarize(state.sessions[session_id], focus_area)
                if in_progress is state.summaries_in_progress:  # not reset meanwhile
                    state.summary_cache[key] = summary
                    state.summary_generations[key] = state.summary_generations.get(key, 0) + 1
                    row = stored_summary(
                        state.sessions[session_id], summary, focus_area, utc_now(), state.user
                    )
                    state.objects["single_session_summaries"][row["id"]] = row
                future.set_result(summary)
    finally:
        with state.lock:
            for session_id, future in mine.items():
                in_progress.pop(cache_key(session_id, focus_area), None)
                future.cancel()
    if mine:
        state.save()
    if others:
        await asyncio.wait(others.values())
    done = {**others, **mine}
    results: dict[str, Any] = {}
    with state.lock:
        for session_id in session_ids:
            session = state.sessions.get(session_id)
            outcome = done.get(session_id)
            if session is None:
                results[session_id] = RECORDING_NOT_FOUND
            elif session["too_short"]:
                results[session_id] = TOO_SHORT
            elif outcome is not None and not outcome.cancelled():
                results[session_id] = outcome.result()
            else:
                results[session_id] = state.summary_cache.get(cache_key(session_id, focus_area)) or summarize(
                    session, focus_area
                )
    return results


routes = [
    api_route(
        "/session_summaries/create_session_summaries_individually",
        create_session_summaries_individually,
        ["POST"],
    ),
    api_route("/session_summaries/create_session_summaries", create_session_summaries, ["POST"]),
]
