"""Warehouse saved queries and their data-modeling jobs: validation rules and the job lifecycle.

Rules from docs/posthog-api.md sections 7.5 and 8. Jobs move ``Running`` -> terminal status when read
after their finish time, so no background task is needed and tests control time through
``job_run_seconds``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from . import fields
from .errors import required, validation_error
from .seed import stable_uuid
from .timefmt import iso, parse_datetime

VIEW_NAME = re.compile(r"^[A-Za-z_$][A-Za-z0-9_.$]*$")
NAME_MAX_LENGTH = 128
#: PostHog's own tables; a view may not take their names.
POSTHOG_TABLES = frozenset(
    {
        "events",
        "persons",
        "person_distinct_ids",
        "sessions",
        "groups",
        "cohort_people",
        "static_cohort_people",
        "session_replay_events",
        "log_entries",
        "numbers",
        "heatmaps",
        "query_log",
        "error_tracking_issue_fingerprint_overrides",
        "document_embeddings",
    }
)
#: ``sync_frequency`` values PostHog accepts on materialize; ``never`` is refused (400).
SYNC_FREQUENCIES = ("1min", "5min", "15min", "30min", "1hour", "6hour", "12hour", "24hour", "7day", "30day")
#: Frequencies PostHog accepts but silently raises to its 15-minute floor.
RAISED_TO_FLOOR = frozenset({"1min", "5min"})
SYNC_FREQUENCY_FLOOR = "15min"
#: data_modeling_jobs pages: PostHog's default and largest ``limit``.
JOBS_DEFAULT_LIMIT = 10
JOBS_MAX_LIMIT = 100
RUN_HISTORY_LENGTH = 5
#: PostHog's error on a job a newer run of the view's DAG took over from (``PREEMPTED_ERROR`` in
#: ``posthog/temporal/data_modeling/activities/preempt_dag_run.py``).
PREEMPTED_ERROR = "Preempted: a new DAG run started before this job completed"
#: PostHog's error on a job whose materialization workflow was lost.
ABANDONED_ERROR = "Abandoned: the materialization workflow is no longer running"
#: Consecutive failed jobs after which PostHog suspends a view's node from its scheduled DAG runs
#: (``CONSECUTIVE_FAILURES_TO_SUSPEND`` in ``posthog/temporal/data_modeling/activities/utils.py``).
CONSECUTIVE_FAILURES_TO_SUSPEND = 5
#: The engine a suspension is kept under: the emulator's jobs are all ClickHouse ones.
SUSPENSION_ENGINE = "clickhouse"
#: What PostHog writes into the job that tripped the suspension (``maybe_suspend_node_for_engine``).
SUSPENDED_ERROR = (
    "This model has been suspended after {count} consecutive failed materializations. Error: {error}"
)
#: Why PostHog's DAG run skips a suspended node (``_classify_level_nodes`` in ``execute_dag.py``).
SUSPENDED_SKIP_REASON = f"Node is suspended for {SUSPENSION_ENGINE}"
#: Failures PostHog caused itself, which neither count towards a suspension nor continue a streak
#: (``EXTERNALLY_ABORTED_MARKERS``): too many simultaneous queries, lost connections, a refused
#: graph, preempted and abandoned jobs, quality-check holds.
EXTERNALLY_ABORTED_MARKERS = (
    "Code: 202",
    "Cannot connect to host",
    "Connection refused",
    "QueueEmpty: ",
    "Preempted: ",
    ABANDONED_ERROR,
    "Not published:",
)
#: ``sync_frequency_bounds`` of a view whose cadence no lineage bounds: PostHog's
#: ``_unbounded_frequency_payload``; "legacy" is its mode where any cadence is accepted.
_NO_BOUNDS: dict[str, Any] = {
    "frequency_mode": "legacy",
    "options": [],
    "floor": None,
    "ceiling": None,
    "best_effort_sources": [],
    "best_effort_sources_withheld": False,
}
#: Stored fields this emulator keeps besides the older ones, with their defaults.
_NEWER_FIELDS: dict[str, Any] = {
    "incremental": None,
    "description": None,
    "is_test": False,
    "_updated_at": None,
    "_suspended": {},  # engine -> PostHog's marker: at, reason, job_id
    "_suspension_reset_at": None,  # failures created before this no longer count
}
_SELECT = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def validate_name(name: Any) -> str:
    """PostHog's view-name rules.

    :param name: the ``name`` from the body.
    :raises APIError: 400 on the ``name`` field.
    """
    if name is None:
        raise required("name")
    if not isinstance(name, str):
        raise validation_error("name", "invalid", "Not a valid string.")
    name = name.strip()  # DRF's CharField trims before validating
    if not name:
        raise validation_error("name", "blank", "This field may not be blank.")
    if len(name) > NAME_MAX_LENGTH:
        raise validation_error(
            "name", "max_length", f"Ensure this field has no more than {NAME_MAX_LENGTH} characters."
        )
    if not VIEW_NAME.match(name):
        raise validation_error(
            "name",
            "invalid",
            f"{name} is not a valid view name. "
            "View names can only contain letters, numbers, '_', '.', or '$' ",
        )
    if name.lower() in POSTHOG_TABLES:
        raise validation_error(
            "name",
            "invalid",
            f"{name} is not a valid view name. View names cannot overlap with PostHog table names.",
        )
    return name


def validate_query(query: Any) -> dict[str, Any]:
    """A saved query's ``query``: an object with a HogQL ``query`` string that looks like a SELECT.

    :param query: the ``query`` from the body.
    :raises APIError: 400 on the ``query`` field.
    """
    if query is None:
        raise required("query")
    if not isinstance(query, dict):
        raise validation_error(
            "query",
            "invalid",
            f'Query must be a JSON object with a "query" key, got {type(query).__name__}.',
        )
    sql = query.get("query")
    if not isinstance(sql, str) or not sql.strip():
        raise validation_error(
            "query", "invalid", 'Query object must contain a non-empty "query" key with the SQL string.'
        )
    placeholder = _PLACEHOLDER.search(sql)
    if placeholder:
        raise validation_error(
            "query", "invalid", f"Variables like {{{placeholder.group(1)}}} are not allowed in views"
        )
    if not _SELECT.match(sql):
        first_word = sql.split()[0]
        raise validation_error(
            "query",
            "invalid",
            f"Invalid query: Syntax error at line 1, column 0: no viable alternative at input '{first_word}'",
        )
    return {"kind": query.get("kind", "HogQLQuery"), "query": sql}


def infer_columns(sql: str) -> list[dict[str, Any]]:
    """Column descriptions from the SELECT list (alias or last name part; counts are integers).

    :param sql: the view's HogQL.
    """
    select = re.split(
        r"\bfrom\b", re.sub(r"^\s*select\s+", "", sql, flags=re.IGNORECASE), maxsplit=1, flags=re.IGNORECASE
    )[0]
    columns = []
    for expression in _split_top_level(select):
        alias = re.search(r"\bas\s+([A-Za-z_$][\w$]*)\s*$", expression, re.IGNORECASE)
        name = (
            alias.group(1) if alias else re.split(r"[.\s()]+", expression.strip().rstrip(")"))[-1] or "column"
        )
        counted = re.match(r"\s*(count|sum|uniq)\w*\s*\(", expression, re.IGNORECASE)
        columns.append(
            {
                "key": name,
                "name": name,
                "type": "integer" if counted else "string",
                "schema_valid": True,
                "fields": None,
                "table": None,
                "chain": None,
            }
        )
    return columns


def new_saved_query(
    saved_query_id: str,
    name: str,
    query: dict[str, Any],
    *,
    created_at: str,
    created_by: dict[str, Any],
    history_id: int,
) -> dict[str, Any]:
    """A saved query as stored: every field PostHog returns.

    :param saved_query_id: its UUID.
    :param name: view name (validated).
    :param query: ``{"kind": "HogQLQuery", "query": sql}`` (validated).
    :param created_at: creation time, ISO 8601.
    :param created_by: the creating user.
    :param history_id: the query's first ``latest_history_id``.
    """
    return {
        "id": saved_query_id,
        "deleted": False,
        "name": name,
        "query": query,
        "incremental": None,
        "created_by": created_by,
        "created_at": created_at,
        "description": None,
        "sync_frequency": None,
        "columns": infer_columns(query["query"]),
        "status": None,
        "last_run_at": None,
        "managed_viewset_kind": None,
        "latest_error": None,
        "latest_history_id": history_id,
        "is_materialized": False,
        "origin": "data_warehouse",
        "is_test": False,
        "_updated_at": created_at,  # PostHog's updated_at: decides whether ``Modified`` outranks a run
        "_suspended": {},
        "_suspension_reset_at": None,
    }


def present(
    saved_query: dict[str, Any],
    jobs: Iterable[dict[str, Any]],
    *,
    user: dict[str, Any],
    minimal: bool = False,
) -> dict[str, Any]:
    """A saved query as PostHog's serializers answer it.

    ``last_run_at``, ``status`` and ``latest_error`` come from the view's newest job (by its
    ``last_run_at``), whatever that job's status; a view edited since that job keeps ``Modified``;
    a view without jobs answers its own columns. ``minimal`` is the list's serializer: no ``query``,
    ``latest_history_id``, ``incremental``, ``incremental_state``, ``sync_frequency_bounds`` or
    ``suspended``, and ``is_incremental`` instead.

    :param saved_query: the stored saved query.
    :param jobs: every stored job (only this view's are used).
    :param user: the user the API key belongs to (the creator gets the highest access level).
    :param minimal: answer as the list does.
    """
    saved_query = {**_NEWER_FIELDS, **saved_query}  # a state file saved by an older emulator lacks them
    run = newest_job(saved_query["id"], jobs)
    status = saved_query["status"]
    edited_at = saved_query["_updated_at"] or saved_query["created_at"]
    if run is not None and not (status == "Modified" and _later(edited_at, run["last_run_at"])):
        status = run["status"]
    answer = {key: value for key, value in saved_query.items() if not key.startswith("_")}
    answer.update(
        status=status,
        last_run_at=saved_query["last_run_at"] if run is None else run["last_run_at"],
        latest_error=saved_query["latest_error"] if run is None else run["error"],
        folder_id=None,
        folder_name=None,
        expires_at=None,
        user_access_level="manager" if saved_query["created_by"] == user else "editor",
    )
    if minimal:
        for key in ("query", "latest_history_id", "incremental"):
            del answer[key]
        answer["is_incremental"] = bool(saved_query["incremental"] and saved_query["incremental"]["enabled"])
        return answer
    suspended = {engine: dict(marker) for engine, marker in saved_query["_suspended"].items()}
    answer.update(incremental_state=None, sync_frequency_bounds=dict(_NO_BOUNDS), suspended=suspended)
    return answer


def is_suspended(saved_query: dict[str, Any]) -> bool:
    """Whether PostHog's scheduled DAG runs skip this view (its node is suspended).

    :param saved_query: the stored saved query.
    """
    return bool(saved_query.get("_suspended"))


def resume(saved_query: dict[str, Any], now: datetime) -> bool:
    """Clear the view's suspension, as PostHog's ``clear_node_suspension`` does: the failures before
    ``now`` no longer count, so one new failure does not suspend it again.

    :param saved_query: the stored saved query.
    :param now: when it is resumed.
    :returns: whether it was suspended.
    """
    if not is_suspended(saved_query):
        return False
    saved_query["_suspended"] = {}
    saved_query["_suspension_reset_at"] = iso(now)
    return True


def _suspend_if_failing(
    saved_query: dict[str, Any], jobs: Iterable[dict[str, Any]], job: dict[str, Any]
) -> None:
    """PostHog's ``maybe_suspend_node_for_engine`` after ``job`` failed: suspend the view when its
    newest :data:`CONSECUTIVE_FAILURES_TO_SUSPEND` jobs since its last resume (``Skipped`` ones left
    out) all failed for reasons of their own, and say so in the failing job's error.

    An "Unknown table" failure is not counted: PostHog reverts such a view's materialization instead
    (not emulated).
    """
    if is_suspended(saved_query) or "Unknown table" in (job["error"] or ""):
        return
    since = parse_datetime(saved_query.get("_suspension_reset_at") or "")
    own = [
        other
        for other in jobs
        if other["saved_query_id"] == saved_query["id"]
        and other["status"] != "Skipped"
        # PostHog's ``created_at__gt``; at or after here, as a run's job can share its resume's microsecond
        and (since is None or (parse_datetime(other["created_at"]) or since) >= since)
    ]
    own.sort(key=lambda other: (other["created_at"], other["_sequence"]), reverse=True)
    streak = 0
    for other in own[:CONSECUTIVE_FAILURES_TO_SUSPEND]:
        aborted = any(marker in (other["error"] or "") for marker in EXTERNALLY_ABORTED_MARKERS)
        if other["status"] != "Failed" or aborted:
            break
        streak += 1
    if streak < CONSECUTIVE_FAILURES_TO_SUSPEND:
        return
    saved_query["_suspended"] = {
        SUSPENSION_ENGINE: {"at": job["last_run_at"], "reason": job["error"], "job_id": job["id"]}
    }
    job["error"] = SUSPENDED_ERROR.format(count=CONSECUTIVE_FAILURES_TO_SUSPEND, error=job["error"])
    saved_query["latest_error"] = job["error"]


def newest_job(saved_query_id: str, jobs: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """The view's job with the latest ``last_run_at`` (PostHog's ``order_by("-last_run_at")[:1]``).

    :param saved_query_id: the view's id.
    :param jobs: every stored job.
    """
    own = [job for job in jobs if job["saved_query_id"] == saved_query_id]
    return max(own, key=lambda job: (parse_datetime(job["last_run_at"]), job["_sequence"]), default=None)


def optional_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The writable fields besides ``name`` and ``query`` that ``body`` sets, checked as PostHog's
    serializer checks them: ``description`` (blank or null clears it), ``incremental`` (null turns it
    off), ``is_test`` (only staff may set it) and ``folder_id`` (the emulator has no folders).

    :param body: a create or update body.
    :raises APIError: 400 naming the field.
    """
    changes: dict[str, Any] = {}
    if "description" in body:
        description = body["description"]
        changes["description"] = (
            None if description is None else fields.string("description", description) or None
        )
    if "incremental" in body:
        changes["incremental"] = _incremental(body["incremental"])
    if "is_test" in body and fields.boolean("is_test", body["is_test"]):
        raise validation_error("is_test", "invalid", "Only staff users can create test views.")
    folder_id = body.get("folder_id")
    if folder_id is not None:
        raise validation_error(
            "folder_id", "does_not_exist", f'Invalid pk "{folder_id}" - object does not exist.'
        )
    return changes


def dependents(saved_query: dict[str, Any], saved_queries: Iterable[dict[str, Any]]) -> list[str]:
    """Names of the other live views whose query reads this view (``FROM``/``JOIN`` its name).

    :param saved_query: the view to delete.
    :param saved_queries: every stored view.
    """
    reads = re.compile(rf"\b(?:from|join)\s+{re.escape(saved_query['name'])}(?![\w.$])", re.IGNORECASE)
    return [
        other["name"]
        for other in saved_queries
        if other["id"] != saved_query["id"] and not other["deleted"] and reads.search(other["query"]["query"])
    ]


def _incremental(value: Any) -> dict[str, Any] | None:
    """PostHog's ``IncrementalConfigSerializer`` (shape only: whether the query can be incremental
    is PostHog's HogQL analysis, not emulated)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise validation_error(
            "incremental", "invalid", f"Invalid data. Expected a dictionary, but got {type(value).__name__}."
        )
    for name in ("incremental_key", "unique_key"):
        if name not in value:
            raise required(f"incremental__{name}")
    key = value["incremental_key"]
    unique_key = fields.a_list("incremental__unique_key", value["unique_key"])
    if not unique_key:
        raise validation_error("incremental__unique_key", "empty", "This list may not be empty.")
    return {
        "enabled": fields.boolean("incremental__enabled", value.get("enabled", False)),
        "incremental_key": fields.string("incremental__incremental_key", key, allow_blank=False),
        "unique_key": [
            fields.string(f"incremental__unique_key__{index}", item, allow_blank=False)
            for index, item in enumerate(unique_key)
        ],
        "lookback_seconds": fields.integer(
            "incremental__lookback_seconds", value.get("lookback_seconds", 0), min_value=0
        ),
    }


def _later(first: str | None, second: str | None) -> bool:
    first_at, second_at = parse_datetime(first or ""), parse_datetime(second or "")
    return first_at is not None and second_at is not None and first_at > second_at


def is_hidden(saved_query: dict[str, Any]) -> bool:
    """Whether PostHog leaves this view out of the saved-query list (views it made for endpoints).

    :param saved_query: a stored saved query (or any stored object: only views can be hidden).
    """
    return saved_query.get("origin") == "endpoint"


def new_job(
    saved_query: dict[str, Any],
    now: datetime,
    *,
    run_seconds: float,
    outcome: str,
    error: str,
    sequence: int,
    start_delay: float = 0.0,
) -> dict[str, Any]:
    """A data-modeling job that is ``Running`` from ``start_delay`` seconds after ``now`` and reaches
    ``outcome`` ``run_seconds`` later. Until it starts it is not listed (:func:`visible`): PostHog's
    workflow writes the job row in its first activity, after the API has answered.

    :param saved_query: the query being run.
    :param now: when the run was asked for.
    :param run_seconds: how long it stays ``Running``.
    :param outcome: its terminal status.
    :param error: the error text if ``outcome`` is ``Failed``.
    :param sequence: creation order, breaking ties between jobs created in the same microsecond.
    :param start_delay: seconds before the job row appears.
    """
    job_id = stable_uuid("job", saved_query["id"], now.timestamp(), sequence)
    now = now + timedelta(seconds=start_delay)
    workflow_id = f"{saved_query['id']}-{now.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}"
    return {
        "id": job_id,
        "saved_query_id": saved_query["id"],
        "status": "Running",
        "rows_materialized": 0,
        "error": None,
        "created_at": iso(now),
        "last_run_at": iso(now),  # PostHog sets it when the job starts: never null
        "workflow_id": workflow_id,
        "workflow_run_id": stable_uuid("workflow_run", workflow_id),
        "rows_expected": None,
        "_visible_at": now.timestamp(),  # epoch seconds: listed from then on
        "_finish_at": now.timestamp() + run_seconds,  # epoch seconds: compared on every request
        "_outcome": outcome,
        "_error": error if outcome == "Failed" else None,
        "_status_before": saved_query["status"],
        "_sequence": sequence,
    }


def visible(jobs: Iterable[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The jobs whose rows PostHog has written by ``now`` (see :func:`new_job`).

    :param jobs: stored jobs.
    :param now: the current time.
    """
    now_epoch = now.timestamp()
    return [job for job in jobs if job.get("_visible_at", 0.0) <= now_epoch]


def advance_jobs(
    jobs: dict[str, dict[str, Any]], saved_queries: dict[str, dict[str, Any]], now: datetime
) -> bool:
    """Finish every ``Running`` job whose time is up and update its saved query.

    :param jobs: all jobs by id.
    :param saved_queries: all saved queries by id.
    :param now: the current time.
    :returns: whether anything changed.
    """
    changed = False
    now_epoch = now.timestamp()
    # In the order they end, so a suspension counts the failures that ended before it.
    for job in sorted(jobs.values(), key=lambda job: (job["_finish_at"], job["_sequence"])):
        if job["status"] != "Running" or job["_finish_at"] > now_epoch:
            continue
        finished_at = datetime.fromtimestamp(job["_finish_at"], timezone.utc)
        saved_query = saved_queries.get(job["saved_query_id"])
        finish(job, saved_query, job["_outcome"], finished_at)
        if saved_query is not None and job["status"] == "Failed":
            _suspend_if_failing(saved_query, jobs.values(), job)
        changed = True
    return changed


def finish(job: dict[str, Any], saved_query: dict[str, Any] | None, outcome: str, at: datetime) -> None:
    """Move a job (and the saved query it runs) to a terminal status.

    :param job: the running job.
    :param saved_query: its saved query, if it still exists.
    :param outcome: ``Completed``, ``Failed``, ``Cancelled`` or ``Skipped``.
    :param at: when it finished.
    """
    job["status"] = outcome
    job["last_run_at"] = iso(at)
    if outcome == "Completed":
        job["rows_materialized"] = 1000 + int(job["id"][:4], 16) % 9000
        job["rows_expected"] = job["rows_materialized"]
    if outcome == "Failed":
        job["error"] = job["_error"]
    if saved_query is None:
        return
    if outcome == "Skipped":
        saved_query["status"] = job["_status_before"]
        return
    saved_query["status"] = outcome
    if outcome == "Completed":
        saved_query["last_run_at"] = iso(at)
        saved_query["latest_error"] = None
    elif outcome == "Failed":
        saved_query["latest_error"] = job["error"]


def public_job(job: dict[str, Any]) -> dict[str, Any]:
    """A job as the API shows it (internal ``_`` fields removed).

    :param job: the stored job.
    """
    return {key: value for key, value in job.items() if not key.startswith("_")}


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [part for part in [*parts, current] if part.strip()]
