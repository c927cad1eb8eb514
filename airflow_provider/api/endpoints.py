"""PostHog's endpoints as :class:`ApiCall` builders (``docs/posthog-api.md`` §7), with argument checks.

Each function validates what it can before any request and says which calls are safe to re-send:
the saved-query POST is an upsert by name and summaries are cached server-side, so both are
idempotent; creating a subscription or a user interview, and asking a saved query to run, are not.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from airflow_provider.api import limits
from airflow_provider.api.arguments import (
    invalid,
    require_choice,
    require_datetime,
    require_int,
    require_str_list,
    require_text,
    require_uuid,
)
from airflow_provider.api.errors import PostHogConfigError
from airflow_provider.api.request import ApiCall, Paging

AudioInput = str | Path | bytes | IO[bytes]


def project() -> ApiCall:
    """The project itself (``GET /api/projects/:id/``): a cheap authenticated read."""
    return ApiCall("GET", "", root="projects")


# Sessions (§7.2) and recordings (§7.6)


def session_property_definitions(search: str | None = None, is_numerical: bool | None = None) -> ApiCall:
    """Session property definitions, optionally filtered by name words or numeric type.

    :param search: words that must all appear in the property name.
    :param is_numerical: only numeric (``True``) or non-numeric (``False``) properties.
    """
    return ApiCall(
        "GET", "sessions/property_definitions", params={"search": search, "is_numerical": is_numerical}
    )


def session_property_values(key: str, value: str | None = None) -> ApiCall:
    """Values seen for one session property.

    :param key: the property name, e.g. ``$channel_type``.
    :param value: substring filter.
    """
    if not isinstance(key, str) or not key.strip():
        invalid("key", "a session property name such as '$channel_type'", key)
    return ApiCall("GET", "sessions/values", params={"key": key, "value": value})


def session_recordings(date_from: Any, date_to: Any, filters: Mapping[str, Any]) -> ApiCall:
    """Session recordings whose start lies in ``[date_from, date_to]``, paged by ``has_next``.

    :param date_from: aware datetime, date, or PostHog relative text such as ``-3d``.
    :param date_to: same forms as ``date_from``.
    :param filters: further PostHog recording filters (lists and dicts travel as JSON).
    """
    return ApiCall(
        "GET",
        "session_recordings",
        params={"date_from": date_from, "date_to": date_to, **filters},
        paging=Paging.HAS_NEXT,
    )


def create_session_summaries(session_ids: list[str], focus_area: str | None) -> ApiCall:
    """Summarise up to 300 sessions; PostHog caches results, so a re-send after a 504 is safe.

    :param session_ids: 1..300 de-duplicated ids.
    :param focus_area: optional text that steers the summaries.
    """
    body: dict[str, Any] = {"session_ids": session_ids}
    if focus_area is not None:
        body["focus_area"] = focus_area
    return ApiCall(
        "POST",
        "session_summaries/create_session_summaries_individually",
        json=body,
        idempotent=True,
        read_timeout=limits.SUMMARY_READ_TIMEOUT,
    )


# Subscriptions (§7.3): integer ids; DELETE is refused, deletion is PATCH deleted=true.


def subscriptions(filters: Mapping[str, Any]) -> ApiCall:
    """Subscriptions (not deleted ones unless ``deleted`` is passed), limit/offset pages.

    :param filters: PostHog list filters such as ``insight``, ``dashboard``, ``deleted``.
    """
    return ApiCall("GET", "subscriptions", params=dict(filters), paging=Paging.NEXT_URL)


def create_subscription(fields: Mapping[str, Any]) -> ApiCall:
    """Create a subscription; never re-sent after a lost answer (it would deliver twice).

    :param fields: the subscription's fields (``target_type``, ``target_value``, ``frequency``, ...),
        checked by :func:`subscription_fields`.
    """
    return ApiCall("POST", "subscriptions", json=subscription_fields(fields))


def subscription(subscription_id: int | str) -> ApiCall:
    """One subscription.

    :param subscription_id: its integer id.
    """
    return ApiCall("GET", f"subscriptions/{_integer_id(subscription_id, 'subscription_id')}")


def update_subscription(subscription_id: int | str, fields: Mapping[str, Any]) -> ApiCall:
    """Change fields of a subscription (PATCH).

    :param subscription_id: its integer id.
    :param fields: the fields to change.
    """
    return ApiCall(
        "PATCH",
        f"subscriptions/{_integer_id(subscription_id, 'subscription_id')}",
        json=subscription_fields(fields),
    )


def delete_subscription(subscription_id: int | str) -> ApiCall:
    """Soft-delete a subscription (PostHog refuses DELETE with 405).

    :param subscription_id: its integer id.
    """
    return update_subscription(subscription_id, {"deleted": True})


def subscription_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` with every field PostHog enumerates or bounds checked (others pass through as given).

    :param fields: subscription fields as PostHog names them (``start_date``, not ``delivery_start``).
    :raises PostHogConfigError: naming the first bad field and what it accepts.
    """
    return {
        name: value
        if value is None or name not in _SUBSCRIPTION_CHECKS
        else check_subscription_field(name, value)
        for name, value in fields.items()
    }


def check_subscription_field(name: str, value: Any) -> Any:
    """Return one subscription field in the form PostHog stores it, or raise naming it.

    Text is trimmed as PostHog trims it, so what is sent is what PostHog keeps (and what a later
    comparison sees); dates become ISO 8601 with their offset.

    :param name: a field with a rule: ``target_type``, ``target_value``, ``frequency``, ``interval``,
        ``byweekday``, ``bysetpos``, ``count``, ``start_date``, ``until_date``, ``title``.
    :param value: its value.
    """
    return _SUBSCRIPTION_CHECKS[name](name, value)


def _title(name: str, value: Any) -> str:
    text = value.strip() if isinstance(value, str) else value
    return require_text(name, text, max_length=limits.MAX_SUBSCRIPTION_TITLE_LENGTH)


def _weekdays(name: str, value: Any) -> list[str]:
    days = require_str_list(name, [value] if isinstance(value, str) else value)
    return [require_choice(f"{name}[{index}]", day, limits.WEEKDAYS) for index, day in enumerate(days)]


_SUBSCRIPTION_CHECKS: dict[str, Any] = {
    "target_type": lambda name, value: require_choice(name, value, limits.SUBSCRIPTION_TARGET_TYPES),
    "target_value": lambda name, value: require_text(name, value).strip(),
    "frequency": lambda name, value: require_choice(name, value, limits.SUBSCRIPTION_FREQUENCIES),
    "interval": lambda name, value: require_int(name, value, minimum=1),
    "byweekday": _weekdays,
    "bysetpos": require_int,
    "count": lambda name, value: require_int(name, value, minimum=1),
    "start_date": lambda name, value: require_datetime(name, value).isoformat(),
    "until_date": lambda name, value: require_datetime(name, value).isoformat(),
    "title": lambda name, value: require_text(
        name,
        value.strip() if isinstance(value, str) else value,
        max_length=limits.MAX_SUBSCRIPTION_TITLE_LENGTH,
    ),
}


# User interviews (§7.4): UUID ids; create is a multipart upload of the audio file.


def user_interviews() -> ApiCall:
    """User interviews, limit/offset pages."""
    return ApiCall("GET", "user_interviews", paging=Paging.NEXT_URL)


def create_user_interview(
    audio: AudioInput, interviewee_emails: Iterable[str], summary: str | None
) -> ApiCall:
    """Upload an interview recording (multipart); never re-sent after a lost answer.

    :param audio: a file path, the bytes, or a binary file object.
    :param interviewee_emails: addresses of the people interviewed (``Name <a@b.c>`` allowed).
    :param summary: optional summary text.
    """
    emails = [interviewee_emails] if isinstance(interviewee_emails, str) else list(interviewee_emails)
    for position, email in enumerate(emails):
        if not isinstance(email, str) or "@" not in email:
            raise PostHogConfigError(
                f"interviewee_emails[{position}] must be an email address, got {email!r}."
            )
    # Always sent, empty when there are none: PostHog's create reads the field unconditionally and
    # answers 500 without it (docs/posthog-api.md §7.4).
    form: dict[str, str | list[str]] = {"interviewee_emails": emails or [""]}
    if summary is not None:
        form["summary"] = summary
    return ApiCall("POST", "user_interviews", form=form, files={"audio": read_audio(audio)})


def user_interview(interview_id: str) -> ApiCall:
    """One user interview.

    :param interview_id: its UUID.
    """
    return ApiCall("GET", f"user_interviews/{_uuid(interview_id, 'interview_id')}")


def update_user_interview(interview_id: str, fields: Mapping[str, Any]) -> ApiCall:
    """Change fields of a user interview (PATCH), e.g. ``summary``.

    :param interview_id: its UUID.
    :param fields: the fields to change.
    """
    return ApiCall("PATCH", f"user_interviews/{_uuid(interview_id, 'interview_id')}", json=dict(fields))


def delete_user_interview(interview_id: str) -> ApiCall:
    """Delete a user interview (204).

    :param interview_id: its UUID.
    """
    return ApiCall("DELETE", f"user_interviews/{_uuid(interview_id, 'interview_id')}")


def read_audio(audio: AudioInput) -> tuple[str, bytes, str]:
    """Read an audio upload into (file name, content, content type), checking PostHog's 20 MB body limit.

    :param audio: a file path, the bytes, or a binary file object.
    """
    if isinstance(audio, bytes):
        name, content = "audio", audio
    elif isinstance(audio, str | Path):
        path = Path(audio)
        if not path.is_file():
            raise PostHogConfigError(
                f"audio must be an existing audio file, bytes or a binary file object; {path} is not a file."
            )
        name, content = path.name, path.read_bytes()
    elif hasattr(audio, "read"):
        content = audio.read()
        if not isinstance(content, bytes):
            raise PostHogConfigError("audio file objects must be opened in binary mode ('rb').")
        name = Path(str(getattr(audio, "name", "audio"))).name
    else:
        raise PostHogConfigError(
            f"audio must be a file path, bytes or a binary file object, got {type(audio).__name__}."
        )
    if not content:
        raise PostHogConfigError("audio is empty: PostHog needs the recording to transcribe.")
    if len(content) > limits.MAX_BODY_BYTES:
        raise PostHogConfigError(
            f"audio is {len(content)} bytes; PostHog accepts request bodies of at most "
            f"{limits.MAX_BODY_BYTES} bytes."
        )
    return name, content, mimetypes.guess_type(name)[0] or "application/octet-stream"


# Warehouse saved queries (§7.5, §8): UUID ids.


def saved_queries(search: str | None = None) -> ApiCall:
    """Saved queries (views), in fixed pages of 1000.

    :param search: substring of the name.
    """
    return ApiCall("GET", "warehouse_saved_queries", params={"search": search}, paging=Paging.PAGE_NUMBER)


def create_saved_query(name: str, query: str | Mapping[str, Any], fields: Mapping[str, Any]) -> ApiCall:
    """Create (or, with an existing name, update) a saved query; an upsert, so safe to re-send.

    :param name: the view name: letters, digits, ``_``, ``.``, ``$``; not starting with a digit.
    :param query: HogQL text, or a full query object with a ``query`` string.
    :param fields: further fields (``edited_history_id``, ``soft_update``, ...).
    """
    if (
        not isinstance(name, str)
        or not re.match(limits.SAVED_QUERY_NAME, name)
        or len(name) > limits.MAX_SAVED_QUERY_NAME_LENGTH
    ):
        raise PostHogConfigError(
            f"name must be a view name of at most {limits.MAX_SAVED_QUERY_NAME_LENGTH} characters: letters, "
            f"digits, '_', '.' or '$', not starting with a digit or '.'; got {name!r}."
        )
    return ApiCall(
        "POST",
        "warehouse_saved_queries",
        json={**fields, "name": name, "query": hogql_query(query)},
        idempotent=True,
    )


def hogql_query(query: str | Mapping[str, Any]) -> dict[str, Any]:
    """The query object PostHog stores: HogQL text is wrapped as a ``HogQLQuery``.

    :param query: HogQL text, or a full query object with a non-empty ``query`` string.
    """
    if isinstance(query, str):
        if not query.strip():
            raise PostHogConfigError("query must be a non-empty HogQL string or a query object.")
        return {"kind": "HogQLQuery", "query": query}
    if isinstance(query, Mapping) and isinstance(query.get("query"), str) and query["query"].strip():
        return dict(query)
    raise PostHogConfigError(
        'query must be HogQL text or a query object such as {"kind": "HogQLQuery", "query": "select 1"}, '
        f"got {query!r}."
    )


def saved_query(query_id: str) -> ApiCall:
    """One saved query, with its ``status``, ``last_run_at`` and ``latest_error``.

    :param query_id: its UUID.
    """
    return ApiCall("GET", _saved_query_path(query_id))


def update_saved_query(query_id: str, fields: Mapping[str, Any]) -> ApiCall:
    """Change fields of a saved query (PATCH); a ``query`` given as text is wrapped as HogQL.

    :param query_id: its UUID.
    :param fields: the fields to change.
    """
    body = dict(fields)
    if "query" in body:
        body["query"] = hogql_query(body["query"])
    return ApiCall("PATCH", _saved_query_path(query_id), json=body)


def delete_saved_query(query_id: str) -> ApiCall:
    """Delete a saved query (PostHog soft-deletes it and reverts its materialization).

    :param query_id: its UUID.
    """
    return ApiCall("DELETE", _saved_query_path(query_id))


def run_saved_query(query_id: str) -> ApiCall:
    """Ask for a run now (200, empty body, no run id); not re-sent after a lost answer.

    :param query_id: its UUID.
    """
    return ApiCall("POST", f"{_saved_query_path(query_id)}/run")


def cancel_saved_query(query_id: str) -> ApiCall:
    """Cancel a running saved query; PostHog refuses this for personal API keys (403).

    :param query_id: its UUID.
    """
    return ApiCall("POST", f"{_saved_query_path(query_id)}/cancel", idempotent=True)


def materialize_saved_query(query_id: str, sync_frequency: str | None) -> ApiCall:
    """Materialize a saved query on a schedule; PostHog starts a first refresh at once.

    :param query_id: its UUID.
    :param sync_frequency: see :func:`check_sync_frequency`; ``None`` for PostHog's default, ``24hour``.
    """
    body = None if sync_frequency is None else {"sync_frequency": check_sync_frequency(sync_frequency)}
    return ApiCall("POST", f"{_saved_query_path(query_id)}/materialize", json=body, idempotent=True)


def check_sync_frequency(value: Any) -> str:
    """Return ``value`` if PostHog's materialize accepts it (:data:`limits.SYNC_FREQUENCIES`).

    ``1min`` and ``5min`` are accepted (PostHog raises them to ``15min``); ``never`` is refused with a
    pointer to reverting the materialization, which is how a schedule stops.

    :param value: the ``sync_frequency`` argument.
    """
    if value == "never":
        invalid(
            "sync_frequency",
            f"one of {', '.join(map(repr, limits.SYNC_FREQUENCIES))}",
            value,
            "PostHog refuses 'never': to stop refreshing a view, revert its materialization "
            "(PostHogRevertSavedQueryMaterializationOperator or hook.revert_saved_query_materialization).",
        )
    return require_choice("sync_frequency", value, limits.SYNC_FREQUENCIES)


def revert_saved_query_materialization(query_id: str) -> ApiCall:
    """Stop materializing a saved query and drop its table.

    :param query_id: its UUID.
    """
    return ApiCall("POST", f"{_saved_query_path(query_id)}/revert_materialization", idempotent=True)


def saved_query_run_history(query_id: str) -> ApiCall:
    """The last (at most 5) runs of a saved query, newest first.

    :param query_id: its UUID.
    """
    return ApiCall("GET", f"{_saved_query_path(query_id)}/run_history")


def data_modeling_jobs(saved_query_id: str | None = None, page_size: int | None = None) -> ApiCall:
    """Runs ("jobs") of saved queries, newest first, cursor pages.

    :param saved_query_id: only the jobs of this saved query (UUID).
    :param page_size: jobs per page (PostHog's ``limit``).
    """
    if page_size is not None:
        require_int("page_size", page_size, minimum=1)
    query_id = None if saved_query_id is None else _uuid(saved_query_id, "saved_query_id")
    return ApiCall(
        "GET",
        "data_modeling_jobs",
        params={"saved_query_id": query_id, "limit": page_size},
        paging=Paging.NEXT_URL,
    )


def _saved_query_path(query_id: str) -> str:
    return f"warehouse_saved_queries/{_uuid(query_id, 'saved_query_id')}"


def _integer_id(value: int | str, name: str) -> str:
    return str(require_int(name, value, minimum=0))


def _uuid(value: str, name: str) -> str:
    return quote(require_uuid(name, value), safe="")
