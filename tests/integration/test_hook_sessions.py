"""The hook's session reads (recordings, session property definitions and values) over real HTTP
against the emulator."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider.api.errors import PostHogValidationError
from airflow_provider.hooks.posthog import PostHogHook


def test_session_properties_and_values(hook: PostHogHook) -> None:
    definitions = hook.get_session_property_definitions(search="entry url")
    assert "$entry_current_url" in {d["name"] for d in definitions}
    assert all("entry" in d["name"] and "url" in d["name"] for d in definitions)
    channels = hook.get_session_property_values("$channel_type", value="Paid")
    assert channels and all("Paid" in value["name"] for value in channels)


@pytest.mark.parametrize("is_numerical", [True, False])
def test_is_numerical_reaches_posthog_and_filters_both_ways(
    hook: PostHogHook, posthog_conn: Any, is_numerical: bool
) -> None:
    definitions = hook.get_session_property_definitions(is_numerical=is_numerical)
    assert definitions and {d["is_numerical"] for d in definitions} == {is_numerical}
    (sent,) = posthog_conn.requests(path="property_definitions")
    assert sent["query"]["is_numerical"] == str(is_numerical).lower()


def test_session_property_search_ignores_case(hook: PostHogHook) -> None:
    names = {d["name"] for d in hook.get_session_property_definitions(search="ENTRY Url")}
    assert "$entry_current_url" in names
    assert {v["name"] for v in hook.get_session_property_values("$channel_type", value="paid")} >= {
        "Paid Search"
    }


def test_every_recording_carries_the_fields_posthogs_schema_requires(hook: PostHogHook) -> None:
    required = {
        "id",
        "distinct_id",
        "viewed",
        "viewers",
        "recording_duration",
        "start_time",
        "end_time",
        "storage",
    }
    recordings = list(hook.list_session_recordings(date_from="-7d"))
    assert recordings and all(required <= set(recording) for recording in recordings)


def test_a_bad_recordings_filter_comes_back_as_posthogs_error(hook: PostHogHook) -> None:
    with pytest.raises(PostHogValidationError) as refused:
        list(hook.list_session_recordings(date_from="-7d", no_such_filter=1))
    assert (refused.value.type, refused.value.code) == ("validation_error", "invalid_input")
    assert "extra_forbidden" in (refused.value.detail or "")
