"""Warehouse saved queries and data-modeling jobs (docs/posthog-api.md sections 7.5, 8, 9.6, 9.10)."""

from __future__ import annotations

from typing import Any

import pytest
from emulator_http import api, envelope, session
from helpers import wait_until

ONLY_CHARACTERS = "View names can only contain letters, numbers, '_', '.', or '$' "
SQL = {"kind": "HogQLQuery", "query": "SELECT event, count() AS total FROM events GROUP BY event"}


def create(emulator: Any, name: str = "events_by_name", query: dict[str, Any] = SQL) -> Any:
    response = session(emulator).post(
        api(emulator, "warehouse_saved_queries/"), json={"name": name, "query": query}
    )
    assert response.status_code == 201, response.text
    return response.json()


def get(emulator: Any, saved_query_id: str) -> Any:
    return session(emulator).get(api(emulator, f"warehouse_saved_queries/{saved_query_id}/")).json()


def run(emulator: Any, saved_query_id: str) -> Any:
    return session(emulator).post(api(emulator, f"warehouse_saved_queries/{saved_query_id}/run/"))


def jobs(emulator: Any, **params: Any) -> Any:
    return session(emulator).get(api(emulator, "data_modeling_jobs/"), params=params).json()


def test_create_answers_201_with_columns_and_no_status(emulator: Any) -> None:
    created = create(emulator)
    assert created["status"] is None and created["is_materialized"] is False
    assert [column["name"] for column in created["columns"]] == ["event", "total"]
    assert isinstance(created["latest_history_id"], int)
    assert emulator.counts()["saved_queries"] == 3


def test_post_with_an_existing_name_updates_it_with_200(emulator: Any) -> None:
    created = create(emulator)
    http = session(emulator)
    changed = {"kind": "HogQLQuery", "query": "SELECT 1 AS one"}
    stale = http.post(
        api(emulator, "warehouse_saved_queries/"), json={"name": created["name"], "query": changed}
    )
    assert stale.status_code == 400
    assert stale.json() == envelope(
        "validation_error", "invalid_input", "The query was modified by someone else."
    )
    upsert = http.post(
        api(emulator, "warehouse_saved_queries/"),
        json={"name": created["name"], "query": changed, "edited_history_id": created["latest_history_id"]},
    )
    assert upsert.status_code == 200
    assert upsert.json()["id"] == created["id"]
    assert upsert.json()["latest_history_id"] > created["latest_history_id"]
    assert emulator.counts()["saved_queries"] == 3


def test_soft_update_skips_the_history_check(emulator: Any) -> None:
    created = create(emulator)
    response = session(emulator).patch(
        api(emulator, f"warehouse_saved_queries/{created['id']}/"),
        json={"query": {"kind": "HogQLQuery", "query": "SELECT 2 AS two"}, "soft_update": True},
    )
    assert response.status_code == 200
    assert response.json()["status"] == "Modified"


@pytest.mark.parametrize(
    ("name", "detail"),
    [
        ("has space", f"has space is not a valid view name. {ONLY_CHARACTERS}"),
        ("1starts_with_digit", f"1starts_with_digit is not a valid view name. {ONLY_CHARACTERS}"),
        ("events", "events is not a valid view name. View names cannot overlap with PostHog table names."),
    ],
)  # fmt: skip
def test_view_name_rules(emulator: Any, name: str, detail: str) -> None:
    response = session(emulator).post(
        api(emulator, "warehouse_saved_queries/"), json={"name": name, "query": SQL}
    )
    assert response.status_code == 400
    assert response.json() == envelope("validation_error", "invalid_input", detail, "name")


def test_name_longer_than_128_and_bad_query_are_refused(emulator: Any) -> None:
    http = session(emulator)
    long_name = http.post(api(emulator, "warehouse_saved_queries/"), json={"name": "v" * 129, "query": SQL})
    assert long_name.json()["code"] == "max_length"
    not_object = http.post(api(emulator, "warehouse_saved_queries/"), json={"name": "v", "query": "SELECT 1"})
    assert not_object.json()["attr"] == "query"
    variables = http.post(
        api(emulator, "warehouse_saved_queries/"), json={"name": "v", "query": {"query": "SELECT {filters}"}}
    )
    assert variables.json()["detail"] == "Variables like {filters} are not allowed in views"


def test_list_is_page_numbered_with_search_and_without_query(emulator: Any) -> None:
    emulator.configure(saved_query_page_size=2)
    create(emulator, "view_a")
    http = session(emulator)
    first = http.get(api(emulator, "warehouse_saved_queries/")).json()
    assert first["count"] == 3
    assert first["next"] == f"{api(emulator, 'warehouse_saved_queries/')}?page=2"
    assert "query" not in first["results"][0]
    second = http.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None
    assert second["previous"] == api(emulator, "warehouse_saved_queries/")
    out_of_range = http.get(api(emulator, "warehouse_saved_queries/"), params={"page": 3})
    assert out_of_range.status_code == 404
    assert out_of_range.json() == envelope("invalid_request", "not_found", "Invalid page.")
    found = http.get(api(emulator, "warehouse_saved_queries/"), params={"search": "VIEW_"}).json()
    assert [item["name"] for item in found["results"]] == ["view_a"]


def test_delete_is_a_soft_204(emulator: Any) -> None:
    created = create(emulator)
    http = session(emulator)
    response = http.delete(api(emulator, f"warehouse_saved_queries/{created['id']}/"))
    assert response.status_code == 204
    assert http.get(api(emulator, f"warehouse_saved_queries/{created['id']}/")).status_code == 404
    assert emulator.counts()["saved_queries"] == 2
    assert create(emulator, created["name"])["id"] != created["id"]


def test_run_answers_200_empty_and_the_job_completes_after_job_run_seconds(emulator: Any) -> None:
    emulator.configure(job_run_seconds=0.3)
    created = create(emulator)
    response = run(emulator, created["id"])
    assert (response.status_code, response.content) == (200, b"")
    running = jobs(emulator, saved_query_id=created["id"])["results"][0]
    assert running["status"] == "Running"
    assert running["last_run_at"] == running["created_at"]  # never null, even while running
    view = get(emulator, created["id"])  # the answer shows the newest job's state
    assert (view["status"], view["last_run_at"]) == ("Running", running["last_run_at"])
    done = wait_until(
        lambda: get(emulator, created["id"])["status"] == "Completed" and get(emulator, created["id"]),
        what="the view's run to complete",
    )
    assert done["last_run_at"] is not None and done["latest_error"] is None
    job = jobs(emulator, saved_query_id=created["id"])["results"][0]
    assert job["status"] == "Completed" and job["rows_materialized"] > 0
    assert set(job) == {
        "id", "saved_query_id", "status", "rows_materialized", "error", "created_at", "last_run_at",
        "workflow_id", "workflow_run_id", "rows_expected",
    }  # fmt: skip


def test_run_of_a_view_that_is_not_fully_set_up_is_a_400_that_says_so_and_starts_no_job(
    emulator: Any,
) -> None:
    created = create(emulator, "half_made_view")
    emulator.configure(unready_saved_queries=["half_made_view"])
    response = run(emulator, created["id"])
    assert response.status_code == 400
    assert response.json() == envelope(
        "validation_error",
        "invalid_input",
        "This view isn't fully set up to materialize. Save the query again, then try syncing.",
    )
    assert jobs(emulator, saved_query_id=created["id"])["count"] == 0
    assert run(emulator, create(emulator, "ready_view")["id"]).status_code == 200  # others still run


def test_run_takes_posthogs_full_refresh_body_checked_as_a_drf_boolean_before_the_lookup(
    emulator: Any,
) -> None:
    created = create(emulator)
    http = session(emulator)
    url = api(emulator, f"warehouse_saved_queries/{created['id']}/run/")
    not_a_boolean = http.post(url, json={"full_refresh": "maybe"})
    null = http.post(url, json={"full_refresh": None})
    unknown_view = http.post(
        api(emulator, "warehouse_saved_queries/0193b5d2-0000-7000-8000-000000000009/run/"),
        json={"full_refresh": 2},
    )
    assert not_a_boolean.status_code == null.status_code == unknown_view.status_code == 400
    assert not_a_boolean.json() == envelope(
        "validation_error", "invalid_input", "Must be a valid boolean.", "full_refresh"
    )
    assert null.json() == envelope("validation_error", "null", "This field may not be null.", "full_refresh")
    assert jobs(emulator, saved_query_id=created["id"])["count"] == 0

    emulator.configure(job_run_seconds=0)  # each run ends at once, so the next one starts a job
    assert http.post(url, json={"full_refresh": True}).status_code == 200
    assert http.post(url, json={"full_refresh": "false"}).status_code == 200
    assert run(emulator, created["id"]).status_code == 200  # no body: PostHog's default, false
    stored = sorted(
        (job for job in emulator.emulator.state.objects["data_modeling_jobs"].values()),
        key=lambda job: job["_sequence"],
    )
    assert [job["_full_refresh"] for job in stored if job["saved_query_id"] == created["id"]] == [
        True,
        False,
        False,
    ]
    assert all("full_refresh" not in job for job in jobs(emulator, saved_query_id=created["id"])["results"])


def test_failed_job_sets_latest_error(emulator: Any) -> None:
    emulator.configure(job_run_seconds=0.05, job_outcome="Failed", job_error="Unknown table events_v2")
    created = create(emulator)
    run(emulator, created["id"])
    failed = wait_until(
        lambda: get(emulator, created["id"])["status"] == "Failed" and get(emulator, created["id"]),
        what="the view's run to fail",
    )
    assert failed["latest_error"] == "Unknown table events_v2"
    assert jobs(emulator)["results"][0]["error"] == "Unknown table events_v2"


def test_a_skipped_job_is_what_the_view_answers_as_its_newest_job(emulator: Any) -> None:
    emulator.configure(job_run_seconds=0.05, job_outcome="Skipped")
    created = create(emulator)
    run(emulator, created["id"])
    wait_until(lambda: jobs(emulator)["results"][0]["status"] == "Skipped", what="the job to be skipped")
    view = get(emulator, created["id"])
    assert (view["status"], view["last_run_at"]) == ("Skipped", jobs(emulator)["results"][0]["last_run_at"])


def test_materialize_refuses_an_unknown_sync_frequency(emulator: Any) -> None:
    created = create(emulator)
    response = session(emulator).post(
        api(emulator, f"warehouse_saved_queries/{created['id']}/materialize/"),
        json={"sync_frequency": "2min"},
    )
    assert response.status_code == 400
    assert response.json() == envelope(
        "validation_error", "invalid_choice", '"2min" is not a valid choice.', "sync_frequency"
    )
    assert get(emulator, created["id"])["is_materialized"] is False


def test_jobs_are_limit_offset_paginated_newest_first_and_filtered_by_saved_query(emulator: Any) -> None:
    emulator.configure(job_run_seconds=0)  # each job ends at once: the next run starts a job of its own
    first, second = create(emulator, "view_one"), create(emulator, "view_two")
    for saved_query in (first, second, first):
        run(emulator, saved_query["id"])
    page = jobs(emulator, limit=2)
    assert set(page) == {"count", "next", "previous", "results"}
    assert page["count"] == 3
    assert [job["saved_query_id"] for job in page["results"]] == [first["id"], second["id"]]
    assert page["previous"] is None
    http = session(emulator)
    rest = http.get(page["next"]).json()
    assert "offset=2" in page["next"]
    assert [job["saved_query_id"] for job in rest["results"]] == [first["id"]]
    assert rest["next"] is None
    assert [job["id"] for job in http.get(rest["previous"]).json()["results"]] == [
        job["id"] for job in page["results"]
    ]
    assert len(jobs(emulator, saved_query_id=first["id"])["results"]) == 2


def test_jobs_pages_hold_ten_by_default_and_at_most_one_hundred(emulator: Any) -> None:
    emulator.configure(job_run_seconds=0, throttle=False)
    created = create(emulator)
    for _ in range(101):
        run(emulator, created["id"])
    assert len(jobs(emulator)["results"]) == 10
    capped = jobs(emulator, limit=500)
    assert len(capped["results"]) == 100
    assert capped["count"] == 101 and "limit=100" in capped["next"]


def test_materialize_starts_a_job_and_raises_too_frequent_schedules_to_fifteen_minutes(emulator: Any) -> None:
    emulator.configure(job_run_seconds=0.01)
    created = create(emulator)
    http = session(emulator)
    answer = http.post(
        api(emulator, f"warehouse_saved_queries/{created['id']}/materialize/"),
        json={"sync_frequency": "5min"},
    )
    assert (answer.status_code, answer.content) == (200, b"")
    assert get(emulator, created["id"])["sync_frequency"] == "15min"
    assert len(jobs(emulator, saved_query_id=created["id"])["results"]) == 1


def test_materialize_refuses_never(emulator: Any) -> None:
    created = create(emulator)
    answer = session(emulator).post(
        api(emulator, f"warehouse_saved_queries/{created['id']}/materialize/"),
        json={"sync_frequency": "never"},
    )
    assert answer.status_code == 400
    assert answer.json() == envelope(
        "validation_error", "invalid_choice", '"never" is not a valid choice.', "sync_frequency"
    )


def test_cancel_is_refused_to_personal_api_keys(emulator: Any) -> None:
    created = create(emulator)
    response = session(emulator).post(api(emulator, f"warehouse_saved_queries/{created['id']}/cancel/"))
    assert response.status_code == 403
    assert response.json() == envelope(
        "authentication_error", "permission_denied", "This action does not support personal API key access"
    )


def test_cancel_when_allowed_stops_the_running_job_and_refuses_when_idle(emulator: Any) -> None:
    emulator.configure(job_run_seconds=30, allow_cancel_with_personal_key=True)
    created = create(emulator)
    url = api(emulator, f"warehouse_saved_queries/{created['id']}/cancel/")
    idle = session(emulator).post(url)
    assert idle.status_code == 400
    assert idle.json() == {"error": "Cannot cancel a query that is not running"}
    run(emulator, created["id"])
    cancelled = session(emulator).post(url)
    assert (cancelled.status_code, cancelled.content) == (200, b"")
    assert get(emulator, created["id"])["status"] == "Cancelled"
    assert jobs(emulator)["results"][0]["status"] == "Cancelled"


def test_materialize_and_revert(emulator: Any) -> None:
    emulator.configure(job_run_seconds=0.01)
    created = create(emulator)
    http = session(emulator)
    response = http.post(api(emulator, f"warehouse_saved_queries/{created['id']}/materialize/"))
    assert (response.status_code, response.content) == (200, b"")
    materialized = get(emulator, created["id"])
    assert materialized["is_materialized"] is True and materialized["sync_frequency"] == "24hour"
    run(emulator, created["id"])
    wait_until(lambda: get(emulator, created["id"])["status"] == "Completed", what="materialization's job")
    reverted = http.post(api(emulator, f"warehouse_saved_queries/{created['id']}/revert_materialization/"))
    assert reverted.status_code == 200
    after = get(emulator, created["id"])
    assert (after["is_materialized"], after["sync_frequency"]) == (False, None)
    # Revert clears the view's own columns, but the answer shows its newest job's, which stays.
    newest = jobs(emulator, saved_query_id=created["id"])["results"][0]
    assert (after["status"], after["last_run_at"]) == ("Completed", newest["last_run_at"])


def test_run_history_lists_at_most_five_runs_newest_first(emulator: Any) -> None:
    emulator.configure(job_run_seconds=0, throttle=False)
    created = create(emulator)
    for _ in range(6):
        run(emulator, created["id"])
    wait_until(
        lambda: all(job["status"] == "Completed" for job in jobs(emulator)["results"]),
        what="every job to complete",
    )
    history = (
        session(emulator).get(api(emulator, f"warehouse_saved_queries/{created['id']}/run_history/")).json()
    )
    assert len(history["run_history"]) == 5
    assert {entry["status"] for entry in history["run_history"]} == {"Completed"}
    timestamps = [entry["timestamp"] for entry in history["run_history"]]
    assert timestamps == sorted(timestamps, reverse=True)


def test_read_only_key_can_list_but_not_run(emulator: Any) -> None:
    http = session(emulator, emulator.read_only_key)
    saved_query_id = http.get(api(emulator, "warehouse_saved_queries/")).json()["results"][0]["id"]
    response = http.post(api(emulator, f"warehouse_saved_queries/{saved_query_id}/run/"))
    assert response.status_code == 403
    assert response.json()["detail"] == "API key missing required scope 'warehouse_view:write'"
    assert emulator.counts()["data_modeling_jobs"] == 0


FULL_FIELDS = {
    "id", "deleted", "name", "query", "incremental", "incremental_state", "created_by", "created_at",
    "description", "sync_frequency", "sync_frequency_bounds", "columns", "status", "last_run_at",
    "managed_viewset_kind", "folder_id", "folder_name", "latest_error", "latest_history_id",
    "is_materialized", "origin", "is_test", "expires_at", "user_access_level", "suspended",
}  # fmt: skip
LIST_FIELDS = {
    "id", "deleted", "name", "created_by", "created_at", "description", "sync_frequency", "columns",
    "status", "last_run_at", "managed_viewset_kind", "folder_id", "folder_name", "latest_error",
    "is_materialized", "is_incremental", "origin", "is_test", "expires_at", "user_access_level",
}  # fmt: skip


def test_answers_carry_posthogs_newer_fields_and_list_items_are_minimal(emulator: Any) -> None:
    created = create(emulator)
    assert set(created) == FULL_FIELDS
    assert set(get(emulator, created["id"])) == FULL_FIELDS
    defaults = {key: created[key] for key in ("incremental", "incremental_state", "description", "is_test")}
    assert defaults == {"incremental": None, "incremental_state": None, "description": None, "is_test": False}
    assert (created["folder_id"], created["expires_at"], created["suspended"]) == (None, None, {})
    assert created["user_access_level"] == "manager"  # its creator
    assert created["sync_frequency_bounds"]["options"] == []
    listed = session(emulator).get(api(emulator, "warehouse_saved_queries/")).json()["results"]
    assert all(set(item) == LIST_FIELDS for item in listed)
    assert {item["is_incremental"] for item in listed} == {False}


def test_description_and_incremental_are_written_and_checked_as_posthogs_serializer_does(
    emulator: Any,
) -> None:
    incremental = {"enabled": True, "incremental_key": "day", "unique_key": ["day"]}
    http = session(emulator)
    created = http.post(
        api(emulator, "warehouse_saved_queries/"),
        json={"name": "daily", "query": SQL, "description": "Signups a day", "incremental": incremental},
    ).json()
    assert created["description"] == "Signups a day"
    assert created["incremental"] == {**incremental, "lookback_seconds": 0}
    listed = http.get(api(emulator, "warehouse_saved_queries/"), params={"search": "daily"}).json()
    assert listed["results"][0]["is_incremental"] is True
    url = api(emulator, f"warehouse_saved_queries/{created['id']}/")
    cleared = http.patch(url, json={"description": "", "incremental": None}).json()
    assert (cleared["description"], cleared["incremental"]) == (None, None)
    refused = {
        "incremental": ({"incremental_key": "day"}, "incremental__unique_key", "required"),
        "is_test": (True, "is_test", "invalid_input"),
        "folder_id": ("0190e4a8-0000-7000-8000-000000000000", "folder_id", "does_not_exist"),
    }
    for field, (value, attr, code) in refused.items():
        answer = http.patch(url, json={field: value})
        assert answer.status_code == 400, field
        assert (answer.json()["attr"], answer.json()["code"]) == (attr, code)
    assert get(emulator, created["id"])["is_test"] is False


def test_a_views_run_fields_are_its_newest_jobs_until_an_edit_is_newer(emulator: Any) -> None:
    emulator.configure(job_run_seconds=0.01, job_outcome="Failed", job_error="Unknown table")
    created = create(emulator)
    run(emulator, created["id"])
    wait_until(lambda: get(emulator, created["id"])["status"] == "Failed", what="the first run to fail")
    emulator.configure(job_run_seconds=30, job_outcome="Completed")
    run(emulator, created["id"])
    running = jobs(emulator, saved_query_id=created["id"])["results"][0]
    view = get(emulator, created["id"])
    # The newest job is still running: its time and status, and no error, whatever the last outcome.
    assert (view["status"], view["last_run_at"], view["latest_error"]) == (
        "Running", running["last_run_at"], None,
    )  # fmt: skip
    edited = session(emulator).patch(
        api(emulator, f"warehouse_saved_queries/{created['id']}/"),
        json={"query": {"kind": "HogQLQuery", "query": "SELECT 3 AS three"}, "soft_update": True},
    )
    assert (edited.json()["status"], edited.json()["last_run_at"]) == ("Modified", running["last_run_at"])


def test_deleting_a_view_other_views_read_is_a_400_with_posthogs_text(emulator: Any) -> None:
    base = create(emulator, "base_view")
    reader = create(emulator, "reader_view", {"kind": "HogQLQuery", "query": "SELECT event FROM base_view"})
    http = session(emulator)
    refused = http.delete(api(emulator, f"warehouse_saved_queries/{base['id']}/"))
    assert refused.status_code == 400
    assert refused.json() == envelope(
        "validation_error",
        "invalid_input",
        "Cannot delete this view because other views depend on it. Delete or update those views first.",
    )
    assert get(emulator, base["id"])["deleted"] is False
    assert http.delete(api(emulator, f"warehouse_saved_queries/{reader['id']}/")).status_code == 204
    assert http.delete(api(emulator, f"warehouse_saved_queries/{base['id']}/")).status_code == 204


def test_the_upsert_looks_the_name_up_as_sent_so_a_padded_name_is_a_taken_name(emulator: Any) -> None:
    created = create(emulator)
    http = session(emulator)
    padded = http.post(
        api(emulator, "warehouse_saved_queries/"), json={"name": f" {created['name']} ", "query": SQL}
    )
    assert padded.status_code == 400
    assert padded.json() == envelope(
        "validation_error",
        "invalid_input",
        "A table or view with this name already exists. Choose a different name.",
        "name",
    )
    exact = http.post(
        api(emulator, "warehouse_saved_queries/"),
        json={"name": created["name"], "query": SQL, "edited_history_id": created["latest_history_id"]},
    )
    assert (exact.status_code, exact.json()["id"]) == (200, created["id"])
    assert emulator.counts()["saved_queries"] == 3


def test_a_run_while_a_job_runs_joins_it_and_a_new_job_is_listed_after_job_start_delay(emulator: Any) -> None:
    emulator.configure(job_run_seconds=0.5, job_start_delay=0.3)
    created = create(emulator)
    http = session(emulator)
    materialized = http.post(api(emulator, f"warehouse_saved_queries/{created['id']}/materialize/"), json={})
    assert materialized.status_code == 200
    assert jobs(emulator, saved_query_id=created["id"])["count"] == 0  # the workflow has not written it yet
    assert run(emulator, created["id"]).status_code == 200  # joins the materialization's refresh
    (listed,) = wait_until(
        lambda: jobs(emulator, saved_query_id=created["id"])["results"], what="the job row"
    )
    assert listed["status"] == "Running"
    wait_until(
        lambda: jobs(emulator, saved_query_id=created["id"])["results"][0]["status"] == "Completed",
        what="the refresh to end",
    )
    assert jobs(emulator, saved_query_id=created["id"])["count"] == 1  # one refresh for both requests
    assert run(emulator, created["id"]).status_code == 200  # nothing running now: a refresh of its own
    wait_until(lambda: jobs(emulator, saved_query_id=created["id"])["count"] == 2, what="the second job")


def test_a_new_dag_run_preempts_the_views_running_job_with_posthogs_words(emulator: Any) -> None:
    emulator.configure(job_run_seconds=30)
    created = create(emulator)
    assert run(emulator, created["id"]).status_code == 200
    (running,) = jobs(emulator, saved_query_id=created["id"])["results"]

    answer = emulator.preempt("events_by_name")

    preempted, started = answer["preempted"], answer["started"]
    assert preempted["id"] == running["id"] and preempted["status"] == "Failed"
    assert preempted["error"] == "Preempted: a new DAG run started before this job completed"
    newest_first = jobs(emulator, saved_query_id=created["id"])["results"]
    assert [job["id"] for job in newest_first] == [started["id"], preempted["id"]]
    assert started["status"] == "Running"
    assert get(emulator, created["id"])["status"] == "Running"  # the view shows its newest job


#: A failure of the view's own making (PostHog suspends for these; it does not for "Unknown table").
OWN_FAILURE = "Query failed: Code: 241. DB::Exception: Memory limit (total) exceeded."
SUSPENDED_WORDS = "This model has been suspended after 5 consecutive failed materializations. Error: "


def materialized_failing_view(emulator: Any) -> Any:
    """A materialized view whose refreshes fail of its own making; materialize's refresh failed once."""
    emulator.configure(job_run_seconds=0, job_outcome="Failed", job_error=OWN_FAILURE)
    created = create(emulator)
    materialized = session(emulator).post(
        api(emulator, f"warehouse_saved_queries/{created['id']}/materialize/"),
        json={"sync_frequency": "24hour"},
    )
    assert materialized.status_code == 200
    return created


def resume(emulator: Any, saved_query_id: str, key: str | None = None) -> Any:
    return session(emulator, key).post(api(emulator, f"warehouse_saved_queries/{saved_query_id}/resume/"))


def test_five_failures_of_its_own_suspend_a_view_and_its_schedule_then_skips_it(emulator: Any) -> None:
    created = materialized_failing_view(emulator)
    for _ in range(3):
        emulator.refresh_on_schedule("events_by_name", outcome="Failed")
    emulator.configure(job_error="Code: 202. DB::Exception: Too many simultaneous queries.")
    emulator.refresh_on_schedule("events_by_name", outcome="Failed")  # PostHog's doing: ends the streak
    emulator.configure(job_error=OWN_FAILURE)
    for _ in range(4):
        emulator.refresh_on_schedule("events_by_name", outcome="Failed")
    assert get(emulator, created["id"])["suspended"] == {}  # 4 in a row since the streak broke

    fifth = emulator.refresh_on_schedule("events_by_name", outcome="Failed")

    view = get(emulator, created["id"])
    assert view["suspended"] == {
        "clickhouse": {"at": fifth["last_run_at"], "reason": OWN_FAILURE, "job_id": fifth["id"]}
    }
    newest = jobs(emulator, saved_query_id=created["id"])["results"][0]
    assert newest["id"] == fifth["id"] and newest["error"] == SUSPENDED_WORDS + OWN_FAILURE
    assert view["latest_error"] == SUSPENDED_WORDS + OWN_FAILURE
    assert emulator.refresh_on_schedule("events_by_name") == {"skipped": "Node is suspended for clickhouse"}
    assert jobs(emulator, saved_query_id=created["id"])["count"] == 10  # the skipped refresh made no job


def suspended_view(emulator: Any) -> Any:
    created = materialized_failing_view(emulator)
    for _ in range(4):
        emulator.refresh_on_schedule("events_by_name", outcome="Failed")
    assert get(emulator, created["id"])["suspended"], "five failures in a row suspend the view"
    return created


def test_an_explicit_run_resumes_a_suspended_view_with_a_fresh_failure_window(emulator: Any) -> None:
    created = suspended_view(emulator)

    assert run(emulator, created["id"]).status_code == 200

    view = get(emulator, created["id"])
    assert view["suspended"] == {}
    newest = jobs(emulator, saved_query_id=created["id"])["results"][0]
    assert newest["status"] == "Failed" and newest["error"] == OWN_FAILURE  # one failure: not suspended
    assert emulator.refresh_on_schedule("events_by_name", outcome="Completed")["status"] == "Completed"


def test_resume_clears_a_suspension_without_running_and_says_whether_it_did(emulator: Any) -> None:
    created = suspended_view(emulator)
    refused = resume(emulator, created["id"], emulator.read_only_key)
    assert refused.status_code == 403 and "warehouse_view:write" in refused.text

    resumed = resume(emulator, created["id"])
    again = resume(emulator, created["id"])

    assert resumed.status_code == again.status_code == 200
    assert resumed.json() == {"resumed": True} and again.json() == {"resumed": False}
    assert get(emulator, created["id"])["suspended"] == {}
    assert jobs(emulator, saved_query_id=created["id"])["count"] == 5  # resumed, not run
    emulator.refresh_on_schedule("events_by_name", outcome="Failed")
    assert get(emulator, created["id"])["suspended"] == {}  # earlier failures no longer count
