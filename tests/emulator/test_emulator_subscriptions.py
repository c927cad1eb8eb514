"""Subscriptions: ids, validation, schedule summary and next delivery, soft delete, paging (7.3, 9.8)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from emulator_http import api, envelope, session

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


def create(emulator: Any, **changes: Any) -> Any:
    response = session(emulator).post(api(emulator, "subscriptions/"), json={**BODY, **changes})
    assert response.status_code == 201, response.text
    return response.json()


def test_create_answers_201_with_integer_id_and_every_field(emulator: Any) -> None:
    created = create(emulator)
    assert created["id"] == 1
    assert set(created) == {
        "id", "dashboard", "insight", "target_type", "target_value", "frequency", "interval", "byweekday",
        "bysetpos", "count", "start_date", "until_date", "created_at", "created_by", "deleted", "title",
        "summary", "next_delivery_date", "invite_message",
    }  # fmt: skip
    assert created["invite_message"] is None
    assert created["summary"] == "sent every week"
    assert create(emulator)["id"] == 2
    assert emulator.requests(method="POST")[0]["body"]["title"] == "Weekly KPIs"


@pytest.mark.parametrize("target_type", ["email", "slack", "webhook", "teams"])
def test_every_target_type_is_accepted(emulator: Any, target_type: str) -> None:
    assert create(emulator, target_type=target_type)["target_type"] == target_type


@pytest.mark.parametrize(
    ("changes", "attr", "code", "detail"),
    [
        ({"target_type": None}, "target_type", "null", "This field may not be null."),
        ({"target_type": "pigeon"}, "target_type", "invalid_choice", '"pigeon" is not a valid choice.'),
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
    ended = create(emulator, frequency="daily", byweekday=None, until_date="2025-06-05T00:00:00Z")
    assert ended["next_delivery_date"] is None


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


def test_list_filters_by_insight_and_dashboard(emulator: Any) -> None:
    create(emulator, insight=101)
    on_dashboard = create(emulator, insight=None, dashboard=201)
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
    assert [item["id"] for item in second["results"]] == [3, 4]
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
