"""Subscriptions: ids, validation, schedule summary and next delivery, soft delete, paging, test delivery
and delivery history (7.3, 9.8)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from emulator_http import api, envelope, session
from helpers import wait_until

from airflow_provider.emulator import run_emulator
from airflow_provider.emulator.schedule import next_delivery_date

BODY = {
    "insight": 101,
    "target_type": "email",
    "target_value": "a@example.com,b@example.com",
    "frequency": "weekly",
    "interval": 1,
    "byweekday": ["monday"],
    "start_date": "2025-06-02T09:00:00Z",
    "title": "Weekly KPIs",
    "invite_message": "FYI",
}


DASHBOARD_BODY = {**BODY, "insight": None, "dashboard": 201, "dashboard_export_insights": [101, 102]}


def create(emulator: Any, **changes: Any) -> Any:
    response = session(emulator).post(api(emulator, "subscriptions/"), json={**BODY, **changes})
    assert response.status_code == 201, response.text
    return response.json()


def refused(emulator: Any, body: dict[str, Any]) -> Any:
    response = session(emulator).post(api(emulator, "subscriptions/"), json=body)
    assert response.status_code == 400, response.text
    assert emulator.counts()["subscriptions"] == 0
    return response.json()


def test_create_answers_201_with_integer_id_and_every_field(emulator: Any) -> None:
    created = create(emulator)
    assert created["id"] == 1
    assert list(created) == [
        "id", "resource_type", "dashboard", "insight", "insight_short_id", "resource_name",
        "dashboard_export_insights", "prompt", "target_type", "target_value", "frequency", "interval",
        "byweekday", "bysetpos", "count", "start_date", "until_date", "created_at", "created_by", "deleted",
        "enabled", "title", "summary", "next_delivery_date", "integration_id", "invite_message",
        "summary_enabled", "summary_prompt_guide",
    ]  # fmt: skip
    assert created["invite_message"] is None
    assert (created["resource_type"], created["insight_short_id"], created["resource_name"]) == (
        "insight", "kpi101Wk", "Weekly active users",
    )  # fmt: skip
    assert (created["dashboard_export_insights"], created["prompt"], created["integration_id"]) == (
        [],
        None,
        None,
    )
    assert (created["enabled"], created["summary_enabled"], created["summary_prompt_guide"]) == (
        True,
        False,
        "",
    )
    assert created["summary"] == "sent every week"
    assert create(emulator)["id"] == 2
    assert emulator.requests(method="POST")[0]["body"]["title"] == "Weekly KPIs"


@pytest.mark.parametrize(("target_type", "extra"), [("email", {}), ("slack", {"integration_id": 301})])
def test_email_and_slack_are_the_target_types(emulator: Any, target_type: str, extra: dict[str, Any]) -> None:
    assert create(emulator, target_type=target_type, **extra)["target_type"] == target_type


@pytest.mark.parametrize(
    ("changes", "attr", "code", "detail"),
    [
        ({"target_type": None}, "target_type", "null", "This field may not be null."),
        ({"target_type": "pigeon"}, "target_type", "invalid_choice", '"pigeon" is not a valid choice.'),
        ({"target_type": "webhook"}, "target_type", "invalid_choice", '"webhook" is not a valid choice.'),
        ({"target_type": "teams"}, "target_type", "invalid_choice", '"teams" is not a valid choice.'),
        ({"interval": 0}, "interval", "min_value", "Ensure this value is greater than or equal to 1."),
        ({"frequency": "hourly"}, "frequency", "invalid_choice", '"hourly" is not a valid choice.'),
        ({"byweekday": ["funday"]}, "byweekday__0", "invalid_choice", '"funday" is not a valid choice.'),
        ({"byweekday": "monday"}, "byweekday", "not_a_list", 'Expected a list of items but got type "str".'),
        ({"interval": "often"}, "interval", "invalid_input", "A valid integer is required."),
        ({"title": "x" * 101}, "title", "max_length", "Ensure this field has no more than 100 characters."),
        ({"insight": 999}, "insight", "does_not_exist", 'Invalid pk "999" - object does not exist.'),
        ({"target_value": ""}, "target_value", "blank", "This field may not be blank."),
    ],
)
def test_invalid_fields_get_the_first_error(
    emulator: Any, changes: dict[str, Any], attr: str, code: str, detail: str
) -> None:
    response = session(emulator).post(api(emulator, "subscriptions/"), json={**BODY, **changes})
    assert response.status_code == 400
    assert response.json() == envelope("validation_error", code, detail, attr)
    assert emulator.counts()["subscriptions"] == 0


def test_missing_required_fields_are_reported_in_field_order(emulator: Any) -> None:
    response = session(emulator).post(api(emulator, "subscriptions/"), json={"target_type": "email"})
    assert response.json() == envelope(
        "validation_error", "required", "This field is required.", "target_value"
    )
    without_interval = {name: value for name, value in BODY.items() if name != "interval"}
    assert refused(emulator, without_interval) == envelope(
        "validation_error", "required", "This field is required.", "interval"
    )


MUST_HAVE = "A subscription must have an insight, a dashboard, or a prompt."
SELECT = "Select at least one insight for this subscription."
ENDED = "Subscription schedule has reached its end date. Extend until_date or remove count."


@pytest.mark.parametrize(
    ("body", "attr", "detail"),
    [
        ({**BODY, "insight": None}, None, MUST_HAVE),
        ({**BODY, "insight": None, "prompt": "   "}, None, MUST_HAVE),
        ({**BODY, "dashboard": 201}, "insight", "Insight subscriptions cannot also set dashboard or prompt."),
        (
            {**DASHBOARD_BODY, "prompt": "Why?"},
            "dashboard",
            "Dashboard subscriptions cannot also set insight or prompt.",
        ),
        ({**BODY, "insight": None, "prompt": "x" * 4001}, "prompt", "Prompt cannot exceed 4000 characters."),
        ({**DASHBOARD_BODY, "dashboard_export_insights": []}, "dashboard_export_insights", SELECT),
        ({**BODY, "insight": None, "dashboard": 201}, "dashboard_export_insights", SELECT),
        (
            {**DASHBOARD_BODY, "dashboard_export_insights": [101, 102, 103, 104, 105, 106, 107]},
            "dashboard_export_insights",
            "Cannot select more than 6 insights.",
        ),
        (
            {**DASHBOARD_BODY, "dashboard_export_insights": [101, 999]},
            "dashboard_export_insights",
            "Some insights do not belong to your team or do no longer exist.",
        ),
        (
            {**DASHBOARD_BODY, "dashboard_export_insights": [101, 102, 103]},
            "dashboard_export_insights",
            "1 invalid insight(s) selected.",
        ),
        (
            {**DASHBOARD_BODY, "dashboard_export_insights": "101"},
            "dashboard_export_insights",
            "Expected a list of insight IDs.",
        ),
        (
            {**DASHBOARD_BODY, "dashboard_export_insights": ["101"]},
            "dashboard_export_insights",
            "All items must be integers.",
        ),
        (
            {**BODY, "dashboard_export_insights": [101]},
            "dashboard_export_insights",
            "Cannot set insights selection without a dashboard.",
        ),
        (
            {**BODY, "frequency": "daily", "byweekday": None, "until_date": "2025-06-05T00:00:00Z"},
            "start_date",
            ENDED,
        ),
        ({**BODY, "count": 1, "start_date": "2025-06-02T09:00:00Z"}, "start_date", ENDED),
        (
            {**BODY, "target_type": "slack"},
            "integration_id",
            "A Slack integration is required for Slack subscriptions.",
        ),
        (
            {**BODY, "target_type": "slack", "integration_id": 999},
            "integration_id",
            "This integration does not exist or does not belong to your team.",
        ),
        (
            {**BODY, "target_type": "slack", "integration_id": 302},
            "integration_id",
            "Slack subscriptions require a Slack integration.",
        ),
    ],
)
def test_create_rules_answer_posthogs_texts(
    emulator: Any, body: dict[str, Any], attr: str | None, detail: str
) -> None:
    assert refused(emulator, body) == envelope("validation_error", "invalid_input", detail, attr)


def test_dashboard_and_prompt_subscriptions_carry_their_resource(emulator: Any) -> None:
    dashboard = create(emulator, **DASHBOARD_BODY)
    assert (dashboard["resource_type"], dashboard["resource_name"]) == ("dashboard", "Growth")
    assert (dashboard["dashboard_export_insights"], dashboard["insight_short_id"]) == ([101, 102], None)
    report = create(emulator, insight=None, prompt="  Which channels grew last week?  ", title=None)
    assert (report["resource_type"], report["prompt"]) == ("ai_prompt", "Which channels grew last week?")
    assert report["resource_name"] == "Which channels grew last week?"
    http = session(emulator)
    cleared = http.patch(
        api(emulator, f"subscriptions/{dashboard['id']}/"), json={"dashboard_export_insights": []}
    )
    assert cleared.json() == envelope(
        "validation_error", "invalid_input", SELECT, "dashboard_export_insights"
    )
    kept = http.patch(api(emulator, f"subscriptions/{dashboard['id']}/"), json={"title": "Growth daily"})
    assert kept.json()["dashboard_export_insights"] == [101, 102]
    only_reports = http.get(api(emulator, "subscriptions/"), params={"resource_type": "ai_prompt"}).json()
    assert [item["id"] for item in only_reports["results"]] == [report["id"]]


def test_an_enabled_subscription_cannot_be_patched_into_an_ended_schedule(emulator: Any) -> None:
    created = create(emulator)
    url = api(emulator, f"subscriptions/{created['id']}/")
    http = session(emulator)
    ended = http.patch(url, json={"until_date": "2025-06-05T00:00:00Z"})
    assert ended.json() == envelope("validation_error", "invalid_input", ENDED)
    paused = http.patch(url, json={"enabled": False}).json()
    assert paused["enabled"] is False
    assert http.patch(url, json={"until_date": "2025-06-05T00:00:00Z"}).status_code == 200
    again = http.patch(url, json={"enabled": True})
    assert again.json() == envelope(
        "validation_error", "invalid_input", ENDED.removesuffix(".") + " before re-enabling.", "enabled"
    )


def test_bad_start_date_gets_drfs_datetime_message(emulator: Any) -> None:
    response = session(emulator).post(
        api(emulator, "subscriptions/"), json={**BODY, "start_date": "next week"}
    )
    assert response.status_code == 400
    assert response.json()["attr"] == "start_date"
    assert response.json()["detail"].startswith("Datetime has wrong format.")


@pytest.mark.parametrize(
    ("changes", "summary"),
    [
        ({"frequency": "daily", "byweekday": None}, "sent every day"),
        ({"interval": 2}, "sent every 2 weeks"),
        (
            {
                "frequency": "monthly",
                "bysetpos": 1,
                "byweekday": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            },
            "sent every month on the first weekday",
        ),
        (
            {
                "frequency": "monthly",
                "bysetpos": 1,
                "byweekday": ["monday", "tuesday", "wednesday", "thursday"],
            },
            "sent every month on the first day",
        ),
        ({"frequency": "monthly", "bysetpos": 1}, "sent every month on the first Monday"),
        (
            {"frequency": "monthly", "bysetpos": -1, "byweekday": ["monday", "friday"]},
            "sent every month on the last day",
        ),
        ({"frequency": "monthly", "bysetpos": 5}, "sent on a schedule"),
        ({"frequency": "yearly", "interval": 3}, "sent every 3 years"),
    ],
)
def test_summary_text_follows_posthogs_rules(emulator: Any, changes: dict[str, Any], summary: str) -> None:
    assert create(emulator, **changes)["summary"] == summary


def test_next_delivery_date_is_the_next_rrule_occurrence_at_least_15_minutes_ahead(emulator: Any) -> None:
    created = create(emulator, frequency="daily", byweekday=None, start_date="2025-06-02T09:00:00Z")
    next_delivery = datetime.fromisoformat(created["next_delivery_date"].replace("Z", "+00:00"))
    now = datetime.now(timezone.utc)
    assert now + timedelta(minutes=15) < next_delivery <= now + timedelta(days=1, minutes=15)
    assert (next_delivery.hour, next_delivery.minute) == (9, 0)
    future = create(emulator, start_date="2099-01-05T10:00:00Z", byweekday=["monday"])
    assert future["next_delivery_date"] == "2099-01-05T10:00:00Z"


def test_next_delivery_date_uses_no_week_start_as_posthog(emulator: Any) -> None:
    # Every 2 weeks on Wednesday and Monday from Wednesday 2026-01-07: the weeks start on Monday (no
    # wkst), so the next delivery is Monday 2026-01-19, not Monday 2026-01-12.
    schedule = {"frequency": "weekly", "interval": 2, "byweekday": ["wednesday", "monday"], "bysetpos": None,
                "count": None, "start_date": "2026-01-07T09:00:00Z", "until_date": None}  # fmt: skip
    now = datetime(2026, 1, 7, 9, 0, tzinfo=timezone.utc)
    assert next_delivery_date(schedule, now) == "2026-01-19T09:00:00Z"
    # Over HTTP the same rule a century later (2099-01-07 is a Wednesday): the first delivery is the start.
    created = create(emulator, **{**schedule, "start_date": "2099-01-07T09:00:00Z"})
    assert created["next_delivery_date"] == "2099-01-07T09:00:00Z"


def test_hard_delete_is_405_with_an_empty_body_and_keeps_the_object(emulator: Any) -> None:
    created = create(emulator)
    response = session(emulator).delete(api(emulator, f"subscriptions/{created['id']}/"))
    assert response.status_code == 405
    assert response.content == b""
    assert emulator.counts()["subscriptions"] == 1


def test_soft_delete_hides_from_list_but_not_from_retrieve(emulator: Any) -> None:
    http = session(emulator)
    kept, deleted = create(emulator), create(emulator)
    patched = http.patch(api(emulator, f"subscriptions/{deleted['id']}/"), json={"deleted": True})
    assert patched.status_code == 200
    assert patched.json()["deleted"] is True
    listed = http.get(api(emulator, "subscriptions/")).json()
    assert [item["id"] for item in listed["results"]] == [kept["id"]]
    assert http.get(api(emulator, f"subscriptions/{deleted['id']}/")).json()["deleted"] is True
    only_deleted = http.get(api(emulator, "subscriptions/"), params={"deleted": "true"}).json()
    assert [item["id"] for item in only_deleted["results"]] == [deleted["id"]]


def test_list_is_newest_first(emulator: Any) -> None:
    ids = [create(emulator)["id"] for _ in range(3)]
    listed = session(emulator).get(api(emulator, "subscriptions/")).json()
    assert [item["id"] for item in listed["results"]] == ids[::-1]


def test_list_filters_by_insight_and_dashboard(emulator: Any) -> None:
    create(emulator, insight=101)
    on_dashboard = create(emulator, **DASHBOARD_BODY)
    listed = session(emulator).get(api(emulator, "subscriptions/"), params={"dashboard": "201"}).json()
    assert [item["id"] for item in listed["results"]] == [on_dashboard["id"]]


def test_limit_offset_paging_with_absolute_links_from_the_request_host(emulator: Any) -> None:
    for _ in range(5):
        create(emulator)
    http = session(emulator)
    first = http.get(api(emulator, "subscriptions/"), params={"limit": 2}).json()
    assert first["count"] == 5
    assert first["previous"] is None
    assert first["next"] == f"{api(emulator, 'subscriptions/')}?limit=2&offset=2"
    second = http.get(first["next"]).json()
    assert [item["id"] for item in second["results"]] == [3, 2]
    assert second["previous"] == f"{api(emulator, 'subscriptions/')}?limit=2"
    last = http.get(second["next"]).json()
    assert last["next"] is None
    default = http.get(api(emulator, "subscriptions/")).json()
    assert default["next"] is None and len(default["results"]) == 5


def test_put_needs_every_required_field_and_patch_recomputes_the_schedule(emulator: Any) -> None:
    http = session(emulator)
    created = create(emulator)
    put = http.put(api(emulator, f"subscriptions/{created['id']}/"), json={"title": "Only a title"})
    assert put.status_code == 400
    assert put.json()["code"] == "required"
    patched = http.patch(api(emulator, f"subscriptions/{created['id']}/"), json={"interval": 2})
    assert patched.json()["summary"] == "sent every 2 weeks"


def test_unknown_subscription_is_404(emulator: Any) -> None:
    for path in ("subscriptions/42/", "subscriptions/abc/"):
        response = session(emulator).get(api(emulator, path))
        assert response.status_code == 404
        assert response.json() == envelope("invalid_request", "not_found", "Not found.")


def test_delete_of_an_unknown_subscription_is_405_too_as_the_refusal_comes_first(emulator: Any) -> None:
    response = session(emulator).delete(api(emulator, "subscriptions/424242/"))
    assert (response.status_code, response.content) == (405, b"")


def test_text_fields_are_trimmed_as_drf_trims_them(emulator: Any) -> None:
    created = create(emulator, title="  Weekly KPIs \n", target_value=" a@example.com ")
    assert (created["title"], created["target_value"]) == ("Weekly KPIs", "a@example.com")


def delivery_url(emulator: Any, subscription_id: int, action: str) -> str:
    return api(emulator, f"subscriptions/{subscription_id}/{action}/")


def test_test_delivery_answers_202_records_the_delivery_and_409_while_it_runs(emulator: Any) -> None:
    created = create(emulator)
    http = session(emulator)

    first = http.post(delivery_url(emulator, created["id"], "test-delivery"))
    running = http.post(delivery_url(emulator, created["id"], "test-delivery"))

    assert (first.status_code, first.content) == (202, b"")
    assert running.status_code == 409
    assert running.json() == {"detail": "Delivery already in progress"}
    history = http.get(delivery_url(emulator, created["id"], "deliveries")).json()
    assert set(history) == {"next", "previous", "results"}
    (delivery,) = history["results"]
    assert list(delivery) == [
        "id", "subscription", "temporal_workflow_id", "idempotency_key", "trigger_type", "scheduled_at",
        "target_type", "target_value", "exported_asset_ids", "content_snapshot", "recipient_results",
        "status", "error", "created_at", "last_updated_at", "finished_at", "change_summary", "ai_report",
        "ai_report_diagnostics", "ai_report_prompt",
    ]  # fmt: skip
    assert delivery["subscription"] == created["id"]
    assert delivery["temporal_workflow_id"] == f"test-delivery-subscription-{created['id']}"
    assert (delivery["trigger_type"], delivery["status"], delivery["finished_at"]) == (
        "manual",
        "starting",
        None,
    )
    assert delivery["target_value"] == created["target_value"]
    wait_until(
        lambda: (
            http.get(delivery_url(emulator, created["id"], "deliveries")).json()["results"][0]["status"]
            == "completed"
        ),
        what="the test delivery to complete",
    )
    assert http.post(delivery_url(emulator, created["id"], "test-delivery")).status_code == 202


def test_test_delivery_of_a_disabled_or_deleted_subscription_is_refused(emulator: Any) -> None:
    http = session(emulator)
    disabled, deleted = create(emulator, enabled=False), create(emulator)
    http.patch(api(emulator, f"subscriptions/{deleted['id']}/"), json={"deleted": True})

    paused = http.post(delivery_url(emulator, disabled["id"], "test-delivery"))
    gone = http.post(delivery_url(emulator, deleted["id"], "test-delivery"))
    unknown = http.post(delivery_url(emulator, 424242, "test-delivery"))

    assert paused.status_code == 409
    assert paused.json() == {
        "detail": "Subscription is disabled. Re-enable it before sending a test delivery."
    }
    assert (gone.status_code, gone.content) == (404, b"")
    assert unknown.json() == envelope("invalid_request", "not_found", "Not found.")


def test_test_delivery_is_throttled_to_10_a_minute_per_team_across_subscriptions(emulator: Any) -> None:
    ids = [create(emulator)["id"] for _ in range(11)]
    statuses = [
        session(emulator).post(delivery_url(emulator, i, "test-delivery")).status_code for i in ids[:10]
    ]
    # An eleventh subscription shares the team's budget (PostHog keys this throttle by team).
    throttled = session(emulator).post(delivery_url(emulator, ids[10], "test-delivery"))

    assert statuses == [202] * 10
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "throttled"
    assert int(throttled.headers["Retry-After"]) > 0
    # Only the test delivery has this throttle: the rest of the API answers as before.
    assert session(emulator).get(api(emulator, "subscriptions/")).status_code == 200


def test_deliveries_come_newest_first_in_cursor_pages_of_50_with_a_status_filter(tmp_path: Any) -> None:
    state = tmp_path / "state.json"
    deliveries = [
        {"id": f"0192f3a0-0000-7000-8000-{index:012d}", "subscription": 1,
         "temporal_workflow_id": f"subscription-1-{index}", "idempotency_key": str(index),
         "trigger_type": "scheduled", "scheduled_at": None, "target_type": "email",
         "target_value": "a@example.com", "prompt": None,
         "created_at": f"2026-01-01T00:00:{index:02d}Z", "finished_at": f"2026-01-01T00:00:{index:02d}Z"}
        for index in range(55)
    ]  # fmt: skip
    with run_emulator(seed="demo", state_file=state) as emulator:
        subscription_id = create(emulator)["id"]
    data = json.loads(state.read_text())
    data["objects"]["subscriptions"][0]["deliveries"] = deliveries
    state.write_text(json.dumps(data))

    with run_emulator(seed="demo", state_file=state) as emulator:
        http = session(emulator)
        url = delivery_url(emulator, subscription_id, "deliveries")
        first = http.get(url).json()
        second = http.get(first["next"]).json()
        completed = http.get(url, params={"status": "completed"}).json()
        starting = http.get(url, params={"status": "starting"}).json()
        bad = http.get(url, params={"status": "done"})
        bad_cursor = http.get(url, params={"cursor": "not-a-cursor"})

    assert len(first["results"]) == 50 and first["previous"] is None
    assert first["results"][0]["idempotency_key"] == "54"
    assert [item["idempotency_key"] for item in second["results"]] == ["4", "3", "2", "1", "0"]
    assert second["next"] is None and second["previous"] is not None
    assert len(completed["results"]) == 50 and starting["results"] == []
    assert bad.json() == envelope(
        "validation_error", "invalid_input", "Must be one of: completed, failed, skipped, starting.", "status"
    )
    assert bad_cursor.status_code == 404
