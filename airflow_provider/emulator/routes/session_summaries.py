"""``POST session_summaries/create_session_summaries_individually/`` (docs/posthog-api.md section 7.1).

Synchronous like PostHog: the answer is a dict keyed by session id. Summaries are cached per
(session, focus area); with ``gateway_timeout`` set, a slow request is answered 504 at that time
while its work goes on and fills the cache, as PostHog's gateway does.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from airflow_provider.emulator import fields
from airflow_provider.emulator.access import admit, emulator_of
from airflow_provider.emulator.bodies import json_object
from airflow_provider.emulator.errors import gateway_response, validation_error
from airflow_provider.emulator.routing import api_route
from airflow_provider.emulator.runtime import Emulator
from airflow_provider.emulator.summaries import RECORDING_NOT_FOUND, TOO_SHORT, summarize
from airflow_provider.emulator.throttle import CLICKHOUSE_CLASSES

MAX_SESSION_IDS = 300
FOCUS_AREA_MAX_LENGTH = 500
CLOUD_ONLY = "Session summaries are only supported in PostHog Cloud"


async def create_session_summaries_individually(request: Request) -> Response:
    """Summarise each session on its own.

    :param request: the request.
    """
    await admit(request, "session_recording:read", CLICKHOUSE_CLASSES)
    emulator = emulator_of(request)
    if emulator.config.self_hosted:
        raise validation_error(None, "invalid", CLOUD_ONLY)
    session_ids, focus_area = _validate(await json_object(request))
    work = asyncio.ensure_future(_summarise(emulator, session_ids, focus_area))
    timeout = emulator.config.gateway_timeout
    if timeout is not None:
        done, _ = await asyncio.wait({work}, timeout=timeout)
        if not done:
            return gateway_response(504)
    return JSONResponse(await work)


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


async def _summarise(emulator: Emulator, session_ids: list[str], focus_area: str) -> dict[str, Any]:
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
    )
]
