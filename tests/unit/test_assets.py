"""The ``posthog://`` URI scheme: canonical form, Airflow's own checks through the provider, lineage names."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from airflow.sdk import Asset, ObjectStoragePath
from airflow.sdk.exceptions import AirflowException

from airflow_provider.api.errors import PostHogConfigError
from airflow_provider.assets import (
    convert_asset_to_openlineage,
    create_asset,
    normalize_uri,
    posthog_saved_query_asset,
    storage_folder_asset,
    storage_uri,
    uri_host,
)
from airflow_provider.get_provider_info import get_provider_info


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("https://us.posthog.com", None, "us.posthog.com"),
        ("EU.PostHog.com", None, "eu.posthog.com"),
        ("https://eu.posthog.com:443/", None, "eu.posthog.com"),
        ("http://127.0.0.1:8010", None, "127.0.0.1:8010"),
        ("https://posthog.example.com/prefix", None, "posthog.example.com"),
        ("posthog.example.com", 8443, "posthog.example.com:8443"),
        ("", None, "us.posthog.com"),
    ],
)
def test_uri_host_drops_scheme_default_port_and_case(host: str, port: int | None, expected: str) -> None:
    assert uri_host(host, port) == expected


def test_factory_builds_the_canonical_uri_and_keeps_the_view_names_case() -> None:
    asset = create_asset(host="https://EU.posthog.com", project_id=12345, name="Daily_Pageviews.v2")
    assert asset.uri == "posthog://eu.posthog.com/12345/saved_queries/Daily_Pageviews.v2"


def test_the_provider_registers_the_scheme_with_airflow() -> None:
    (entry,) = get_provider_info()["asset-uris"]
    assert entry["schemes"] == ["posthog"]
    # Airflow's own Asset runs the provider's normaliser: case of the host and the default port go.
    assert Asset("posthog://US.PostHog.com:443/7/saved_queries/my_view").uri == (
        "posthog://us.posthog.com/7/saved_queries/my_view"
    )


@pytest.mark.parametrize(
    ("uri", "complaint"),
    [
        ("posthog:///7/saved_queries/v", "has no host"),
        ("posthog://us.posthog.com/7/insights/v", "is not a saved query"),
        ("posthog://us.posthog.com/7/saved_queries", "is not a saved query"),
        ("posthog://us.posthog.com/seven/saved_queries/v", "project id must be numeric; got 'seven'"),
        ("posthog://us.posthog.com/7/saved_queries/1view", "is not a PostHog view name"),
        ("posthog://us.posthog.com/7/saved_queries/my-view", "is not a PostHog view name"),
    ],
)
def test_malformed_uris_are_refused_when_the_asset_is_made(uri: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        normalize_uri(urlsplit(uri))
    with pytest.raises(ValueError, match=complaint):
        Asset(uri)


def test_openlineage_names_a_view_by_host_namespace_and_project_dot_name() -> None:
    dataset = convert_asset_to_openlineage(create_asset(host="eu.posthog.com", project_id=5, name="v"), None)
    assert (dataset.namespace, dataset.name) == ("posthog://eu.posthog.com", "5.saved_queries.v")


def test_helper_reads_host_and_project_from_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_POSTHOG_EU",
        json.dumps(
            {
                "conn_type": "posthog",
                "host": "https://eu.posthog.com",
                "password": "phx_secret_key_1234",
                "extra": {"project_id": "12345"},
            }
        ),
    )
    asset = posthog_saved_query_asset("daily_pageviews", conn_id="posthog_eu")
    assert asset.uri == "posthog://eu.posthog.com/12345/saved_queries/daily_pageviews"
    assert "phx_secret_key_1234" not in repr(asset)
    override = posthog_saved_query_asset("daily_pageviews", conn_id="posthog_eu", project_id=9)
    assert override.uri == "posthog://eu.posthog.com/9/saved_queries/daily_pageviews"


def test_helper_reads_no_connection_when_given_host_and_project() -> None:
    # posthog_nowhere is defined nowhere: reading it would raise, as the last call shows.
    asset = posthog_saved_query_asset(
        "v", conn_id="posthog_nowhere", host="https://us.posthog.com", project_id="3"
    )
    assert asset.uri == "posthog://us.posthog.com/3/saved_queries/v"
    with pytest.raises(AirflowException, match="posthog_nowhere"):
        posthog_saved_query_asset("v", conn_id="posthog_nowhere", host="https://us.posthog.com")


def test_the_asset_named_without_a_connection_is_the_one_operators_emit_events_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_POSTHOG_EU",
        json.dumps(
            {
                "conn_type": "posthog",
                "host": "https://eu.posthog.com:443/",
                "password": "phx_secret_key_1234",
                "extra": {"project_id": "12345"},
            }
        ),
    )
    parse_safe = posthog_saved_query_asset("Daily_Pageviews", host="EU.posthog.com", project_id=12345)
    # What the operators emit at run time: create_asset() of the hook's asset_location().
    emitted = create_asset(host="eu.posthog.com", project_id="12345", name="Daily_Pageviews")
    from_connection = posthog_saved_query_asset("Daily_Pageviews", conn_id="posthog_eu")

    # Airflow matches an event to a schedule by name and URI together: both must agree.
    assert (parse_safe.name, parse_safe.uri) == (emitted.name, emitted.uri)
    assert parse_safe == emitted == from_connection


def test_helper_errors_name_what_to_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_POSTHOG_NOPROJECT",
        json.dumps({"conn_type": "posthog", "host": "https://us.posthog.com", "password": "phx_x"}),
    )
    with pytest.raises(PostHogConfigError, match="has no 'project_id' extra; pass project_id"):
        posthog_saved_query_asset("v", conn_id="posthog_noproject")
    with pytest.raises(PostHogConfigError, match="name must be a PostHog view name"):
        posthog_saved_query_asset("bad name", host="us.posthog.com", project_id=1)
    with pytest.raises(
        PostHogConfigError,
        match=r"^project_id must be the numeric PostHog project id for an asset URI .*; got '@current'\. Set",
    ):
        posthog_saved_query_asset("v", host="us.posthog.com", project_id="@current")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("file:///data/summaries", "file:///data/summaries"),
        ("/data/summaries", "file:///data/summaries"),
        ("s3://aws_default@bucket/posthog/summaries", "s3://bucket/posthog/summaries"),
    ],
)
def test_storage_uris_leave_the_connection_id_out(path: str, expected: str) -> None:
    assert storage_uri(ObjectStoragePath(path)) == expected
    assert storage_folder_asset(path).uri == expected
