"""Session-summary batching: de-duplicate ids, split into PostHog-sized batches, merge the answers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider.api.errors import PostHogConfigError
from airflow_provider.api.limits import MAX_FOCUS_AREA_LENGTH, MAX_SUMMARY_BATCH

NOT_RETURNED = "not_returned"


def unique_session_ids(session_ids: Iterable[str]) -> list[str]:
    """The ids without duplicates, first occurrence order kept; each must be a non-empty string.

    :param session_ids: session ids, possibly repeated.
    """
    if isinstance(session_ids, str | bytes):
        raise PostHogConfigError("session_ids must be a list of session ids, got a single string.")
    unique: dict[str, None] = {}
    for position, session_id in enumerate(session_ids):
        if not isinstance(session_id, str) or not session_id.strip():
            raise PostHogConfigError(
                f"session_ids[{position}] must be a non-empty session id string, got {session_id!r}."
            )
        unique.setdefault(session_id.strip(), None)
    return list(unique)


def split_batches(session_ids: list[str], batch_size: int) -> list[list[str]]:
    """Split ids into consecutive batches of at most ``batch_size`` (1..300, PostHog's limit).

    :param session_ids: de-duplicated ids.
    :param batch_size: ids per request.
    """
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or not 1 <= batch_size <= MAX_SUMMARY_BATCH
    ):
        raise PostHogConfigError(
            f"batch_size must be an integer from 1 to {MAX_SUMMARY_BATCH} (PostHog's limit per request), "
            f"got {batch_size!r}."
        )
    return [session_ids[start : start + batch_size] for start in range(0, len(session_ids), batch_size)]


def validate_focus_area(focus_area: str | None) -> None:
    """Reject a focus area PostHog would refuse (over 500 characters).

    :param focus_area: optional text that steers the summaries.
    """
    if focus_area is not None and (
        not isinstance(focus_area, str) or len(focus_area) > MAX_FOCUS_AREA_LENGTH
    ):
        raise PostHogConfigError(
            f"focus_area must be text of at most {MAX_FOCUS_AREA_LENGTH} characters, "
            f"got {len(focus_area) if isinstance(focus_area, str) else type(focus_area).__name__}."
        )


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
