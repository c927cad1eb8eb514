"""Deterministic session summaries in PostHog's shape (docs/posthog-api.md §7.1), built from seeded events.

A real summary comes from an LLM; here the same session and focus area always give the same text,
so tests can compare results across retries. Also here: the row PostHog stores for each summary it
makes (``SingleSessionSummary``, §7.7) and the patterns of a group summary (§7.8).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from .seed import JOURNEY
from .timefmt import iso

RECORDING_NOT_FOUND = {
    "error": "recording_not_found",
    "error_message": "No recording found for this session ID. The recording may not have been captured, "
    "may have expired, or may belong to a different team.",
}
TOO_SHORT = {
    "error": "no_events_or_too_short",
    "error_message": "Recording has no usable events to summarize (typically because it is too short).",
}
_DESCRIPTIONS = {path: description for path, description, _ in JOURNEY}


def summarize(session: dict[str, Any], focus_area: str) -> dict[str, Any]:
    """The summary of one session: segments (one per page), key actions, segment and session outcomes.

    :param session: a seeded session with its events.
    :param focus_area: what the user asked the summary to focus on ("" for none).
    """
    total_seconds = max(session["duration"], 1)
    events = session["events"]
    segments: list[dict[str, Any]] = []
    key_actions: list[dict[str, Any]] = []
    segment_outcomes: list[dict[str, Any]] = []
    for segment_index, path in enumerate(dict.fromkeys(event["pathname"] for event in events)):
        page_events = [
            (position, event) for position, event in enumerate(events) if event["pathname"] == path
        ]
        first, last = page_events[0][1], page_events[-1][1]
        following = events[page_events[-1][0] + 1] if page_events[-1][0] + 1 < len(events) else None
        seconds = int(((following or last)["timestamp"] - first["timestamp"]).total_seconds()) or 1
        actions = [
            _key_action(session, position, event)
            for position, event in page_events
            if event["event"] != "$pageview"
        ]
        failures = sum(1 for action in actions if action["exception"] is not None)
        abandoned = following is None and len(segments) > 0 and failures > 0
        segments.append(
            {
                "index": segment_index,
                "name": _DESCRIPTIONS.get(path, f"Visited {path}"),
                "start_event_id": _short_id(first["uuid"]),
                "end_event_id": _short_id(last["uuid"]),
                "meta": {
                    "duration": seconds,
                    "duration_percentage": round(seconds / total_seconds, 4),
                    "events_count": len(page_events),
                    "events_percentage": round(len(page_events) / len(events), 4),
                    "key_action_count": len(actions),
                    "failure_count": failures,
                    "abandonment_count": int(abandoned),
                    "confusion_count": sum(1 for action in actions if action["confusion"]),
                    "exception_count": failures,
                },
            }
        )
        key_actions.append({"segment_index": segment_index, "events": actions})
        succeeded = failures == 0
        segment_outcomes.append(
            {
                "segment_index": segment_index,
                "summary": f"{_DESCRIPTIONS.get(path, 'Visited ' + path)} "
                + ("without problems" if succeeded else "but hit an error"),
                "success": succeeded,
            }
        )
    success = all(outcome["success"] for outcome in segment_outcomes)
    last_step = segments[-1]["name"].lower() if segments else "nothing"
    description = (
        f"User completed the journey, last step: {last_step}"
        if success
        else f"User ran into errors and stopped after: {last_step}"
    )
    if focus_area:
        description += f" (focus: {focus_area})"
    return {
        "segments": segments,
        "key_actions": key_actions,
        "segment_outcomes": segment_outcomes,
        "session_outcome": {"description": description, "success": success},
    }


def _key_action(session: dict[str, Any], position: int, event: dict[str, Any]) -> dict[str, Any]:
    is_exception = event["event"] == "$exception"
    if is_exception:
        description = f"Saw an error on {event['pathname']}"
    elif event["event_type"] == "submit":
        description = f"Submitted the form on {event['pathname']}"
    else:
        description = f'Clicked "{event["element_text"]}"'
    return {
        "description": description,
        "abandonment": False,
        "confusion": is_exception and event["pathname"] == "/checkout",
        "exception": ("blocking" if event["pathname"] in ("/checkout", "/signup") else "non-blocking")
        if is_exception
        else None,
        "event_id": _short_id(event["uuid"]),
        "timestamp": iso(event["timestamp"]),
        "milliseconds_since_start": int((event["timestamp"] - session["start_time"]).total_seconds() * 1000),
        "window_id": event["window_id"],
        "current_url": event["current_url"],
        "event": event["event"],
        "event_type": event["event_type"],
        "event_index": position,
        "session_id": session["id"],
        "event_uuid": event["uuid"],
    }


def _short_id(event_uuid: str) -> str:
    """PostHog's 8-character event id handed to the LLM (the tail of the event's UUID)."""
    return event_uuid.replace("-", "")[-8:]


#: What the emulator writes as ``run_metadata.model_used`` (PostHog writes the LLM's model name).
MODEL_USED = "posthog-emulator"


def stored_summary(
    session: dict[str, Any],
    summary: dict[str, Any],
    focus_area: str,
    created_at: datetime,
    user: dict[str, Any],
) -> dict[str, Any]:
    """The row PostHog keeps for a summary it made (``SingleSessionSummaryManager.add_summary``).

    :param session: the seeded session.
    :param summary: its summary.
    :param focus_area: the focus area it was made for ("" for none: ``extra_summary_context`` null).
    :param created_at: when it was made.
    :param user: who asked (PostHog's ``UserBasicSerializer`` shape).
    """
    exception_event_ids = [
        event["event_uuid"]
        for segment in summary["key_actions"]
        for event in segment["events"]
        if event["exception"] and event["event_uuid"]
    ]
    return {
        "id": str(uuid.uuid4()),
        "session_id": session["id"],
        "distinct_id": session["distinct_id"],
        "session_start_time": iso(session["start_time"]),
        "session_duration": session["duration"],
        "summary": summary,
        "exception_event_ids": exception_event_ids[:100],
        "extra_summary_context": {"focus_area": focus_area} if focus_area else None,
        "run_metadata": {
            "model_used": MODEL_USED,
            "visual_confirmation": False,
            "visual_confirmation_results": None,
            "failed_sessions": [],
        },
        "created_at": iso(created_at),
        "created_by": dict(user),
    }


#: Patterns the emulator looks for: (name, description, severity, indicators, which key actions show it).
_PATTERNS: tuple[tuple[str, str, str, tuple[str, ...], Any], ...] = (
    (
        "Blocking errors stop the journey",
        "Users hit an error on the signup or checkout page and could not go on.",
        "critical",
        ("blocking exception", "journey ends after the error"),
        lambda action: action["exception"] == "blocking",
    ),
    (
        "Confusion at checkout",
        "Users saw an error at checkout and hesitated before deciding what to do.",
        "high",
        ("error shown at checkout", "repeated attempts"),
        lambda action: action["confusion"],
    ),
    (
        "Errors users work around",
        "Users saw an error that did not stop them and carried on.",
        "medium",
        ("non-blocking exception",),
        lambda action: action["exception"] == "non-blocking",
    ),
    (
        "Forms submitted",
        "Users filled in and submitted a form.",
        "low",
        ("form submission",),
        lambda action: action["event_type"] == "submit",
    ),
)
_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}
_CONTEXT_EVENTS = 3


def group_patterns(summaries: dict[str, dict[str, Any]], focus_area: str) -> list[dict[str, Any]]:
    """The patterns of a group summary (``EnrichedSessionGroupSummaryPatternsList.patterns``).

    Only patterns seen in at least one session are kept, sorted critical, high, medium, low (a stable
    sort, as PostHog's ``combine_patterns_with_events_context``); stats are computed as PostHog's
    ``_calculate_pattern_stats`` does, over the sessions that were summarised.

    :param summaries: session id -> its summary, for the sessions that were summarised.
    :param focus_area: what the group summary was asked to focus on ("" for none).
    """
    patterns: list[dict[str, Any]] = []
    for pattern_id, (name, description, severity, indicators, shows) in enumerate(_PATTERNS, start=1):
        events = [
            _event_context(summary, segment, position)
            for summary in summaries.values()
            for segment in summary["key_actions"]
            for position, action in enumerate(segment["events"])
            if shows(action)
        ]
        if not events:
            continue
        patterns.append(
            {
                "pattern_id": pattern_id,
                "pattern_name": name,
                "pattern_description": description + (f" (focus: {focus_area})" if focus_area else ""),
                "severity": severity,
                "indicators": list(indicators),
                "events": events,
                "stats": _pattern_stats(events, len(summaries)),
            }
        )
    patterns.sort(key=lambda pattern: _SEVERITY_ORDER[pattern["severity"]])
    return patterns


def _event_context(summary: dict[str, Any], segment: dict[str, Any], position: int) -> dict[str, Any]:
    """``PatternAssignedEventSegmentContext`` of one key action: its segment and the actions around it.

    Like PostHog's ``_enrich_pattern_assigned_event_with_session_summary_data``, the neighbouring
    events carry the target event's ``event_id``, ``event_uuid`` and ``session_id``.
    """
    actions = segment["events"]
    target = actions[position]
    index = segment["segment_index"]
    outcome = next(item for item in summary["segment_outcomes"] if item["segment_index"] == index)
    name = next(item["name"] for item in summary["segments"] if item["index"] == index)

    def enriched(action: dict[str, Any]) -> dict[str, Any]:
        return {
            "event_id": target["event_id"],
            "event_uuid": target["event_uuid"],
            "session_id": target["session_id"],
            **{
                field: action[field]
                for field in (
                    "description", "abandonment", "confusion", "exception", "timestamp",
                    "milliseconds_since_start", "window_id", "current_url", "event", "event_type",
                    "event_index",
                )
            },
        }  # fmt: skip

    return {
        "segment_name": name,
        "segment_outcome": outcome["summary"],
        "segment_success": outcome["success"],
        "segment_index": index,
        "previous_events_in_segment": [
            enriched(action) for action in actions[max(0, position - _CONTEXT_EVENTS) : position]
        ],
        "target_event": enriched(target),
        "next_events_in_segment": [
            enriched(action) for action in actions[position + 1 : position + 1 + _CONTEXT_EVENTS]
        ],
    }


def _pattern_stats(events: list[dict[str, Any]], total_sessions: int) -> dict[str, Any]:
    sessions = {event["target_event"]["session_id"] for event in events}
    segments = {f"{event['target_event']['session_id']}_{event['segment_index']}": event for event in events}
    successful = sum(1 for event in segments.values() if event["segment_success"] is True)
    return {
        "occurences": len(events),
        "sessions_affected": len(sessions),
        "sessions_affected_ratio": round(len(sessions) / total_sessions, 2),
        "segments_success_ratio": round(successful / len(segments), 2) if segments else 0,
    }
