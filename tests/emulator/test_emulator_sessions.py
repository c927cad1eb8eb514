"""Session recordings list and sessions property definitions/values (docs/posthog-api.md §7.6, §7.2)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

from emulator_http import api, envelope, session

RECORDING_FIELDS = {
    "id", "distinct_id", "viewed", "viewers", "recording_duration", "active_seconds", "inactive_seconds",
    "start_time", "end_time", "click_count", "keypress_count", "mouse_activity_count", "console_log_count",
    "console_warn_count", "console_error_count", "start_url", "person", "retention_period_days",
    "expiry_time", "recording_ttl", "storage", "snapshot_source", "snapshot_library", "ongoing",
    "activity_score",
    "has_summary", "summary_outcome", "external_references", "matches_filters",
}  # fmt: skip


def recordings(emulator: Any, **params: Any) -> Any:
    response = session(emulator).get(api(emulator, "session_recordings/"), params=params)
    assert response.status_code == 200, response.text
    return response.json()


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_recordings_page_has_results_and_has_next_but_no_count_or_links(emulator: Any) -> None:
    page = recordings(emulator, date_from="-7d", limit=5)
    assert set(page) == {"results", "has_next", "version"}
    assert page["has_next"] is True
    assert len(page["results"]) == 5
    assert set(page["results"][0]) == RECORDING_FIELDS
    assert set(page["results"][0]["person"]) == {
        "id", "name", "distinct_ids", "properties", "created_at", "uuid", "last_seen_at"
    }  # fmt: skip
    assert page["results"][0]["start_time"].endswith("Z")


def test_offset_walks_every_recording_of_the_last_week_once(emulator: Any) -> None:
    seen: list[str] = []
    offset = 0
    while True:
        page = recordings(emulator, date_from="-7d", limit=15, offset=offset)
        seen += [recording["id"] for recording in page["results"]]
        offset += len(page["results"])
        if not page["has_next"]:
            break
    assert len(seen) == len(set(seen)) == emulator.counts()["sessions"]


def test_newest_first_and_date_from_defaults_to_three_days(emulator: Any) -> None:
    page = recordings(emulator, limit=1000)
    starts = [parse(recording["start_time"]) for recording in page["results"]]
    assert starts == sorted(starts, reverse=True)
    assert min(starts) >= datetime.now(timezone.utc) - timedelta(days=3, minutes=1)
    assert len(starts) < emulator.counts()["sessions"]


def test_date_bounds_are_inclusive_on_start_time_and_accept_offsets(emulator: Any) -> None:
    everything = recordings(emulator, date_from="-7d", limit=1000)["results"]
    target = everything[10]
    start = parse(target["start_time"]).astimezone(timezone(timedelta(hours=2)))
    page = recordings(emulator, date_from=start.isoformat(), date_to=start.isoformat())
    assert [recording["id"] for recording in page["results"]] == [target["id"]]


def test_yesterdays_data_interval_always_has_sessions(emulator: Any) -> None:
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    page = recordings(
        emulator,
        date_from=(today - timedelta(days=1)).isoformat(),
        date_to=(today - timedelta(seconds=1)).isoformat(),
    )
    assert len(page["results"]) >= 3


def test_list_filters_travel_as_json_values(emulator: Any) -> None:
    ids = [recording["id"] for recording in recordings(emulator, date_from="-7d", limit=3)["results"]]
    page = recordings(emulator, date_from="-7d", session_ids=json.dumps(ids[1:]))
    assert sorted(recording["id"] for recording in page["results"]) == sorted(ids[1:])


def test_unknown_parameter_is_refused_like_pydantic_extra_forbidden(emulator: Any) -> None:
    response = session(emulator).get(api(emulator, "session_recordings/"), params={"colour": "blue"})
    assert response.status_code == 400
    body = response.json()
    assert (body["type"], body["code"], body["attr"]) == ("validation_error", "invalid_input", None)
    assert "extra_forbidden" in body["detail"] and "colour" in body["detail"]


def test_property_definitions_filter_by_words_and_numeric_type(emulator: Any) -> None:
    http = session(emulator)
    utm = http.get(api(emulator, "sessions/property_definitions/"), params={"search": "entry utm"}).json()
    assert utm["count"] == 5
    assert {item["name"] for item in utm["results"]} == {
        f"$entry_utm_{name}" for name in ("source", "campaign", "medium", "term", "content")
    }
    assert set(utm["results"][0]) == {
        "id",
        "name",
        "is_numerical",
        "property_type",
        "is_seen_on_filtered_events",
        "tags",
    }
    numeric = http.get(
        api(emulator, "sessions/property_definitions/"), params={"is_numerical": "true"}
    ).json()
    assert {item["name"] for item in numeric["results"]} >= {"$session_duration", "$pageview_count"}
    assert all(item["is_numerical"] for item in numeric["results"])


def test_values_come_from_the_seeded_sessions_and_need_a_key(emulator: Any) -> None:
    http = session(emulator)
    channels = http.get(
        api(emulator, "sessions/values/"), params={"key": "$channel_type", "value": "organic"}
    ).json()
    assert channels["refreshing"] is False
    assert {"name": "Organic Social"} in channels["results"]
    assert all("organic" in item["name"].lower() for item in channels["results"])
    bounce = http.get(api(emulator, "sessions/values/"), params={"key": "$is_bounce"}).json()
    assert bounce["results"] == [{"name": "1"}, {"name": "0"}]
    assert http.get(api(emulator, "sessions/values/"), params={"key": "$nope"}).json()["results"] == []
    missing = http.get(api(emulator, "sessions/values/"))
    assert missing.status_code == 400
    assert missing.json() == envelope("validation_error", "invalid_input", "Key not provided")


def test_is_numerical_true_in_any_case_keeps_numbers_and_any_other_value_keeps_the_rest(
    emulator: Any,
) -> None:
    http = session(emulator)

    def names(is_numerical: str) -> set[str]:
        answer = http.get(
            api(emulator, "sessions/property_definitions/"), params={"is_numerical": is_numerical}
        ).json()
        return {item["name"] for item in answer["results"]}

    everything = {
        item["name"] for item in http.get(api(emulator, "sessions/property_definitions/")).json()["results"]
    }
    numeric = names("TRUE")
    assert numeric == names("true") and "$session_duration" in numeric
    for other in ("false", "1", "yes", ""):
        assert names(other) == everything - numeric, other


def test_values_are_the_most_frequent_first_with_ilike_on_the_value(emulator: Any) -> None:
    starts = recordings(emulator, date_from="-30d", limit=1000)["results"]
    frequency = Counter(recording["start_url"] for recording in starts)
    http = session(emulator)

    def values(**params: str) -> list[str]:
        answer = http.get(api(emulator, "sessions/values/"), params={"key": "$entry_current_url", **params})
        return [item["name"] for item in answer.json()["results"]]

    assert values() == sorted(frequency, key=lambda url: (-frequency[url], url))
    assert values(value="PRICING") == [url for url in values() if "pricing" in url]
    # PostHog puts the value into ILIKE '%value%' unescaped: '_' is any one character.
    assert values(value="_ricing") == values(value="pricing") != []
    assert values(value="%/signup") == [url for url in values() if url.endswith("/signup")]


def test_values_stop_at_twenty_and_equal_counts_come_alphabetically(emulator: Any) -> None:
    emulator.configure(session_count=200)  # about 40 Google sessions, each with its own click id
    http = session(emulator)

    def values(**params: str) -> list[str]:
        answer = http.get(api(emulator, "sessions/values/"), params={"key": "$entry_gclid", **params})
        return [item["name"] for item in answer.json()["results"]]

    names = values()
    assert len(names) == 20 and names == sorted(set(names))
    assert values(value="eaiaiq") == names  # the filter matches every click id; still 20
    assert len(values(value=names[-1][-8:])) == 1


def test_channel_type_values_are_posthogs_defaults_in_its_order_filtered_by_value(emulator: Any) -> None:
    http = session(emulator)
    every = http.get(api(emulator, "sessions/values/"), params={"key": "$channel_type"}).json()["results"]
    assert len(every) == 18 and every[0] == {"name": "Cross Network"}  # not the seeded counts' order
    paid = http.get(
        api(emulator, "sessions/values/"), params={"key": "$channel_type", "value": "PAID"}
    ).json()["results"]
    assert [item["name"] for item in paid] == [
        "Paid Search", "Paid Social", "Paid Video", "Paid Shopping", "Paid Unknown",
    ]  # fmt: skip


def test_sessions_need_query_read(emulator: Any) -> None:
    emulator.configure(throttle=False)
    response = session(emulator, "phx_demo_read_only").get(api(emulator, "sessions/property_definitions/"))
    assert response.status_code == 200
