"""``warehouse_saved_queries/`` and ``data_modeling_jobs/`` (docs/posthog-api.md sections 7.5 and 8).

POST is an upsert by name (200 when the name, exactly as sent, exists) with the
``edited_history_id`` check; the list is page-numbered, with PostHog's minimal items; answers take
``last_run_at``, ``status`` and ``latest_error`` from the view's newest job; DELETE is a soft 204,
or 400 while other views read the view; ``run`` (optional body ``{"full_refresh": bool}``) answers
200 with no body and starts a job that finishes after ``job_run_seconds`` (the view's own ``status``
column is not set to ``Running``; the answer shows the job's), or 400 for a view that is not fully
set up (``unready_saved_queries``);
``materialize`` starts a job too (both resume a suspended view first); ``resume`` answers
``{"resumed": bool}``; ``cancel`` is refused to personal API keys unless configured; jobs
are listed limit/offset, 10 a page by default and at most 100; ``check_incremental`` checks its body
as PostHog does but does not analyse the query (it says so in its answer).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from airflow_provider.emulator import fields
from airflow_provider.emulator.access import admit, emulator_of
from airflow_provider.emulator.bodies import json_object
from airflow_provider.emulator.errors import RawResponse, not_found, validation_error
from airflow_provider.emulator.pagination import limit_offset, page_number
from airflow_provider.emulator.routing import api_route
from airflow_provider.emulator.runtime import Emulator
from airflow_provider.emulator.seed import stable_uuid, utc_now
from airflow_provider.emulator.timefmt import iso
from airflow_provider.emulator.warehouse import (
    JOBS_DEFAULT_LIMIT,
    JOBS_MAX_LIMIT,
    RAISED_TO_FLOOR,
    RUN_HISTORY_LENGTH,
    SYNC_FREQUENCIES,
    SYNC_FREQUENCY_FLOOR,
    dependents,
    finish,
    infer_columns,
    is_hidden,
    new_saved_query,
    optional_fields,
    present,
    public_job,
    resume,
    validate_name,
    validate_query,
    visible,
)

READ_SCOPE = "warehouse_view:read"
WRITE_SCOPE = "warehouse_view:write"
DEFAULT_SYNC_FREQUENCY = "24hour"
MODIFIED_ELSEWHERE = "The query was modified by someone else."
NOT_SET_UP = "This view isn't fully set up to materialize. Save the query again, then try syncing."
NAME_TAKEN = "A table or view with this name already exists. Choose a different name."
HAS_DEPENDENTS = (
    "Cannot delete this view because other views depend on it. Delete or update those views first."
)


async def list_saved_queries(request: Request) -> Response:
    """Saved queries, newest first, page-numbered, ``search`` on the name; PostHog's minimal items
    (no ``query``, no ``latest_history_id``).

    :param request: the request.
    """
    await admit(request, READ_SCOPE)
    emulator = _advanced(request)
    search = request.query_params.get("search", "").lower()
    with emulator.state.lock:
        jobs = _listed_jobs(emulator)
        items = [
            present(item, jobs, user=emulator.state.user, minimal=True)
            for item in sorted(
                emulator.state.objects["saved_queries"].values(),
                key=lambda item: item["created_at"],
                reverse=True,
            )
            if not item["deleted"] and not is_hidden(item) and search in item["name"].lower()
        ]
    return JSONResponse(page_number(request, items, emulator.config.saved_query_page_size))


async def create_saved_query(request: Request) -> Response:
    """Create (201), or update the saved query that already has this name (200), hidden ones included:
    PostHog's upsert looks the name up, exactly as sent (untrimmed), among all the team's views. A
    name that matches only once trimmed is a create, refused because the name is taken.

    :param request: the request.
    """
    await admit(request, WRITE_SCOPE)
    emulator = _advanced(request)
    body = await json_object(request)
    raw_name = fields.get(body, "name", is_required=True)
    state = emulator.state
    existing = _named(emulator, raw_name)
    if existing is not None:
        body["name"] = validate_name(raw_name)
        _update(emulator, existing, body)
        return _answer(emulator, existing)
    name = validate_name(raw_name)
    if _named(emulator, name) is not None:
        raise validation_error("name", "invalid", NAME_TAKEN)
    query = validate_query(fields.get(body, "query", is_required=True))
    extra = optional_fields(body)
    now = utc_now()
    saved_query = new_saved_query(
        stable_uuid("saved_query", name, now.timestamp()),
        name,
        query,
        created_at=iso(now) or "",
        created_by=state.user,
        history_id=state.take_history_id(),
    )
    saved_query.update(extra)
    with state.lock:
        state.objects["saved_queries"][saved_query["id"]] = saved_query
    return _answer(emulator, saved_query, status_code=201)


async def retrieve_saved_query(request: Request) -> Response:
    """One saved query (deleted ones are not found).

    :param request: the request.
    """
    await admit(request, READ_SCOPE)
    return _answer(_advanced(request), _find(request))


async def update_saved_query(request: Request) -> Response:
    """``PATCH``/``PUT``: change the name, the query (``edited_history_id`` must be current), the
    ``description`` or ``incremental``; a new name must not be taken.

    :param request: the request.
    """
    await admit(request, WRITE_SCOPE)
    emulator = _advanced(request)
    saved_query = _find(request)
    body = await json_object(request)
    if "name" in body:
        body["name"] = validate_name(body["name"])
        if body["name"] != saved_query["name"] and _named(emulator, body["name"]) is not None:
            raise validation_error("name", "invalid", NAME_TAKEN)
    _update(emulator, saved_query, body)
    return _answer(emulator, saved_query)


async def destroy_saved_query(request: Request) -> Response:
    """Soft delete (204): marked deleted, renamed, materialization reverted; 400 while other views
    read it.

    :param request: the request.
    """
    await admit(request, WRITE_SCOPE)
    saved_query = _find(request)
    with emulator_of(request).state.lock:
        if dependents(saved_query, emulator_of(request).state.objects["saved_queries"].values()):
            raise validation_error(None, "invalid", HAS_DEPENDENTS)
        saved_query.update(
            deleted=True,
            name=f"POSTHOG_DELETED_{saved_query['id'].replace('-', '')}",
            is_materialized=False,
            sync_frequency=None,
        )
    return Response(status_code=204)


async def run_saved_query(request: Request) -> Response:
    """Start a data-modeling job: 200 with an empty body and no run id, like PostHog; 400 for a view
    that is not fully set up.

    The optional body ``{"full_refresh": bool}`` (PostHog's ``SavedQueryRunSerializer``, a DRF
    ``BooleanField``, default ``false``, no ``null``) is checked before the view is looked up, as
    PostHog does; the value is kept on the job as ``_full_refresh`` (PostHog's job has no such
    field, so the API never shows it).

    A run while a job of the view is running joins it (no second job), as PostHog's
    ``start_node_materialization`` does.

    :param request: the request.
    """
    saved_query_id = request.path_params["saved_query_id"]
    await admit(request, WRITE_SCOPE, ("saved_query",), f"saved_query:{saved_query_id}")
    body = await json_object(request)
    full_refresh = fields.get(body, "full_refresh", is_required=False)
    full_refresh = False if fields.is_missing(full_refresh) else fields.boolean("full_refresh", full_refresh)
    emulator = _advanced(request)
    saved_query = _find(request)
    if saved_query["name"] in emulator.config.unready_saved_queries:
        raise validation_error(None, "invalid_input", NOT_SET_UP)
    job = emulator.start_job(saved_query)
    with emulator.state.lock:
        job.setdefault("_full_refresh", full_refresh)  # a joined job keeps what it was started with
    return Response(status_code=200)


#: PostHog's ``CHECK_INCREMENTAL_MAX_QUERY_LENGTH`` and ``MAX_LOOKBACK_SECONDS`` (30 days).
CHECK_INCREMENTAL_MAX_QUERY_LENGTH = 64 * 1024
MAX_LOOKBACK_SECONDS = 30 * 24 * 3600
NOT_ANALYZED = "The emulator does not analyse HogQL: this answer has PostHog's shape only (docs/fidelity.md)."


async def check_incremental(request: Request) -> Response:
    """Whether a query could be materialized incrementally: PostHog's body rules and answer shape.

    The body is checked as PostHog's ``CheckIncrementalSerializer`` checks it (``query`` required,
    at most 64 KiB; ``incremental_key`` text or ``null``; ``unique_key`` a list of text or ``null``;
    ``lookback_seconds`` 0 to 30 days). The eligibility itself comes from PostHog's HogQL analysis,
    which the emulator does not have: it answers not eligible, with a blocker that says so. Its own
    throttle (120/minute per key, replacing the defaults) is not counted.

    :param request: the request.
    """
    await admit(request, READ_SCOPE, throttle_scopes=())
    body = await json_object(request)
    fields.string(
        "query",
        fields.get(body, "query", is_required=True),
        max_length=CHECK_INCREMENTAL_MAX_QUERY_LENGTH,
        allow_blank=False,
    )
    incremental_key = fields.get(body, "incremental_key", is_required=False, allow_null=True)
    if not fields.is_missing(incremental_key) and incremental_key is not None:
        fields.string("incremental_key", incremental_key, allow_blank=False)
    unique_key = fields.get(body, "unique_key", is_required=False, allow_null=True)
    if not fields.is_missing(unique_key) and unique_key is not None:
        for index, column in enumerate(fields.a_list("unique_key", unique_key)):
            fields.string(f"unique_key__{index}", column, allow_blank=False)
    lookback = fields.get(body, "lookback_seconds", is_required=False)
    if not fields.is_missing(lookback):
        seconds = fields.integer("lookback_seconds", lookback, min_value=0)
        if seconds > MAX_LOOKBACK_SECONDS:
            raise validation_error(
                "lookback_seconds",
                "max_value",
                f"Ensure this value is less than or equal to {MAX_LOOKBACK_SECONDS}.",
            )
    return JSONResponse(
        {
            "eligible": False,
            "key_candidates": [],
            "unique_key_candidates": [],
            "key_candidate_types": {},
            "blockers": [NOT_ANALYZED],
            "warnings": [],
        }
    )


async def cancel_saved_query(request: Request) -> Response:
    """403 for personal API keys (PostHog's ``cancel`` has no scopes) unless allowed by config.

    :param request: the request.
    """
    emulator = emulator_of(request)
    allowed = emulator.config.allow_cancel_with_personal_key
    await admit(request, WRITE_SCOPE if allowed else None)
    emulator = _advanced(request)
    saved_query = _find(request)
    with emulator.state.lock:
        running = [
            job
            for job in emulator.state.objects["data_modeling_jobs"].values()
            if job["saved_query_id"] == saved_query["id"] and job["status"] == "Running"
        ]
        if not running and saved_query["status"] != "Running":
            raise RawResponse(
                JSONResponse({"error": "Cannot cancel a query that is not running"}, status_code=400)
            )
        for job in running:
            finish(job, None, "Cancelled", utc_now())
        saved_query["status"] = "Cancelled"
    return Response(status_code=200)


async def resume_saved_query(request: Request) -> Response:
    """Clear a suspension without running (200 ``{"resumed": bool}``, ``false`` when the view was
    not suspended): PostHog's ``resume`` action, scope ``warehouse_view:write``. Schedules nothing;
    the next scheduled refresh runs the view again.

    :param request: the request.
    """
    await admit(request, WRITE_SCOPE)
    emulator = _advanced(request)
    saved_query = _find(request)
    with emulator.state.lock:
        resumed = resume(saved_query, utc_now())
    return JSONResponse({"resumed": resumed})


async def materialize_saved_query(request: Request) -> Response:
    """Turn materialization on (200, empty): ``is_materialized`` and a ``sync_frequency``.

    :param request: the request.
    """
    saved_query_id = request.path_params["saved_query_id"]
    await admit(request, WRITE_SCOPE, ("materialization",), f"materialization:{saved_query_id}")
    saved_query = _find(request)
    body = await json_object(request)
    frequency = body.get("sync_frequency", DEFAULT_SYNC_FREQUENCY)
    if frequency not in SYNC_FREQUENCIES:
        raise validation_error("sync_frequency", "invalid_choice", f'"{frequency}" is not a valid choice.')
    if frequency in RAISED_TO_FLOOR:
        frequency = SYNC_FREQUENCY_FLOOR  # accepted, but PostHog never refreshes more often
    emulator = _advanced(request)
    with emulator.state.lock:
        saved_query.update(is_materialized=True, sync_frequency=frequency)
    emulator.start_job(saved_query)  # PostHog refreshes a newly materialized view at once
    return Response(status_code=200)


async def revert_materialization(request: Request) -> Response:
    """Turn materialization off (200, empty): status, last run, error and frequency cleared.

    :param request: the request.
    """
    saved_query_id = request.path_params["saved_query_id"]
    await admit(request, WRITE_SCOPE, ("materialization",), f"materialization:{saved_query_id}")
    saved_query = _find(request)
    with emulator_of(request).state.lock:
        saved_query.update(
            status=None, last_run_at=None, latest_error=None, sync_frequency=None, is_materialized=False
        )
    return Response(status_code=200)


async def run_history(request: Request) -> Response:
    """The last five runs, newest first.

    :param request: the request.
    """
    await admit(request, READ_SCOPE)
    emulator = _advanced(request)
    saved_query = _find(request)
    with emulator.state.lock:
        jobs = _jobs_newest_first(emulator, saved_query["id"])[:RUN_HISTORY_LENGTH]
    history = [
        {"status": job["status"], "timestamp": job["last_run_at"] or job["created_at"]} for job in jobs
    ]
    return JSONResponse({"run_history": history})


async def list_data_modeling_jobs(request: Request) -> Response:
    """Jobs newest first, limit/offset (10 a page, at most 100), optionally for one ``saved_query_id``.

    :param request: the request.
    """
    await admit(request, READ_SCOPE)
    emulator = _advanced(request)
    with emulator.state.lock:
        jobs = [
            public_job(job)
            for job in _jobs_newest_first(emulator, request.query_params.get("saved_query_id"))
        ]
    return JSONResponse(
        limit_offset(request, jobs, default_limit=JOBS_DEFAULT_LIMIT, max_limit=JOBS_MAX_LIMIT)
    )


async def retrieve_data_modeling_job(request: Request) -> Response:
    """One job.

    :param request: the request.
    """
    await admit(request, READ_SCOPE)
    emulator = _advanced(request)
    job = emulator.state.objects["data_modeling_jobs"].get(request.path_params["job_id"])
    if job is None or not visible([job], utc_now()):
        raise not_found()
    return JSONResponse(public_job(job))


def _advanced(request: Request) -> Emulator:
    emulator = emulator_of(request)
    emulator.advance()
    return emulator


def _answer(emulator: Emulator, saved_query: dict[str, Any], status_code: int = 200) -> Response:
    with emulator.state.lock:
        jobs = _listed_jobs(emulator)
        answer = present(saved_query, jobs, user=emulator.state.user)
    return JSONResponse(answer, status_code=status_code)


def _named(emulator: Emulator, name: Any) -> dict[str, Any] | None:
    """The live view named exactly ``name`` (PostHog's lookup: no trimming, any origin)."""
    with emulator.state.lock:
        return next(
            (
                item
                for item in emulator.state.objects["saved_queries"].values()
                if item["name"] == name and not item["deleted"]
            ),
            None,
        )


def _find(request: Request) -> dict[str, Any]:
    saved_query: dict[str, Any] | None = (
        emulator_of(request).state.objects["saved_queries"].get(request.path_params["saved_query_id"])
    )
    if saved_query is None or saved_query["deleted"]:
        raise not_found()
    return saved_query


def _listed_jobs(emulator: Emulator) -> list[dict[str, Any]]:
    """The jobs whose rows exist yet (a job started is listed after ``job_start_delay``)."""
    return visible(emulator.state.objects["data_modeling_jobs"].values(), utc_now())


def _jobs_newest_first(emulator: Emulator, saved_query_id: str | None) -> list[dict[str, Any]]:
    jobs = [
        job
        for job in _listed_jobs(emulator)
        if saved_query_id is None or job["saved_query_id"] == saved_query_id
    ]
    return sorted(jobs, key=lambda job: (job["created_at"], job["_sequence"]), reverse=True)


def _update(emulator: Emulator, saved_query: dict[str, Any], body: dict[str, Any]) -> None:
    """Apply a partial update; a new query needs the current ``edited_history_id`` unless ``soft_update``."""
    changes: dict[str, Any] = optional_fields(body)
    if "name" in body:
        changes["name"] = body["name"]
    if "query" in body:
        query = validate_query(body["query"])
        soft_update = fields.boolean("soft_update", body.get("soft_update", False))
        edited = body.get("edited_history_id")
        if not soft_update and str(edited) != str(saved_query["latest_history_id"]):
            raise validation_error(None, "invalid", MODIFIED_ELSEWHERE)
        if query != saved_query["query"]:
            changes.update(
                query=query,
                columns=infer_columns(query["query"]),
                latest_history_id=emulator.state.take_history_id(),
                status="Modified",
            )
    if changes:
        changes["_updated_at"] = iso(utc_now())
    with emulator.state.lock:
        saved_query.update(changes)


_ITEM = "/warehouse_saved_queries/{saved_query_id}"
routes = [
    api_route("/warehouse_saved_queries", list_saved_queries, ["GET"]),
    api_route("/warehouse_saved_queries", create_saved_query, ["POST"]),
    api_route("/warehouse_saved_queries/check_incremental", check_incremental, ["POST"]),
    api_route(_ITEM, retrieve_saved_query, ["GET"]),
    api_route(_ITEM, update_saved_query, ["PATCH", "PUT"]),
    api_route(_ITEM, destroy_saved_query, ["DELETE"]),
    api_route(_ITEM + "/run", run_saved_query, ["POST"]),
    api_route(_ITEM + "/cancel", cancel_saved_query, ["POST"]),
    api_route(_ITEM + "/resume", resume_saved_query, ["POST"]),
    api_route(_ITEM + "/materialize", materialize_saved_query, ["POST"]),
    api_route(_ITEM + "/revert_materialization", revert_materialization, ["POST"]),
    api_route(_ITEM + "/run_history", run_history, ["GET"]),
    api_route("/data_modeling_jobs", list_data_modeling_jobs, ["GET"]),
    api_route("/data_modeling_jobs/{job_id}", retrieve_data_modeling_job, ["GET"]),
]
