"""Hooks that turn a ``posthog`` Airflow connection into a PostHog client.

:class:`PostHogHook` (workers) wraps the sync client; :class:`PostHogAsyncHook` (triggerer) wraps
the async client and shares one aiohttp session per connection and event loop. The client, its
settings and the HTTP libraries load on first use, not at import: DAG files import this module
constantly. Connection fields:
``host`` (default ``https://us.posthog.com``), ``password`` (the personal API key) and the extras
``project_id``, ``api_prefix``, ``timeout``, ``max_retries``, ``verify``, ``allow_insecure_http``,
``rate_limit``. Calls go to PostHog's canonical ``/api/projects/:id/`` unless ``api_prefix`` asks for
the deprecated ``/api/environments/:id/`` (``docs/connection.md``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import replace
from itertools import islice
from types import TracebackType
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from airflow_provider.api import endpoints
from airflow_provider.api.arguments import require_int
from airflow_provider.api.call import ApiCall
from airflow_provider.api.connection_fields import require_project_id
from airflow_provider.api.endpoints import AudioInput
from airflow_provider.api.errors import (
    PostHogAuthenticationError,
    PostHogConfigError,
    PostHogError,
    PostHogNotFoundError,
    PostHogPermissionError,
    PostHogServerError,
)
from airflow_provider.api.limits import SYNC_FREQUENCIES_RAISED, SYNC_FREQUENCY_FLOOR
from airflow_provider.api.summaries import (
    batch_results,
    split_batches,
    unique_session_ids,
    validate_focus_area,
)
from airflow_provider.assets import uri_host

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from airflow_provider.api.client import AsyncPostHogClient, PostHogClient
    from airflow_provider.api.config import ClientConfig

__all__ = ["PostHogAsyncHook", "PostHogHook"]

DEFAULT_SUMMARY_BATCH_SIZE = 100
MAX_SUMMARY_CONCURRENCY = 10
ProjectId = str | int | None


class PostHogHook(BaseHook):
    """Calls PostHog's project API from a worker: retries, rate limits, every page walked.

    :param posthog_conn_id: the ``posthog`` connection to use.
    :param project_id: project (environment) id; overrides the connection's ``project_id`` extra.
    :param timeout: read timeout in seconds; overrides the ``timeout`` extra (default 30).
    :param max_retries: retries of retryable failures; overrides the ``max_retries`` extra (default 5).
    """

    conn_name_attr = "posthog_conn_id"
    default_conn_name = "posthog_default"
    conn_type = "posthog"
    hook_name = "PostHog"

    def __init__(
        self,
        posthog_conn_id: str = default_conn_name,
        project_id: ProjectId = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> None:
        super().__init__()
        self.posthog_conn_id = posthog_conn_id
        self.project_id = _validated_project_id(project_id)
        self.timeout = timeout
        self.max_retries = max_retries
        self._client: PostHogClient | None = None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(posthog_conn_id={self.posthog_conn_id!r}, project_id={self.project_id!r})"
        )

    def get_conn(self) -> PostHogClient:
        """The sync client for this connection, built on first use and then reused."""
        if self._client is None:
            # Imported here, not at module level: DAG files import this module constantly.
            from airflow_provider.api.client import PostHogClient

            conn = self.get_connection(self.posthog_conn_id)
            self._client = PostHogClient(
                _client_config(conn, conn.extra_dejson, self.project_id, self.timeout, self.max_retries)
            )
        return self._client

    def close(self) -> None:
        """Close the client's HTTP connections (it reopens them if used again)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        project_id: ProjectId = None,
    ) -> Any:
        """Call an endpoint this hook does not wrap; a POST is treated as a create (never re-sent
        after a lost answer). The call counts against PostHog's default throttle, and its errors get
        the generic advice: an endpoint with a throttle or advice of its own is declared in
        ``airflow_provider/api/endpoints.py``.

        :param method: HTTP method.
        :param path: path under ``/api/projects/:project_id/`` (or the ``api_prefix`` extra's
            prefix), e.g. ``insights/12``.
        :param params: query parameters.
        :param json: JSON body.
        :param project_id: overrides the hook's project.
        """
        call = ApiCall(method.upper(), path, params=params, json=json)
        return self.get_conn().call(call, project_id)

    def ui_url(self, path: str, project_id: ProjectId = None) -> str:
        """A link into the PostHog app, e.g. ``ui_url("data-warehouse")``, for extra links and logs.

        :param path: the app path after ``/project/:id/``.
        :param project_id: overrides the hook's project.
        """
        config = self.get_conn().config
        project = _validated_project_id(project_id) or config.project_id
        if project is None:
            raise PostHogConfigError("No PostHog project id: set the connection extra 'project_id'.")
        return f"{config.host}/project/{project}/{path.lstrip('/')}"

    def asset_location(self) -> tuple[str, str]:
        """The host and numeric project id that name this hook's views as ``posthog://`` assets.

        A project given as ``@current`` is resolved with one GET of the project (the key's own).
        """
        client = self.get_conn()
        project = client.config.project_id
        if project is None or not project.isdigit():
            project = str(client.call(endpoints.project())["id"])
        return uri_host(client.config.host), project

    def test_connection(self) -> tuple[bool, str]:
        """One authenticated GET of the project; tells a wrong key, wrong project and missing scope apart."""
        try:
            client = self.get_conn()
            project = client.call(endpoints.project())
        except PostHogError as exc:
            return False, connection_test_message(exc)
        return True, _connected_message(client.config, project)

    # Session summaries and recordings

    def create_session_summaries(  # noqa: PLR0917 (the signature is the documented interface)
        self,
        session_ids: Iterable[str],
        focus_area: str | None = None,
        batch_size: int = DEFAULT_SUMMARY_BATCH_SIZE,
        max_concurrency: int = 1,
        on_batch: Callable[[dict[str, dict[str, Any]]], None] | None = None,
        project_id: ProjectId = None,
    ) -> dict[str, dict[str, Any]]:
        """Summarise sessions in batches; return one entry per unique id, in input order.

        A session PostHog could not summarize keeps an entry ``{"error", "error_message"}``. The
        summaries POST is re-sent after a 504 or a timeout: PostHog caches finished summaries.

        :param session_ids: session ids; duplicates are sent once.
        :param focus_area: optional text (at most 500 characters) that steers the summaries.
        :param batch_size: ids per request, 1..300.
        :param max_concurrency: batches in flight at once (threads), 1..10.
        :param on_batch: called in this thread with each finished batch's results (to persist them).
            When a batch fails, no new batch starts; those in flight are awaited and passed to
            ``on_batch`` if they succeed, then the first error is raised.
        :param project_id: overrides the hook's project.
        """
        ids = unique_session_ids(session_ids)
        validate_focus_area(focus_area)
        batches = split_batches(ids, batch_size)
        max_concurrency = require_int(
            "max_concurrency", max_concurrency, minimum=1, maximum=MAX_SUMMARY_CONCURRENCY
        )
        if not ids:
            self.log.info("No sessions to summarize.")
            return {}
        client = self.get_conn()
        results: dict[str, dict[str, Any]] = {}

        def summarize(batch: list[str]) -> dict[str, dict[str, Any]]:
            answer = client.call(endpoints.create_session_summaries(batch, focus_area), project_id)
            if not isinstance(answer, dict):
                raise PostHogServerError(
                    f"PostHog answered the session summaries request with {type(answer).__name__}, "
                    "not an object keyed by session id.",
                    status=200,
                )
            return batch_results(batch, answer)

        def record(batch_result: dict[str, dict[str, Any]]) -> None:
            results.update(batch_result)
            failed = sum(1 for entry in batch_result.values() if isinstance(entry, dict) and "error" in entry)
            self.log.info(
                "Summarised %d/%d sessions (%d of this batch of %d without a summary).",
                len(results),
                len(ids),
                failed,
                len(batch_result),
            )
            if on_batch is not None:
                on_batch(batch_result)

        if max_concurrency == 1 or len(batches) == 1:
            for batch in batches:
                record(summarize(batch))
        else:
            self._summarize_concurrently(batches, summarize, record, max_concurrency)
        return {session_id: results[session_id] for session_id in ids}

    def _summarize_concurrently(
        self,
        batches: list[list[str]],
        summarize: Callable[[list[str]], dict[str, dict[str, Any]]],
        record: Callable[[dict[str, dict[str, Any]]], None],
        max_concurrency: int,
    ) -> None:
        """Run ``summarize`` on up to ``max_concurrency`` batches at once; ``record`` each result here.

        After a batch fails no new batch is started, but the batches already in flight are awaited and
        every one that succeeded is recorded (so its summaries are kept, not paid for again on a retry);
        then the first failure is raised.

        :param batches: the batches, sent in this order.
        :param summarize: sends one batch (runs in a worker thread).
        :param record: takes one finished batch's results (runs in the calling thread).
        :param max_concurrency: batches in flight at once.
        """
        waiting = iter(batches)
        failure: BaseException | None = None
        with ThreadPoolExecutor(max_concurrency, thread_name_prefix="posthog-summaries") as pool:
            in_flight = {pool.submit(summarize, batch) for batch in islice(waiting, max_concurrency)}
            while in_flight:
                finished, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in finished:
                    error = future.exception()
                    if error is None:
                        record(future.result())
                    elif failure is None:
                        failure = error
                        self.log.error(
                            "A session summaries batch failed (%s); waiting for the %d batches in flight "
                            "to keep their summaries, starting no new batch.",
                            error,
                            len(in_flight),
                        )
                    else:
                        self.log.error("Another session summaries batch failed too: %s", error)
                if failure is None:
                    in_flight |= {pool.submit(summarize, batch) for batch in islice(waiting, len(finished))}
        if failure is not None:
            raise failure

    def list_stored_session_summaries(
        self,
        session_ids: Iterable[str] | None = None,
        *,
        outcome: str | None = None,
        has_exceptions: bool | None = None,
        distinct_id: str | None = None,
        date_from: Any = None,
        date_to: Any = None,
        order: str | None = None,
        project_id: ProjectId = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield the newest summary PostHog stored for each session, made without a focus area.

        Rows are light (no ``summary``; see :meth:`get_stored_session_summary`). A long
        ``session_ids`` list is asked for in several requests, each with a URL of reasonable length,
        so ``order`` holds within each request's rows. Every page is walked. Arguments are checked
        before any request.

        :param session_ids: only these sessions; ``None`` for all, an empty list yields nothing.
        :param outcome: ``success``, ``failure`` or ``unknown`` (no outcome recorded).
        :param has_exceptions: only summaries that did (``True``) or did not (``False``) see an exception.
        :param distinct_id: only this user's sessions.
        :param date_from: summaries made at or after this (datetime, date, ISO text, or ``-7d``).
        :param date_to: summaries made at or before this, same forms.
        :param order: ``created_at``, ``session_start_time`` or ``session_duration``, ``-`` first for
            descending; default ``-created_at``.
        :param project_id: overrides the hook's project.
        """
        filters = endpoints.stored_summary_filters(
            outcome=outcome,
            has_exceptions=has_exceptions,
            distinct_id=distinct_id,
            date_from=date_from,
            date_to=date_to,
            order=order,
        )
        chunks = [None] if session_ids is None else _query_chunks(unique_session_ids(session_ids))

        def rows() -> Iterator[dict[str, Any]]:
            for chunk in chunks:
                call = endpoints.stored_session_summaries({**filters, "session_ids": chunk})
                yield from self.get_conn().paginate(call, project_id)

        return rows()

    def get_stored_session_summary(
        self, session_id: str, project_id: ProjectId = None
    ) -> dict[str, Any] | None:
        """The whole summary PostHog stored for a session without a focus area, or ``None`` if none.

        :param session_id: the session.
        :param project_id: overrides the hook's project.
        """
        call = endpoints.stored_session_summary(session_id)
        try:
            return self.get_conn().call(call, project_id)
        except PostHogNotFoundError as error:
            if error.detail.startswith("Project not found"):  # the project, not the summary, is missing
                raise
            return None

    def create_session_group_summary(
        self, session_ids: Iterable[str], focus_area: str | None = None, project_id: ProjectId = None
    ) -> dict[str, Any]:
        """PostHog's group summary of 1..300 sessions: the patterns found across them, by severity.

        The answer is ``{"patterns": [...], "failed_sessions": [...]}``. Never re-sent after a lost
        answer (a timeout or a 504): PostHog starts a new workflow for every request, so a re-send
        would pay twice; the error says so.

        :param session_ids: 1..300 session ids; duplicates are sent once. Every one must be recorded,
            or PostHog refuses the whole request.
        :param focus_area: optional text (at most 500 characters) that steers the patterns.
        :param project_id: overrides the hook's project.
        """
        ids = unique_session_ids(session_ids)
        validate_focus_area(focus_area)
        call = endpoints.create_session_group_summary(ids, focus_area)
        answer = self.get_conn().call(call, project_id)
        if not isinstance(answer, dict) or not isinstance(answer.get("patterns"), list):
            raise PostHogServerError(
                "PostHog answered the group summary request without a list of patterns.", status=200
            )
        return answer

    def list_session_recordings(
        self, date_from: Any = None, date_to: Any = None, project_id: ProjectId = None, **filters: Any
    ) -> Iterator[dict[str, Any]]:
        """Yield every session recording that started in ``[date_from, date_to]``.

        :param date_from: aware datetime (sent with its offset), date, or PostHog text like ``-3d``.
        :param date_to: same forms as ``date_from``.
        :param project_id: overrides the hook's project.
        :param filters: further PostHog recording filters, e.g. ``person_uuid``.
        """
        return self.get_conn().paginate(endpoints.session_recordings(date_from, date_to, filters), project_id)

    # Sessions

    def get_session_property_definitions(
        self, search: str | None = None, is_numerical: bool | None = None, project_id: ProjectId = None
    ) -> list[dict[str, Any]]:
        """Session property definitions.

        :param search: words that must all appear in the property name.
        :param is_numerical: only numeric (``True``) or non-numeric (``False``) properties.
        :param project_id: overrides the hook's project.
        """
        answer = self.get_conn().call(
            endpoints.session_property_definitions(search, is_numerical), project_id
        )
        return list(answer["results"])

    def get_session_property_values(
        self, key: str, value: str | None = None, project_id: ProjectId = None
    ) -> list[dict[str, Any]]:
        """Values seen for a session property, e.g. ``$channel_type``.

        :param key: the property name.
        :param value: substring filter.
        :param project_id: overrides the hook's project.
        """
        answer = self.get_conn().call(endpoints.session_property_values(key, value), project_id)
        return list(answer["results"])

    # Subscriptions

    def list_subscriptions(self, project_id: ProjectId = None, **filters: Any) -> Iterator[dict[str, Any]]:
        """Yield every subscription (deleted ones only with ``deleted=True``).

        :param project_id: overrides the hook's project.
        :param filters: PostHog filters such as ``insight``, ``dashboard``, ``deleted``.
        """
        return self.get_conn().paginate(endpoints.subscriptions(filters), project_id)

    def create_subscription(self, project_id: ProjectId = None, **fields: Any) -> dict[str, Any]:
        """Create a subscription; raises :class:`PostHogResponseLostError` rather than risk a duplicate.

        :param project_id: overrides the hook's project.
        :param fields: ``target_type``, ``target_value``, ``frequency``, ``start_date``, ``insight`` or
            ``dashboard``, ...
        """
        return self.get_conn().call(endpoints.create_subscription(fields), project_id)

    def get_subscription(self, subscription_id: int | str, project_id: ProjectId = None) -> dict[str, Any]:
        """One subscription (also a soft-deleted one).

        :param subscription_id: its integer id.
        :param project_id: overrides the hook's project.
        """
        return self.get_conn().call(endpoints.subscription(subscription_id), project_id)

    def update_subscription(
        self, subscription_id: int | str, project_id: ProjectId = None, **fields: Any
    ) -> dict[str, Any]:
        """Change fields of a subscription.

        :param subscription_id: its integer id.
        :param project_id: overrides the hook's project.
        :param fields: the fields to change.
        """
        return self.get_conn().call(endpoints.update_subscription(subscription_id, fields), project_id)

    def delete_subscription(self, subscription_id: int | str, project_id: ProjectId = None) -> dict[str, Any]:
        """Soft-delete a subscription (``PATCH {"deleted": true}``; PostHog refuses DELETE).

        :param subscription_id: its integer id.
        :param project_id: overrides the hook's project.
        """
        return self.get_conn().call(endpoints.delete_subscription(subscription_id), project_id)

    def send_subscription_test_delivery(
        self, subscription_id: int | str, project_id: ProjectId = None
    ) -> None:
        """Deliver a subscription once, now (PostHog answers 202 and delivers in the background).

        It sends a real email or Slack message, so a lost answer is never re-sent: it raises
        :class:`PostHogResponseLostError`, and :meth:`list_subscription_deliveries` shows whether it
        went out. PostHog allows 10 a minute per project, refuses a disabled subscription (409) and
        one whose test delivery is still running (409, "Delivery already in progress").

        :param subscription_id: its integer id.
        :param project_id: overrides the hook's project.
        """
        self.get_conn().call(endpoints.send_subscription_test_delivery(subscription_id), project_id)

    def list_subscription_deliveries(
        self, subscription_id: int | str, status: str | None = None, project_id: ProjectId = None
    ) -> Iterator[dict[str, Any]]:
        """Yield a subscription's deliveries, newest first (every cursor page of 50 is walked).

        :param subscription_id: its integer id.
        :param status: only deliveries in this state: ``starting``, ``completed``, ``failed`` or
            ``skipped``.
        :param project_id: overrides the hook's project.
        """
        return self.get_conn().paginate(
            endpoints.subscription_deliveries(subscription_id, status), project_id
        )

    # User interviews

    def list_user_interviews(self, project_id: ProjectId = None) -> Iterator[dict[str, Any]]:
        """Yield every user interview.

        :param project_id: overrides the hook's project.
        """
        return self.get_conn().paginate(endpoints.user_interviews(), project_id)

    def create_user_interview(
        self,
        audio: AudioInput,
        interviewee_emails: Iterable[str],
        summary: str | None = None,
        project_id: ProjectId = None,
    ) -> dict[str, Any]:
        """Upload an interview recording (multipart); PostHog transcribes and summarises it.

        PostHog does that work before it answers, so this call reads with a long timeout of its own
        (``limits.USER_INTERVIEW_CREATE_READ_TIMEOUT``, 600 s; the connection's ``timeout`` if that is
        longer). A lost answer is never re-sent: it raises
        :class:`PostHogResponseLostError`, and the interview may exist.

        :param audio: a file path, the bytes, or a binary file object (at most 20 MB).
        :param interviewee_emails: addresses of the people interviewed, at least one (PostHog
            refuses a create without one).
        :param summary: optional summary (PostHog replaces it with its own on create).
        :param project_id: overrides the hook's project.
        """
        call = endpoints.create_user_interview(audio, interviewee_emails, summary)
        return self.get_conn().call(call, project_id)

    def get_user_interview(self, interview_id: str, project_id: ProjectId = None) -> dict[str, Any]:
        """One user interview.

        :param interview_id: its UUID.
        :param project_id: overrides the hook's project.
        """
        return self.get_conn().call(endpoints.user_interview(interview_id), project_id)

    def update_user_interview(
        self, interview_id: str, project_id: ProjectId = None, **fields: Any
    ) -> dict[str, Any]:
        """Change fields of a user interview, e.g. ``summary``.

        :param interview_id: its UUID.
        :param project_id: overrides the hook's project.
        :param fields: the fields to change.
        """
        call = endpoints.update_user_interview(interview_id, fields)
        return self.get_conn().call(call, project_id)

    def delete_user_interview(self, interview_id: str, project_id: ProjectId = None) -> None:
        """Delete a user interview.

        :param interview_id: its UUID.
        :param project_id: overrides the hook's project.
        """
        self.get_conn().call(endpoints.delete_user_interview(interview_id), project_id)

    # Warehouse saved queries

    def list_saved_queries(
        self, search: str | None = None, project_id: ProjectId = None
    ) -> Iterator[dict[str, Any]]:
        """Yield every saved query (view).

        :param search: substring of the name.
        :param project_id: overrides the hook's project.
        """
        return self.get_conn().paginate(endpoints.saved_queries(search), project_id)

    def create_saved_query(
        self, name: str, query: str | Mapping[str, Any], project_id: ProjectId = None, **fields: Any
    ) -> dict[str, Any]:
        """Create a saved query, or update the one with this name (PostHog upserts by name).

        :param name: the view name: letters, digits, ``_``, ``.``, ``$``.
        :param query: HogQL text, or a full query object.
        :param project_id: overrides the hook's project.
        :param fields: further fields, e.g. ``description``, ``incremental`` (``{"enabled",
            "incremental_key", "unique_key", "lookback_seconds"}``), ``edited_history_id`` or
            ``soft_update``.
        """
        call = endpoints.create_saved_query(name, query, fields)
        return self.get_conn().call(call, project_id)

    def check_incremental_eligibility(
        self,
        query: str,
        incremental_key: str | None = None,
        unique_key: Iterable[str] | None = None,
        lookback_seconds: int | None = None,
        project_id: ProjectId = None,
    ) -> dict[str, Any]:
        """Ask PostHog whether a view of ``query`` can be materialized incrementally; nothing is saved.

        A check before creating or changing an incremental view (``create_saved_query(...,
        incremental={...})``). Without ``incremental_key`` and ``unique_key`` PostHog only lists the
        columns that could serve; with them it checks that choice too. The answer: ``eligible``,
        ``key_candidates``, ``unique_key_candidates``, ``key_candidate_types``, ``blockers`` and
        ``warnings`` (PostHog's sentences). Scope ``warehouse_view:read``; 120 a minute per key.

        :param query: HogQL text, at most 64 KiB.
        :param incremental_key: the column whose advancing value marks new rows.
        :param unique_key: the columns that identify a row.
        :param lookback_seconds: how far before the last run's high point to re-read, 0 to 30 days.
        :param project_id: overrides the hook's project.
        """
        call = endpoints.check_incremental_eligibility(query, incremental_key, unique_key, lookback_seconds)
        return self.get_conn().call(call, project_id)

    def get_saved_query(self, saved_query_id: str, project_id: ProjectId = None) -> dict[str, Any]:
        """One saved query with ``status``, ``last_run_at``, ``latest_error``.

        :param saved_query_id: its UUID.
        :param project_id: overrides the hook's project.
        """
        return self.get_conn().call(endpoints.saved_query(saved_query_id), project_id)

    def update_saved_query(
        self, saved_query_id: str, project_id: ProjectId = None, **fields: Any
    ) -> dict[str, Any]:
        """Change fields of a saved query; a ``query`` given as text is wrapped as HogQL.

        PostHog takes a new ``query`` only with the view's current ``edited_history_id``, so when the
        query changes and neither ``edited_history_id`` nor ``soft_update`` is given, the view is read
        first and its ``latest_history_id`` sent. If someone edits the view between that read and the
        write, PostHog refuses the write (:class:`~airflow_provider.api.errors.PostHogValidationError`
        saying so) and their edit stays: nothing is overwritten.

        :param saved_query_id: its UUID.
        :param project_id: overrides the hook's project.
        :param fields: the fields to change, e.g. ``query``, ``name``, ``description`` or
            ``incremental`` (``None`` turns it off).
        """
        call = endpoints.update_saved_query(saved_query_id, fields)  # checked before any request
        if "query" in fields and "edited_history_id" not in fields and not fields.get("soft_update"):
            current = self.get_saved_query(saved_query_id, project_id=project_id)
            call = replace(call, json={**call.json, "edited_history_id": current.get("latest_history_id")})
        return self.get_conn().call(call, project_id)

    def delete_saved_query(self, saved_query_id: str, project_id: ProjectId = None) -> None:
        """Delete a saved query.

        :param saved_query_id: its UUID.
        :param project_id: overrides the hook's project.
        """
        self.get_conn().call(endpoints.delete_saved_query(saved_query_id), project_id)

    def run_saved_query(
        self, saved_query_id: str, project_id: ProjectId = None, full_refresh: bool = False
    ) -> None:
        """Ask PostHog to run a saved query now (no run id comes back; watch its jobs).

        :param saved_query_id: its UUID.
        :param project_id: overrides the hook's project.
        :param full_refresh: rebuild an incremental view's whole table instead of updating it (no
            effect on a view that is not incremental).
        """
        self.get_conn().call(endpoints.run_saved_query(saved_query_id, full_refresh), project_id)

    def cancel_saved_query(self, saved_query_id: str, project_id: ProjectId = None) -> None:
        """Cancel a running saved query; PostHog answers 403 (:class:`PostHogPermissionError`) for
        personal API keys.

        :param saved_query_id: its UUID.
        :param project_id: overrides the hook's project.
        """
        self.get_conn().call(endpoints.cancel_saved_query(saved_query_id), project_id)

    def resume_saved_query(self, saved_query_id: str, project_id: ProjectId = None) -> bool:
        """Resume a saved query PostHog suspended after repeated failed runs, without running it:
        its scheduled refreshes, which skip a suspended view, run it again. (A run resumes it too.)

        Sent again after a lost answer when the client retries: a resume only clears the suspension,
        so a second one changes nothing.

        :param saved_query_id: its UUID.
        :param project_id: overrides the hook's project.
        :return: whether it was suspended (``False``: there was nothing to resume).
        """
        answer = self.get_conn().call(endpoints.resume_saved_query(saved_query_id), project_id)
        return bool(answer["resumed"])

    def materialize_saved_query(
        self, saved_query_id: str, sync_frequency: str | None = None, project_id: ProjectId = None
    ) -> None:
        """Materialize a saved query on a schedule; PostHog refreshes it once at once, then on the schedule.

        :param saved_query_id: its UUID.
        :param sync_frequency: ``15min``, ``30min``, ``1hour``, ``6hour``, ``12hour``, ``24hour`` (PostHog's
            default, used for ``None``), ``7day`` or ``30day``; ``1min`` and ``5min`` are accepted but
            PostHog raises them to ``15min`` (a warning is logged). ``never`` is refused before sending:
            stop a schedule with :meth:`revert_saved_query_materialization`.
        :param project_id: overrides the hook's project.
        """
        call = endpoints.materialize_saved_query(saved_query_id, sync_frequency)
        if sync_frequency in SYNC_FREQUENCIES_RAISED:
            self.log.warning(
                "PostHog refreshes materialized views at most every %s: sync_frequency=%r will be stored "
                "as %r.",
                SYNC_FREQUENCY_FLOOR,
                sync_frequency,
                SYNC_FREQUENCY_FLOOR,
            )
        self.get_conn().call(call, project_id)

    def revert_saved_query_materialization(self, saved_query_id: str, project_id: ProjectId = None) -> None:
        """Stop materializing a saved query.

        :param saved_query_id: its UUID.
        :param project_id: overrides the hook's project.
        """
        self.get_conn().call(endpoints.revert_saved_query_materialization(saved_query_id), project_id)

    def get_saved_query_run_history(
        self, saved_query_id: str, project_id: ProjectId = None
    ) -> list[dict[str, Any]]:
        """The last runs of a saved query (at most 5), newest first.

        :param saved_query_id: its UUID.
        :param project_id: overrides the hook's project.
        """
        answer = self.get_conn().call(endpoints.saved_query_run_history(saved_query_id), project_id)
        return list(answer["run_history"])

    def list_data_modeling_jobs(
        self, saved_query_id: str | None = None, page_size: int | None = None, project_id: ProjectId = None
    ) -> Iterator[dict[str, Any]]:
        """Yield saved-query runs ("jobs"), newest first, walking cursor pages.

        :param saved_query_id: only this saved query's jobs.
        :param page_size: jobs per page.
        :param project_id: overrides the hook's project.
        """
        return self.get_conn().paginate(endpoints.data_modeling_jobs(saved_query_id, page_size), project_id)


class PostHogAsyncHook(BaseHook):
    """Calls PostHog from the triggerer without blocking the event loop.

    Hooks of the same connection in the same event loop share one aiohttp session, which the last
    of them to :meth:`close` closes. Use ``async with PostHogAsyncHook(...) as hook:`` or call
    :meth:`close` (a trigger's ``cleanup``).

    :param posthog_conn_id: the ``posthog`` connection to use.
    :param project_id: project (environment) id; overrides the connection's ``project_id`` extra.
    """

    conn_name_attr = "posthog_conn_id"
    default_conn_name = "posthog_default"
    conn_type = "posthog"
    hook_name = "PostHog"

    def __init__(self, posthog_conn_id: str = default_conn_name, project_id: ProjectId = None) -> None:
        super().__init__()
        self.posthog_conn_id = posthog_conn_id
        self.project_id = _validated_project_id(project_id)
        self._client: AsyncPostHogClient | None = None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(posthog_conn_id={self.posthog_conn_id!r}, project_id={self.project_id!r})"
        )

    async def get_conn(self) -> AsyncPostHogClient:
        """The async client, built on first use (connection looked up with ``aget_connection``)."""
        if self._client is None:
            from airflow_provider.api.async_transport import acquire_shared_transport
            from airflow_provider.api.client import AsyncPostHogClient

            conn = await self.aget_connection(self.posthog_conn_id)
            config = _client_config(conn, await _async_extra(conn), self.project_id, None, None)
            if self._client is None:  # a concurrent first call may have finished while this one awaited
                self._client = AsyncPostHogClient(
                    config, transport=acquire_shared_transport(self.posthog_conn_id)
                )
        return self._client

    async def close(self) -> None:
        """Release this hook's share of the session (closed when the last hook releases it)."""
        if self._client is not None:
            from airflow_provider.api.async_transport import release_shared_transport

            self._client = None
            await release_shared_transport(self.posthog_conn_id)

    async def __aenter__(self) -> PostHogAsyncHook:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def test_connection(self) -> tuple[bool, str]:
        """One authenticated GET of the project; tells a wrong key, wrong project and missing scope apart."""
        try:
            client = await self.get_conn()
            project = await client.call(endpoints.project())
        except PostHogError as exc:
            return False, connection_test_message(exc)
        return True, _connected_message(client.config, project)

    async def list_saved_queries(
        self, search: str | None = None, project_id: ProjectId = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield every saved query (view).

        :param search: substring of the name.
        :param project_id: overrides the hook's project.
        """
        client = await self.get_conn()
        async for saved_query in client.paginate(endpoints.saved_queries(search), project_id):
            yield saved_query

    async def get_saved_query(self, saved_query_id: str, project_id: ProjectId = None) -> dict[str, Any]:
        """One saved query with ``status``, ``last_run_at``, ``latest_error``.

        :param saved_query_id: its UUID.
        :param project_id: overrides the hook's project.
        """
        client = await self.get_conn()
        return await client.call(endpoints.saved_query(saved_query_id), project_id)

    async def list_data_modeling_jobs(
        self, saved_query_id: str | None = None, page_size: int | None = None, project_id: ProjectId = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield saved-query runs ("jobs"), newest first, walking cursor pages.

        :param saved_query_id: only this saved query's jobs.
        :param page_size: jobs per page (``1`` to read just the newest).
        :param project_id: overrides the hook's project.
        """
        call = endpoints.data_modeling_jobs(saved_query_id, page_size)
        client = await self.get_conn()
        async for job in client.paginate(call, project_id):
            yield job

    async def run_saved_query(
        self, saved_query_id: str, project_id: ProjectId = None, full_refresh: bool = False
    ) -> None:
        """Ask PostHog to run a saved query now.

        :param saved_query_id: its UUID.
        :param project_id: overrides the hook's project.
        :param full_refresh: rebuild an incremental view's whole table instead of updating it.
        """
        call = endpoints.run_saved_query(saved_query_id, full_refresh)  # checked before connecting
        client = await self.get_conn()
        await client.call(call, project_id)

    async def cancel_saved_query(self, saved_query_id: str, project_id: ProjectId = None) -> None:
        """Cancel a running saved query; PostHog answers 403 for personal API keys.

        :param saved_query_id: its UUID.
        :param project_id: overrides the hook's project.
        """
        client = await self.get_conn()
        await client.call(endpoints.cancel_saved_query(saved_query_id), project_id)


#: Characters of session ids per stored-summaries request: keeps the URL well under the 8 KB that
#: proxies commonly accept (about 100 UUIDs).
_SESSION_IDS_QUERY_CHARS = 4000


def _query_chunks(session_ids: list[str]) -> list[str]:
    """``session_ids`` as comma lists of at most :data:`_SESSION_IDS_QUERY_CHARS` characters each."""
    chunks: list[str] = []
    current: list[str] = []
    length = 0
    for session_id in session_ids:
        if current and length + 1 + len(session_id) > _SESSION_IDS_QUERY_CHARS:
            chunks.append(",".join(current))
            current, length = [], 0
        current.append(session_id)
        length += len(session_id) + (1 if length else 0)
    if current:
        chunks.append(",".join(current))
    return chunks


def connection_test_message(exc: PostHogError) -> str:
    """Say which of key, project or scope is wrong, from a failed connection test.

    :param exc: the error of the project GET.
    """
    if isinstance(exc, PostHogAuthenticationError):
        return f"Wrong API key for this host/region. {exc}"
    if isinstance(exc, PostHogNotFoundError):
        return f"Wrong project: the project was not found. {exc}"
    if isinstance(exc, PostHogPermissionError):
        if "missing required scope" in exc.detail:
            return f"Missing scope: the key is valid but lacks a scope. {exc}"
        return f"No access to this project with this key. {exc}"
    if isinstance(exc, PostHogConfigError):
        return f"Invalid connection settings. {exc}"
    return f"Could not check the connection. {exc}"


def _connected_message(config: ClientConfig, project: Any) -> str:
    name = project.get("name") if isinstance(project, dict) else None
    project_id = project.get("id") if isinstance(project, dict) else config.project_id
    return f"Connected to PostHog at {config.host}: project {project_id}" + (f" ({name})." if name else ".")


def _validated_project_id(project_id: ProjectId) -> str | None:
    if project_id is None:
        return None
    return require_project_id("project_id", project_id)


def _client_config(
    conn: Connection,
    extra: Mapping[str, Any],
    project_id: str | None,
    timeout: float | None,
    max_retries: int | None,
) -> ClientConfig:
    from airflow_provider.api.config import ClientConfig

    return ClientConfig.from_connection_fields(
        host=conn.host,
        api_key=conn.password,
        extra=extra,
        port=conn.port,
        project_id=project_id,
        timeout=timeout,
        max_retries=max_retries,
    )


async def _async_extra(conn: Connection) -> dict[str, Any]:
    # Airflow 3.3.2+ masks extras asynchronously; before it, parse the JSON here rather than call
    # the sync ``extra_dejson``, whose masking can deadlock inside the event loop.
    accessor = getattr(conn, "aextra_dejson", None)
    if accessor is not None:
        return dict(await accessor())
    try:
        return dict(json.loads(conn.extra)) if conn.extra else {}
    except ValueError as exc:
        raise PostHogConfigError(f"The connection's extra is not valid JSON: {exc}.") from None
