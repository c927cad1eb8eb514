"""Deterministic session summaries in PostHog's shape (docs/posthog-api.md §7.1), built from seeded events.

A real summary comes from an LLM; here the same session and focus area always give the same text,
so tests can compare results across retries.
"""

from __future__ import annotations

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
