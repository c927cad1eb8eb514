"""The API prefix as plain data: which prefix calls use, PostHog's deprecation headers become one warning
per path family, and which redirects the exchange follows (same host, safe to re-send) or refuses."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import pytest

from airflow_provider.api import endpoints
from airflow_provider.api.call import ApiCall
from airflow_provider.api.config import ClientConfig
from airflow_provider.api.deprecation import NoticeMemory, deprecation_notice, path_family
from airflow_provider.api.endpoints import project
from airflow_provider.api.errors import PostHogAPIError, PostHogConfigError
from airflow_provider.api.exchange import Send, Sleep, exchange
from airflow_provider.api.redirects import MAX_REDIRECTS, follow_redirect
from airflow_provider.api.request import ApiRequest, build_request
from airflow_provider.api.response import Outcome, RawResponse, error_from_response
from airflow_provider.api.retry import RetryPolicy

KEY = "phx_demo_all_scopes"
SUNSET = "Fri, 31 Jul 2026 00:00:00 GMT"


def config(host: str = "https://posthog.example.com", **extra: Any) -> ClientConfig:
    return ClientConfig.from_connection_fields(
        host=host, api_key=KEY, extra={"project_id": "7", "rate_limit": False, **extra}
    )


def request(
    method: str = "GET",
    path: str = "subscriptions",
    host: str = "https://posthog.example.com",
    prefix: str = "environments",
) -> ApiRequest:
    return build_request(config(host, api_prefix=prefix), ApiCall(method, path))


def redirect(status: int, location: str, **headers: str) -> RawResponse:
    return RawResponse(status, {"location": location, **headers}, b"")


def drive(
    first: ApiRequest, outcomes: Iterable[Outcome], sent: list[ApiRequest] | None = None
) -> tuple[Any, list[ApiRequest]]:
    """Run the exchange against scripted answers; return its result and every request it sent (also
    collected in ``sent``, for exchanges that raise)."""
    pending = iter(outcomes)
    sent = [] if sent is None else sent
    steps = exchange(first, RetryPolicy(max_retries=0), None)
    action = next(steps)
    try:
        while True:
            assert not isinstance(action, Sleep), "a redirect must not be waited for like a retry"
            assert isinstance(action, Send)
            sent.append(action.request)
            action = steps.send(next(pending))
    except StopIteration as done:
        return done.value, sent


# --- the prefix --------------------------------------------------------------------------------


def test_calls_go_to_the_projects_prefix_unless_the_connection_asks_for_environments() -> None:
    listing = ApiCall("GET", "subscriptions")
    assert build_request(config(), listing).path == "/api/projects/7/subscriptions/"
    older = config(api_prefix="environments")
    assert build_request(older, listing).path == "/api/environments/7/subscriptions/"
    assert (
        build_request(older, listing).url == "https://posthog.example.com/api/environments/7/subscriptions/"
    )
    # The project object lives under /api/projects/ on every PostHog version.
    assert build_request(older, project()).path == "/api/projects/7/"


@pytest.mark.parametrize("value", ["env", "Projects/", 1, True])
def test_an_unknown_api_prefix_is_refused_naming_the_extra_and_the_choices(value: object) -> None:
    with pytest.raises(PostHogConfigError, match=r"extra 'api_prefix'.*'projects', 'environments'"):
        config(api_prefix=value)


def test_both_prefixes_count_against_the_same_rate_limit_buckets() -> None:
    run = endpoints.run_saved_query("0192f3a0-aaaa-7bbb-8ccc-000000000001")
    canonical = build_request(config(rate_limit=True), run)
    alias = build_request(config(rate_limit=True, api_prefix="environments"), run)
    assert canonical.rate_buckets == alias.rate_buckets
    assert "saved_query_run" in canonical.rate_buckets[0].key


# --- deprecation headers -----------------------------------------------------------------------


def posthog_alias_answer(path: str) -> RawResponse:
    successor = path.replace("/api/environments/", "/api/projects/")
    return RawResponse(
        200,
        {"deprecation": "true", "sunset": SUNSET, "link": f'<{successor}>; rel="successor-version"'},
        b"{}",
    )


def test_a_deprecated_answer_gives_the_date_the_successor_and_the_extra_to_change() -> None:
    sent = request()
    notice = deprecation_notice(sent, posthog_alias_answer(sent.path))
    assert notice is not None
    assert "/api/environments/:id/subscriptions/" in notice
    assert "2026-07-31" in notice
    assert "/api/projects/7/subscriptions/" in notice
    assert "'api_prefix'" in notice
    assert KEY not in notice
    assert deprecation_notice(sent, RawResponse(200, {}, b"{}")) is None


def test_the_path_family_is_the_first_segment_after_the_project() -> None:
    assert path_family("/api/environments/7/subscriptions/12/") == "/api/environments/:id/subscriptions/"
    assert path_family("/api/environments/7/") == "/api/environments/:id/"


def test_the_exchange_warns_once_per_host_and_path_family(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="airflow_provider.api")
    host = "https://once-per-family.example.com"  # a host no other test uses: the memory is per process
    for path in ("subscriptions", "subscriptions/5", "subscriptions", "warehouse_saved_queries"):
        sent = request(path=path, host=host)
        drive(sent, [posthog_alias_answer(sent.path)])
    warnings = [record.getMessage() for record in caplog.records if "deprecated" in record.getMessage()]
    assert len(warnings) == 2
    assert "subscriptions/" in warnings[0] and "warehouse_saved_queries/" in warnings[1]
    assert all(KEY not in text for text in warnings)


def test_the_memory_tells_hosts_apart() -> None:
    memory = NoticeMemory()
    assert memory.first(request(host="https://a.example.com"))
    assert not memory.first(request(path="subscriptions/9", host="https://a.example.com"))
    assert memory.first(request(host="https://b.example.com"))


# --- redirects ---------------------------------------------------------------------------------


def test_a_same_host_307_is_followed_with_the_key_query_and_method_kept() -> None:
    first = request()
    result, sent = drive(
        first,
        [
            redirect(307, "/api/projects/7/subscriptions/?limit=100&offset=0"),
            RawResponse(200, {}, b'{"n": 1}'),
        ],
    )
    assert result == {"n": 1}
    assert [r.path for r in sent] == ["/api/environments/7/subscriptions/", "/api/projects/7/subscriptions/"]
    assert sent[1].url == "https://posthog.example.com/api/projects/7/subscriptions/"
    assert sent[1].params == (("limit", "100"), ("offset", "0"))
    assert sent[1].method == "GET"
    assert sent[1].headers["Authorization"] == f"Bearer {KEY}"


def test_a_308_of_an_idempotent_post_is_followed_with_its_body() -> None:
    first = build_request(
        config(api_prefix="environments"), ApiCall("POST", "summaries", json={"a": 1}, idempotent=True)
    )
    _, sent = drive(first, [redirect(308, "/api/projects/7/summaries/"), RawResponse(200, {}, b"{}")])
    assert (sent[1].method, sent[1].json, sent[1].path) == ("POST", {"a": 1}, "/api/projects/7/summaries/")


def test_a_create_is_not_resent_on_a_307_and_the_advice_names_the_api_prefix() -> None:
    sent: list[ApiRequest] = []
    with pytest.raises(PostHogAPIError) as raised:
        drive(request("POST"), [redirect(307, "/api/projects/7/subscriptions/")], sent)
    assert len(sent) == 1
    message = str(raised.value)
    assert raised.value.status == 307
    assert "was not re-sent" in message
    assert "'api_prefix'" in message and "'projects'" in message
    assert "set the connection's host" not in message


def test_a_redirect_to_another_host_is_never_followed_so_the_key_stays_home() -> None:
    for location in (
        "https://evil.example.net/api/projects/7/subscriptions/",
        "http://posthog.example.com/api/projects/7/subscriptions/",
        "https://posthog.example.com:8443/api/projects/7/subscriptions/",
    ):
        sent: list[ApiRequest] = []
        with pytest.raises(PostHogAPIError, match="another host or scheme") as raised:
            drive(request(), [redirect(307, location)], sent)
        assert "key is not sent" in str(raised.value)
        assert [r.url for r in sent] == ["https://posthog.example.com/api/environments/7/subscriptions/"]
    assert follow_redirect(request(), redirect(307, "https://evil.example.net/x/"), 0) is None


def test_a_redirect_loop_stops_after_a_few_hops() -> None:
    loop = [redirect(307, "/api/projects/7/subscriptions/")] * (MAX_REDIRECTS + 1)
    with pytest.raises(PostHogAPIError, match=f"more than {MAX_REDIRECTS} times"):
        drive(request(), loop)


def test_a_301_is_not_followed_and_says_where_to_point_the_host() -> None:
    with pytest.raises(PostHogAPIError) as raised:
        drive(
            request(prefix="projects"),
            [redirect(301, "https://posthog.example.com/ph/api/projects/7/subscriptions/")],
        )
    message = str(raised.value)
    assert "only 307 and 308" in message
    assert "set the connection's host to https://posthog.example.com/ph" in message.lower()


def test_a_404_of_session_summaries_under_projects_points_at_the_older_prefix() -> None:
    summaries = build_request(
        config("https://posthog.example.com", api_prefix="projects"),
        endpoints.create_session_summaries(["a"], None),
    )
    error = error_from_response(summaries, RawResponse(404, {}, b'{"detail": "Not found."}'))
    assert "'api_prefix'" in str(error) and "'environments'" in str(error)
    other = error_from_response(request(prefix="projects"), RawResponse(404, {}, b'{"detail": "Not found."}'))
    assert "api_prefix" not in str(other)
