"""Session-summary batching: de-duplicate ids, split into PostHog-sized batches, merge the answers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider.api.arguments import invalid, require_int
from airflow_provider.api.limits import MAX_FOCUS_AREA_LENGTH, MAX_SUMMARY_BATCH

NOT_RETURNED = "not_returned"


def unique_session_ids(session_ids: Iterable[str]) -> list[str]:
    """The ids without duplicates, first occurrence order kept; each must be a non-empty string.

    :param session_ids: session ids, possibly repeated.
    """
    if isinstance(session_ids, str | bytes):
        invalid("session_ids", "a list of session ids, not a single string", session_ids)
    unique: dict[str, None] = {}
    for position, session_id in enumerate(session_ids):
        if not isinstance(session_id, str) or not session_id.strip():
            invalid(f"session_ids[{position}]", "a non-empty session id string", session_id)
        unique.setdefault(session_id.strip(), None)
    return list(unique)


def split_batches(session_ids: list[str], batch_size: int) -> list[list[str]]:
    """Split ids into consecutive batches of at most ``batch_size`` (1..300, PostHog's limit).

    :param session_ids: de-duplicated ids.
    :param batch_size: ids per request.
    """
    if not isinstance(batch_size, int):  # a rendered "100" is for the operator to convert, not here
        invalid(
            "batch_size",
            f"an integer from 1 to {MAX_SUMMARY_BATCH} (PostHog's limit per request)",
            batch_size,
        )
    require_int("batch_size", batch_size, minimum=1, maximum=MAX_SUMMARY_BATCH)
    return [session_ids[start : start + batch_size] for start in range(0, len(session_ids), batch_size)]


def validate_focus_area(focus_area: str | None) -> None:
    """Reject a focus area PostHog would refuse (over 500 characters).

    :param focus_area: optional text that steers the summaries.
    """
    if focus_area is not None and (
        not isinstance(focus_area, str) or len(focus_area) > MAX_FOCUS_AREA_LENGTH
    ):
        invalid("focus_area", f"text of at most {MAX_FOCUS_AREA_LENGTH} characters", focus_area)


def batch_results(batch: list[str], answer: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """One entry per id of ``batch``: PostHog's summary or error entry, or a ``not_returned`` error.

    Older PostHog versions silently left failed sessions out; keeping an entry for them means no
    session disappears from the results unnoticed.

    :param batch: the ids sent.
    :param answer: PostHog's answer, a dict keyed by session id.
    """
    answer = answer or {}
    missing = {
        "error": NOT_RETURNED,
        "error_message": "PostHog returned no summary and no error for this session.",
    }
    return {session_id: answer[session_id] if session_id in answer else dict(missing) for session_id in batch}
