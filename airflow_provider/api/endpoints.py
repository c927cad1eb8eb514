"""PostHog's endpoints as :class:`ApiCall` builders (``docs/posthog-api.md`` §7), with argument checks.

Each builder is the whole declaration of its endpoint: it validates what it can before any request,
says whether a call is safe to re-send (the saved-query POST is an upsert by name and summaries are
cached server-side, so both are idempotent; creating a subscription or a user interview, and asking
a saved query to run, are not), which PostHog throttle it counts against (``docs/posthog-api.md``
§5; the default unless it says otherwise), and what to advise on its own error answers.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
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
from airflow_provider.api.call import ApiCall, Paging, Throttle
from airflow_provider.api.errors import PostHogConfigError

if TYPE_CHECKING:
    from airflow_provider.api.request import ApiRequest

AudioInput = str | Path | bytes | IO[bytes]
_EMAIL_EXAMPLE = "Jane Doe <jane@acme.com>"

# §5: PostHog's throttles other than the default (``DEFAULT_THROTTLE``), by the endpoints that use them.
#: ClickHouse-backed endpoints (sessions/*, session_summaries/*, session_recordings).
CLICKHOUSE_THROTTLE = Throttle("clickhouse", limits.CLICKHOUSE_RATES)
#: A saved query's ``run``, per (project, saved query): use ``.of(saved_query_id)``.
SAVED_QUERY_RUN_THROTTLE = Throttle("saved_query_run", limits.SAVED_QUERY_RUN_RATES, per_project=True)
#: A saved query's ``materialize`` and ``revert_materialization``, per (project, saved query).
MATERIALIZATION_THROTTLE = Throttle("materialization", limits.MATERIALIZATION_RATES, per_project=True)
#: A subscription's test delivery, per project whatever the subscription.
SUBSCRIPTION_TEST_DELIVERY_THROTTLE = Throttle(
    "subscription_test_delivery", limits.SUBSCRIPTION_TEST_DELIVERY_RATES, per_project=True
)

#: PostHog's answer to a write with a stale ``edited_history_id`` (§7.5), lower-cased.
CONCURRENT_EDIT_DETAIL = "modified by someone else"


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
        "GET",
        "sessions/property_definitions",
        params={"search": search, "is_numerical": is_numerical},
        throttle=CLICKHOUSE_THROTTLE,
    )


def session_property_values(key: str, value: str | None = None) -> ApiCall:
    """Values seen for one session property.

    :param key: the property name, e.g. ``$channel_type``.
    :param value: substring filter.
    """
    if not isinstance(key, str) or not key.strip():
        invalid("key", "a session property name such as '$channel_type'", key)
    return ApiCall(
        "GET", "sessions/values", params={"key": key, "value": value}, throttle=CLICKHOUSE_THROTTLE
    )


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
        throttle=CLICKHOUSE_THROTTLE,
    )


def create_session_summaries(session_ids: list[str], focus_area: str | None) -> ApiCall:
    """Summarise up to 300 sessions; PostHog caches results, so a re-send after a 504 is safe.

    :param session_ids: 1..300 de-duplicated ids.
    :param focus_area: optional text that steers the summaries.
    """
    return ApiCall(
        "POST",
        "session_summaries/create_session_summaries_individually",
        json=_summaries_body(session_ids, focus_area),
        idempotent=True,
        read_timeout=limits.SUMMARY_READ_TIMEOUT,
        throttle=CLICKHOUSE_THROTTLE,
        advice=_session_summaries_advice,
    )


def create_session_group_summary(session_ids: list[str], focus_area: str | None) -> ApiCall:
    """Find the patterns across 1..300 sessions (PostHog's group summary); never re-sent after a lost
    answer: each request starts a new PostHog workflow (its id ends in a random UUID), so a re-send
    would pay for the whole group again.

    :param session_ids: 1..300 de-duplicated ids.
    :param focus_area: optional text that steers the patterns.
    """
    if not 1 <= len(session_ids) <= limits.MAX_SUMMARY_BATCH:
        invalid(
            "session_ids",
            f"1 to {limits.MAX_SUMMARY_BATCH} session ids (PostHog's limit for a group summary)",
            session_ids,
        )
    return ApiCall(
        "POST",
        "session_summaries/create_session_summaries",
        json=_summaries_body(session_ids, focus_area),
        read_timeout=limits.SUMMARY_READ_TIMEOUT,
        throttle=CLICKHOUSE_THROTTLE,
        advice=_session_summaries_advice,
    )


# PostHog's strict form of a relative date on the stored summaries list (``-7d``, ``-1dStart``).
_RELATIVE_DATE = re.compile(r"^-?\d+[hdwmqsy](?:Start|End)?$", re.IGNORECASE)


def _session_summaries_advice(request: ApiRequest, status: int, detail: str) -> str | None:
    from airflow_provider.api.response import is_project_not_found

    if status == 404 and request.path.startswith("/api/projects/") and not is_project_not_found(detail):
        return (
            "PostHog versions of mid-2026 and older serve session summaries only under "
            "/api/environments/: on such a self-hosted PostHog, set the connection extra 'api_prefix' "
            "to 'environments'."
        )
    return None


def _summaries_body(session_ids: list[str], focus_area: str | None) -> dict[str, Any]:
    """The body both summary calls take (PostHog's one serializer for them)."""
    body: dict[str, Any] = {"session_ids": session_ids}
    if focus_area is not None:
        body["focus_area"] = focus_area
    return body


def stored_session_summaries(filters: Mapping[str, Any]) -> ApiCall:
    """The newest stored summary of each session (made without a focus area), limit/offset pages.

    :param filters: from :func:`stored_summary_filters`, plus ``session_ids`` as a comma list.
    """
    return ApiCall("GET", "single_session_summaries", params=dict(filters), paging=Paging.NEXT_URL)


def stored_summary_filters(
    *,
    outcome: str | None,
    has_exceptions: bool | None,
    distinct_id: str | None,
    date_from: Any,
    date_to: Any,
    order: str | None,
) -> dict[str, Any]:
    """The stored summaries list's filters, checked as PostHog checks them (a bad one is its 400).

    :param outcome: ``success``, ``failure`` or ``unknown`` (no outcome recorded).
    :param has_exceptions: only summaries that did (``True``) or did not (``False``) see an exception.
    :param distinct_id: only this user's sessions.
    :param date_from: summaries made at or after: a datetime, a date, ISO text or relative text such
        as ``-7d``.
    :param date_to: summaries made at or before, same forms.
    :param order: one of ``limits.STORED_SUMMARY_ORDERS``; default ``-created_at`` (newest first).
    """
    if outcome is not None:
        require_choice("outcome", outcome, limits.STORED_SUMMARY_OUTCOMES)
    if has_exceptions is not None and not isinstance(has_exceptions, bool):
        invalid("has_exceptions", "True, False or None", has_exceptions)
    if distinct_id is not None:
        require_text("distinct_id", distinct_id)
    if order is not None:
        require_choice("order", order, limits.STORED_SUMMARY_ORDERS)
    return {
        "outcome": outcome,
        "has_exceptions": has_exceptions,
        "distinct_id": distinct_id,
        "date_from": _summary_date("date_from", date_from),
        "date_to": _summary_date("date_to", date_to),
        "order": order,
    }


def _summary_date(name: str, value: Any) -> Any:
    if value is None or (isinstance(value, str) and _RELATIVE_DATE.match(value)):
        return value
    try:
        return require_datetime(name, value)
    except PostHogConfigError:
        invalid(name, "a datetime, a date, ISO-8601 text or relative text such as '-7d'", value)


def stored_session_summary(session_id: str) -> ApiCall:
    """The newest summary PostHog stored for one session without a focus area (404 when none).

    :param session_id: the session.
    """
    if not isinstance(session_id, str) or not session_id.strip() or "/" in session_id:
        invalid("session_id", "a session id (no '/')", session_id)
    return ApiCall("GET", f"single_session_summaries/{quote(session_id, safe='')}")


# Subscriptions (§7.3): integer ids; DELETE is refused, deletion is PATCH deleted=true.


def subscriptions(filters: Mapping[str, Any]) -> ApiCall:
    """Subscriptions (not deleted ones unless ``deleted`` is passed), limit/offset pages.

    :param filters: PostHog list filters such as ``insight``, ``dashboard``, ``deleted``.
    """
    return ApiCall("GET", "subscriptions", params=dict(filters), paging=Paging.NEXT_URL)


def create_subscription(fields: Mapping[str, Any]) -> ApiCall:
    """Create a subscription; never re-sent after a lost answer (it would deliver twice).

    :param fields: the subscription's fields (``target_type``, ``target_value``, ``frequency``, ...),
        checked by :func:`subscription_fields` and :func:`check_new_subscription`.
    """
    checked = subscription_fields(fields)
    check_new_subscription(checked)
    return ApiCall("POST", "subscriptions", json=checked)


def check_new_subscription(fields: Mapping[str, Any]) -> None:
    """The rules of a create that involve several fields, on the fields given (a template counts as given).

    PostHog (``ee/api/subscription.py``) requires ``interval``; exactly one of ``insight``,
    ``dashboard`` and ``prompt``; ``dashboard_export_insights`` with a dashboard, and only then; and
    ``integration_id`` when ``target_type`` is ``slack``.

    :param fields: the subscription's fields as PostHog names them.
    :raises PostHogConfigError: naming the field and what is allowed.
    """
    given = [name for name in SUBSCRIPTION_RESOURCES if fields.get(name) not in (None, "")]
    if len(given) != 1:
        raise PostHogConfigError(
            "Pass exactly one of insight, dashboard and prompt (what the subscription delivers: an "
            f"insight id, a dashboard id or an AI report prompt); got {given or 'none'}. PostHog refuses "
            "a subscription without one and one that sets several."
        )
    if fields.get("interval") is None:
        invalid("interval", "an integer >= 1 (PostHog requires it on create)", None)
    export_insights = fields.get("dashboard_export_insights")
    if given == ["dashboard"] and not export_insights:
        invalid(
            "dashboard_export_insights",
            "a list of 1 or more ids of insights on the dashboard (PostHog requires it for a dashboard "
            "subscription)",
            export_insights,
        )
    if given != ["dashboard"] and export_insights:
        invalid("dashboard_export_insights", "given only with dashboard", export_insights)
    if fields.get("target_type") == "slack" and fields.get("integration_id") is None:
        invalid(
            "integration_id",
            "the id of a Slack integration of the project when target_type is 'slack'",
            None,
            "Connect Slack in PostHog (Settings → Integrations) and pass that integration's id.",
        )


def subscription(subscription_id: int | str) -> ApiCall:
    """One subscription.

    :param subscription_id: its integer id.
    """
    return ApiCall("GET", _subscription_path(subscription_id))


def update_subscription(subscription_id: int | str, fields: Mapping[str, Any]) -> ApiCall:
    """Change fields of a subscription (PATCH).

    :param subscription_id: its integer id.
    :param fields: the fields to change.
    """
    return ApiCall(
        "PATCH",
        _subscription_path(subscription_id),
        json=subscription_fields(fields),
    )


def delete_subscription(subscription_id: int | str) -> ApiCall:
    """Soft-delete a subscription (PostHog refuses DELETE with 405).

    :param subscription_id: its integer id.
    """
    return update_subscription(subscription_id, {"deleted": True})


def send_subscription_test_delivery(subscription_id: int | str) -> ApiCall:
    """Deliver a subscription once, now (202, no body); never re-sent after a lost answer: it sends
    a real email or Slack message.

    :param subscription_id: its integer id.
    """
    return ApiCall(
        "POST",
        f"{_subscription_path(subscription_id)}/test-delivery",
        throttle=SUBSCRIPTION_TEST_DELIVERY_THROTTLE,
    )


def subscription_deliveries(subscription_id: int | str, status: str | None) -> ApiCall:
    """A subscription's delivery history, newest first, in cursor pages of 50.

    :param subscription_id: its integer id.
    :param status: only deliveries in this state (``limits.SUBSCRIPTION_DELIVERY_STATUSES``).
    """
    if status is not None:
        require_choice("status", status, limits.SUBSCRIPTION_DELIVERY_STATUSES)
    return ApiCall(
        "GET",
        f"{_subscription_path(subscription_id)}/deliveries",
        params={"status": status},
        paging=Paging.NEXT_URL,
    )


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
    comparison sees); dates become ISO 8601 with their offset; rendered templates (``"101"``,
    ``"True"``) become the numbers and booleans PostHog needs.

    :param name: a field with a rule: ``target_type``, ``target_value``, ``frequency``, ``interval``,
        ``byweekday``, ``bysetpos``, ``count``, ``start_date``, ``until_date``, ``title``, ``insight``,
        ``dashboard``, ``dashboard_export_insights``, ``prompt``, ``integration_id``, ``enabled``,
        ``summary_enabled``, ``summary_prompt_guide``.
    :param value: its value.
    """
    return _SUBSCRIPTION_CHECKS[name](name, value)


#: The fields that say what a subscription delivers; exactly one is set.
SUBSCRIPTION_RESOURCES = ("insight", "dashboard", "prompt")


def _weekdays(name: str, value: Any) -> list[str]:
    days = require_str_list(name, [value] if isinstance(value, str) else value)
    return [require_choice(f"{name}[{index}]", day, limits.WEEKDAYS) for index, day in enumerate(days)]


def _export_insights(name: str, value: Any) -> list[int]:
    # No upper bound here: PostHog's cap is 6 in some versions, and a billing entitlement (up to 25)
    # in newer ones; PostHog says which when it refuses.
    if isinstance(value, str | bytes | dict) or not isinstance(value, Iterable):
        invalid(name, "a list of 1 or more insight ids", value)
    ids = [require_int(f"{name}[{index}]", item, minimum=1) for index, item in enumerate(value)]
    if not ids:
        invalid(name, "a list of 1 or more insight ids (PostHog refuses an empty selection)", value)
    return ids


def _flag(name: str, value: Any) -> bool:
    # A rendered template gives "True"/"False"; PostHog needs a JSON boolean.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    invalid(name, "True or False", value)


def _text(max_length: int, *, allow_blank: bool = False) -> Any:
    def check(name: str, value: Any) -> str:
        if allow_blank and value == "":
            return value
        text = value.strip() if isinstance(value, str) else value
        return require_text(name, text, max_length=max_length)

    return check


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
    "title": _text(limits.MAX_SUBSCRIPTION_TITLE_LENGTH),
    "insight": lambda name, value: require_int(name, value, minimum=1),
    "dashboard": lambda name, value: require_int(name, value, minimum=1),
    "dashboard_export_insights": _export_insights,
    "prompt": _text(limits.MAX_SUBSCRIPTION_PROMPT_LENGTH),
    "integration_id": lambda name, value: require_int(name, value, minimum=1),
    "enabled": _flag,
    "summary_enabled": _flag,
    "summary_prompt_guide": _text(limits.MAX_SUBSCRIPTION_SUMMARY_PROMPT_GUIDE_LENGTH, allow_blank=True),
}


# User interviews (§7.4): UUID ids; create is a multipart upload of the audio file.


def user_interviews() -> ApiCall:
    """User interviews, limit/offset pages."""
    return ApiCall("GET", "user_interviews", paging=Paging.NEXT_URL, advice=_user_interview_advice)


def create_user_interview(
    audio: AudioInput, interviewee_emails: Iterable[str], summary: str | None
) -> ApiCall:
    """Upload an interview recording (multipart); never re-sent after a lost answer.

    PostHog transcribes and summarises inside the request, so the call reads with its own long
    timeout (``limits.USER_INTERVIEW_CREATE_READ_TIMEOUT``).

    :param audio: a file path, the bytes, or a binary file object.
    :param interviewee_emails: addresses of the people interviewed (``Name <a@b.c>`` allowed), at
        least one.
    :param summary: optional summary text.
    """
    upload = read_audio(audio)
    form: dict[str, str | list[str]] = {"interviewee_emails": check_interviewee_emails(interviewee_emails)}
    if summary is not None:
        form["summary"] = summary
    return ApiCall(
        "POST",
        "user_interviews",
        form=form,
        files={"audio": upload},
        read_timeout=limits.USER_INTERVIEW_CREATE_READ_TIMEOUT,
        advice=_user_interview_advice,
    )


def check_interviewee_emails(interviewee_emails: Iterable[str]) -> list[str]:
    """Return the emails of an interview create: one address or several, at least one.

    PostHog creates an interview only with at least one valid email: without the field its create
    answers 500, and an empty field is a 400 ``interviewee_emails__0`` ``blank`` (docs/posthog-api.md
    §7.4).

    :param interviewee_emails: an address or addresses (``Name <a@b.c>`` allowed).
    """
    emails = [interviewee_emails] if isinstance(interviewee_emails, str) else list(interviewee_emails)
    for position, email in enumerate(emails):
        if not isinstance(email, str) or "@" not in email:
            invalid(f"interviewee_emails[{position}]", f"an email address such as {_EMAIL_EXAMPLE!r}", email)
    if not emails:
        invalid(
            "interviewee_emails",
            f"at least one email address such as {_EMAIL_EXAMPLE!r}",
            emails,
            "PostHog needs at least one interviewee email to create an interview: it refuses a create "
            "without one (500 without the field, 400 with an empty one).",
        )
    return emails


def user_interview(interview_id: str) -> ApiCall:
    """One user interview.

    :param interview_id: its UUID.
    """
    return ApiCall("GET", _user_interview_path(interview_id), advice=_user_interview_advice)


def update_user_interview(interview_id: str, fields: Mapping[str, Any]) -> ApiCall:
    """Change fields of a user interview (PATCH), e.g. ``summary``.

    :param interview_id: its UUID.
    :param fields: the fields to change.
    """
    return ApiCall(
        "PATCH", _user_interview_path(interview_id), json=dict(fields), advice=_user_interview_advice
    )


def delete_user_interview(interview_id: str) -> ApiCall:
    """Delete a user interview (204).

    :param interview_id: its UUID.
    """
    return ApiCall("DELETE", _user_interview_path(interview_id), advice=_user_interview_advice)


def _user_interview_advice(request: ApiRequest, status: int, detail: str) -> str | None:
    if status not in (403, 404):
        return None
    from airflow_provider.api.response import permission_advice

    base = permission_advice(detail) if status == 403 else "The object or the endpoint does not exist."
    return (
        f"{base} User interviews may not be enabled for this project (PostHog ships them behind the "
        "feature flag 'user-interviews', and answers 403 without it), or this PostHog no longer has "
        "them (PostHog is taking the product out). Current PostHog needs the scope "
        "'user_interview:read'/'user_interview:write' (older versions named it "
        "'user_interview_DO_NOT_USE', which no key can hold)."
    )


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
        advice=_saved_query_write_advice,
    )


#: §7.5: ``check_incremental`` has PostHog's throttle ``CheckIncrementalThrottle`` instead of the
#: default: 120/minute per key.
CHECK_INCREMENTAL_THROTTLE = Throttle("check_incremental", ((120, 60.0),))
#: §7.5: the longest query it parses (PostHog's ``CHECK_INCREMENTAL_MAX_QUERY_LENGTH``, 64 KiB), and
#: the longest lookback (``MAX_LOOKBACK_SECONDS``, 30 days).
MAX_CHECK_INCREMENTAL_QUERY_LENGTH = 64 * 1024
MAX_LOOKBACK_SECONDS = 30 * 24 * 3600


def check_incremental_eligibility(
    query: str,
    incremental_key: str | None = None,
    unique_key: Iterable[str] | None = None,
    lookback_seconds: int | None = None,
) -> ApiCall:
    """PostHog's ``check_incremental``: a POST that only parses the query, so safe to re-send.

    :param query: HogQL text (PostHog takes text here, not a query object).
    :param incremental_key: the column to check as the incremental key.
    :param unique_key: the columns to check as the unique key.
    :param lookback_seconds: 0 to 30 days.
    """
    body: dict[str, Any] = {
        "query": require_text("query", query, max_length=MAX_CHECK_INCREMENTAL_QUERY_LENGTH)
    }
    if incremental_key is not None:
        body["incremental_key"] = require_text("incremental_key", incremental_key)
    if unique_key is not None:
        body["unique_key"] = require_str_list("unique_key", unique_key)
    if lookback_seconds is not None:
        body["lookback_seconds"] = require_int(
            "lookback_seconds", lookback_seconds, minimum=0, maximum=MAX_LOOKBACK_SECONDS
        )
    return ApiCall(
        "POST",
        "warehouse_saved_queries/check_incremental",
        json=body,
        idempotent=True,
        throttle=CHECK_INCREMENTAL_THROTTLE,
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


def saved_query(saved_query_id: str) -> ApiCall:
    """One saved query, with its ``status``, ``last_run_at`` and ``latest_error``.

    :param saved_query_id: its UUID.
    """
    return ApiCall("GET", _saved_query_path(saved_query_id))


def update_saved_query(saved_query_id: str, fields: Mapping[str, Any]) -> ApiCall:
    """Change fields of a saved query (PATCH); a ``query`` given as text is wrapped as HogQL.

    :param saved_query_id: its UUID.
    :param fields: the fields to change.
    """
    body = dict(fields)
    if "query" in body:
        body["query"] = hogql_query(body["query"])
    return ApiCall("PATCH", _saved_query_path(saved_query_id), json=body, advice=_saved_query_write_advice)


def _saved_query_write_advice(request: ApiRequest, status: int, detail: str) -> str | None:
    if status == 400 and CONCURRENT_EDIT_DETAIL in detail.lower():
        return (
            "Someone changed the saved query after it was read, so PostHog kept their version and did not "
            "apply this write. Read the view again and decide before writing."
        )
    return None


def delete_saved_query(saved_query_id: str) -> ApiCall:
    """Delete a saved query (PostHog soft-deletes it and reverts its materialization).

    :param saved_query_id: its UUID.
    """
    return ApiCall("DELETE", _saved_query_path(saved_query_id))


def run_saved_query(saved_query_id: str, full_refresh: bool = False) -> ApiCall:
    """Ask for a run now (200, empty body, no run id); not re-sent after a lost answer.

    :param saved_query_id: its UUID.
    :param full_refresh: rebuild an incremental view's whole table (PostHog's ``run`` body
        ``{"full_refresh": true}``); sent only when true, as PostHog's default is ``false``.
    """
    if not isinstance(full_refresh, bool):
        invalid("full_refresh", "True or False", full_refresh)
    body = {"full_refresh": True} if full_refresh else None
    saved_query_id = check_saved_query_id(saved_query_id)
    return ApiCall(
        "POST",
        f"warehouse_saved_queries/{saved_query_id}/run",
        json=body,
        throttle=SAVED_QUERY_RUN_THROTTLE.of(saved_query_id),
        advice=_saved_query_run_advice,
    )


def _saved_query_run_advice(request: ApiRequest, status: int, detail: str) -> str | None:
    # PostHog refuses a run with a 400 (a ValidationError), e.g. a view that is not fully set up.
    if status == 400:
        return (
            "PostHog refused to run this saved query. When it says the view is not fully set up, finish "
            "it in PostHog (a query that saves without errors; materialize it if PostHog asks), then run "
            "it again: retrying as it is will not help."
        )
    return None


def cancel_saved_query(saved_query_id: str) -> ApiCall:
    """Cancel a running saved query; PostHog refuses this for personal API keys (403).

    :param saved_query_id: its UUID.
    """
    return ApiCall("POST", f"{_saved_query_path(saved_query_id)}/cancel", idempotent=True)


def resume_saved_query(saved_query_id: str) -> ApiCall:
    """Resume a saved query PostHog suspended after repeated failed runs, without running it.

    Safe to re-send: it only clears the suspension, so a second one finds nothing to clear and
    answers ``{"resumed": false}``.

    :param saved_query_id: its UUID.
    """
    return ApiCall("POST", f"{_saved_query_path(saved_query_id)}/resume", idempotent=True)


def materialize_saved_query(saved_query_id: str, sync_frequency: str | None) -> ApiCall:
    """Materialize a saved query on a schedule; PostHog starts a first refresh at once.

    :param saved_query_id: its UUID.
    :param sync_frequency: see :func:`check_sync_frequency`; ``None`` for PostHog's default, ``24hour``.
    """
    body = None if sync_frequency is None else {"sync_frequency": check_sync_frequency(sync_frequency)}
    saved_query_id = check_saved_query_id(saved_query_id)
    return ApiCall(
        "POST",
        f"warehouse_saved_queries/{saved_query_id}/materialize",
        json=body,
        idempotent=True,
        throttle=MATERIALIZATION_THROTTLE.of(saved_query_id),
    )


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


def revert_saved_query_materialization(saved_query_id: str) -> ApiCall:
    """Stop materializing a saved query and drop its table.

    :param saved_query_id: its UUID.
    """
    saved_query_id = check_saved_query_id(saved_query_id)
    return ApiCall(
        "POST",
        f"warehouse_saved_queries/{saved_query_id}/revert_materialization",
        idempotent=True,
        throttle=MATERIALIZATION_THROTTLE.of(saved_query_id),
    )


def saved_query_run_history(saved_query_id: str) -> ApiCall:
    """The last (at most 5) runs of a saved query, newest first.

    :param saved_query_id: its UUID.
    """
    return ApiCall("GET", f"{_saved_query_path(saved_query_id)}/run_history")


def data_modeling_jobs(saved_query_id: str | None = None, page_size: int | None = None) -> ApiCall:
    """Runs ("jobs") of saved queries, newest first, cursor pages.

    :param saved_query_id: only the jobs of this saved query (UUID).
    :param page_size: jobs per page (PostHog's ``limit``).
    """
    if page_size is not None:
        require_int("page_size", page_size, minimum=1)
    if saved_query_id is not None:
        saved_query_id = check_saved_query_id(saved_query_id)
    return ApiCall(
        "GET",
        "data_modeling_jobs",
        params={"saved_query_id": saved_query_id, "limit": page_size},
        paging=Paging.NEXT_URL,
        advice=_data_modeling_jobs_advice,
    )


def _data_modeling_jobs_advice(request: ApiRequest, status: int, detail: str) -> str | None:
    from airflow_provider.api.response import names_scope_or_project

    if status != 403 or names_scope_or_project(detail):
        return None
    return (
        "This PostHog closes data-modeling jobs to personal API keys (older versions do: the "
        "endpoint answers that it does not support personal API key access), and the provider "
        "follows a saved query's runs through those jobs, so runs cannot be started and followed "
        "with this key. Upgrade PostHog to a version that opens 'data_modeling_jobs' to keys with "
        "the scope 'warehouse_view:read' (PostHog Cloud does), or point the connection at a "
        "PostHog where it is open."
    )


# For a direct hook user, an id enters in the builder its hook method calls, and is checked there. A
# checked UUID or integer is safe in a path as it is.


class SavedQueryId(str):
    """A saved query's id already checked as a UUID, in canonical form (:func:`check_saved_query_id`).

    A saved query's id is checked once, where it enters: an operator's or the sensor's
    ``check_arguments``, the trigger's constructor, a run read back from plain values
    (``SavedQueryRun.from_dict``), a view's id as PostHog lists it, and, for a direct hook user, the
    builder the hook method calls. What those checks return is a ``SavedQueryId``, and the builders
    take one as it is: the many requests of one run (the run, every poll of its jobs) do not check
    the id again. A plain ``str`` is always checked, so no unchecked id reaches a path.
    """


def check_saved_query_id(saved_query_id: object, *, hint: str = "") -> SavedQueryId:
    """Return ``saved_query_id`` as a checked, canonical :class:`SavedQueryId`; one already checked as it is.

    :param saved_query_id: a UUID string (any case, surrounding spaces allowed) or a ``uuid.UUID``.
    :param hint: added to the error, e.g. what to pass instead.
    :raises PostHogConfigError: for anything but a UUID, naming ``saved_query_id``.
    """
    if isinstance(saved_query_id, SavedQueryId):
        return saved_query_id
    return SavedQueryId(require_uuid("saved_query_id", saved_query_id, hint=hint))


def _saved_query_path(saved_query_id: str) -> str:
    return f"warehouse_saved_queries/{check_saved_query_id(saved_query_id)}"


def _subscription_path(subscription_id: int | str) -> str:
    return f"subscriptions/{require_int('subscription_id', subscription_id, minimum=1)}"


def _user_interview_path(interview_id: str) -> str:
    return f"user_interviews/{require_uuid('interview_id', interview_id)}"
