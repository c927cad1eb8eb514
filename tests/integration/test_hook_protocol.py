"""The hooks over real HTTP on 127.0.0.1 against a scripted server: retries, waits, lost answers, paging.

A scripted server gives exact statuses, ``Retry-After`` values and dropped connections at exact
moments; what the emulator covers (every endpoint) is in the ``test_hook_<area>.py`` files.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from scripted_server import Reply, ScriptedServer, scripted_server

from airflow_provider.api.errors import (
    PostHogAuthenticationError,
    PostHogConnectionError,
    PostHogError,
    PostHogResponseLostError,
    PostHogServerError,
    PostHogValidationError,
)
from airflow_provider.hooks.posthog import PostHogAsyncHook, PostHogHook

KEY = "phx_demo_all_scopes"
VIEW = "0192f3a0-aaaa-7bbb-8ccc-000000000001"
SUBSCRIPTIONS = "/api/projects/7/subscriptions/"
THROTTLED = {
    "type": "throttled_error",
    "code": "throttled",
    "detail": "Request was throttled. Expected available in 2 seconds.",
    "attr": None,
}
BAD_REQUEST = {
    "type": "validation_error",
    "code": "required",
    "detail": "This field is required.",
    "attr": "frequency",
}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedServer]:
    """A scripted server, and ``posthog_default`` pointing at it (project 7)."""
    with scripted_server() as running:
        connection = {
            "conn_type": "posthog",
            "host": running.url,
            "password": KEY,
            "extra": {"project_id": "7"},
        }
        monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", json.dumps(connection))
        yield running


@pytest.fixture
def hook(server: ScriptedServer) -> Iterator[PostHogHook]:
    posthog = PostHogHook()
    yield posthog
    posthog.close()


def test_429_with_retry_after_2_waits_at_least_2_seconds_then_succeeds(
    server: ScriptedServer, hook: PostHogHook
) -> None:
    server.script(Reply(429, THROTTLED, {"Retry-After": "2"}), Reply(200, {"id": 3, "title": "Weekly"}))
    assert hook.get_subscription(3) == {"id": 3, "title": "Weekly"}
    first, second = server.seen
    assert second.time - first.time >= 2.0
    assert first.path == second.path == f"{SUBSCRIPTIONS}3/"


def test_async_hook_honors_retry_after_the_same_way(server: ScriptedServer) -> None:
    server.script(
        Reply(429, THROTTLED, {"Retry-After": "2"}), Reply(200, {"id": VIEW, "status": "Completed"})
    )

    async def read() -> dict[str, Any]:
        async with PostHogAsyncHook() as async_hook:
            return await async_hook.get_saved_query(VIEW)

    assert asyncio.run(read())["status"] == "Completed"
    first, second = server.seen
    assert second.time - first.time >= 2.0


def test_503_is_retried(server: ScriptedServer, hook: PostHogHook) -> None:
    server.script(
        Reply(503, {"type": "server_error", "code": "database_unavailable", "detail": "x", "attr": None})
    )
    server.script(Reply(200, {"id": 3}))
    assert hook.get_subscription(3) == {"id": 3}
    assert len(server.seen) == 2


def test_400_is_not_retried(server: ScriptedServer, hook: PostHogHook) -> None:
    server.script(Reply(400, BAD_REQUEST))
    with pytest.raises(PostHogValidationError) as caught:
        hook.update_subscription(3, frequency="daily")  # the scripted server refuses it anyway
    assert caught.value.attr == "frequency"
    assert len(server.seen) == 1


def test_create_answered_502_is_not_sent_twice(server: ScriptedServer, hook: PostHogHook) -> None:
    server.script(Reply(502, b"<html>Bad gateway</html>", {"Content-Type": "text/html"}))
    with pytest.raises(PostHogResponseLostError, match="may have been created"):
        hook.create_subscription(
            insight=1, target_type="email", target_value="a@example.com", frequency="daily", interval=1
        )
    assert [(seen.method, seen.path) for seen in server.seen] == [("POST", SUBSCRIPTIONS)]


def test_create_whose_connection_drops_is_not_sent_twice(server: ScriptedServer, hook: PostHogHook) -> None:
    server.script(Reply(drop=True))
    with pytest.raises(PostHogResponseLostError, match="connection dropped"):
        hook.create_subscription(
            insight=1, target_type="email", target_value="a@example.com", frequency="daily", interval=1
        )
    assert [seen.method for seen in server.seen] == ["POST"]


def test_async_create_like_run_is_not_sent_twice_after_a_dropped_connection(server: ScriptedServer) -> None:
    server.script(Reply(drop=True))

    async def run() -> None:
        async with PostHogAsyncHook() as async_hook:
            await async_hook.run_saved_query(VIEW)

    with pytest.raises(PostHogResponseLostError):
        asyncio.run(run())
    assert [seen.method for seen in server.seen] == ["POST"]


def test_saved_query_upsert_is_resent_after_a_502_because_it_is_idempotent(
    server: ScriptedServer, hook: PostHogHook
) -> None:
    server.script(Reply(502), Reply(200, {"id": VIEW, "name": "daily_users"}))
    assert hook.create_saved_query("daily_users", "select 1")["id"] == VIEW
    assert [seen.method for seen in server.seen] == ["POST", "POST"]


def test_summaries_are_resent_after_a_gateway_504(server: ScriptedServer, hook: PostHogHook) -> None:
    summary = {"s1": {"segments": []}, "s2": {"error": "no_events_or_too_short", "error_message": "short"}}
    server.script(Reply(504, b"upstream timed out", {"Retry-After": "0"}), Reply(200, summary))
    assert hook.create_session_summaries(["s1", "s2", "s1"]) == summary
    first, second = server.seen
    assert json.loads(first.body) == json.loads(second.body) == {"session_ids": ["s1", "s2"]}


def test_read_timeout_on_a_read_is_retried(server: ScriptedServer) -> None:
    server.script(Reply(200, {"id": 1}, delay=1.5), Reply(200, {"id": 2}))
    hook = PostHogHook(timeout=0.5)
    try:
        assert hook.get_subscription(1) == {"id": 2}
    finally:
        hook.close()
    assert len(server.seen) == 2


def test_unreachable_host_gives_up_with_a_connection_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with scripted_server() as doomed:
        url = doomed.url
    connection = {
        "conn_type": "posthog",
        "host": url,
        "password": KEY,
        "extra": {"project_id": 7, "max_retries": 1},
    }
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", json.dumps(connection))
    with pytest.raises(PostHogConnectionError, match=r"could not connect.*gave up after 1 retry"):
        PostHogHook().get_subscription(1)


def test_every_page_is_walked_and_next_links_never_take_the_key_elsewhere(
    server: ScriptedServer, hook: PostHogHook
) -> None:
    with scripted_server() as elsewhere:

        def page(seen: Any) -> Reply:
            offset = int(seen.query.get("offset", 0))
            more = offset + 2 < 5
            following = f"{elsewhere.url}{SUBSCRIPTIONS}?limit=2&offset={offset + 2}" if more else None
            results = [{"id": n} for n in range(offset, min(offset + 2, 5))]
            return Reply(200, {"count": 5, "next": following, "previous": None, "results": results})

        server.fallback = page
        assert [item["id"] for item in hook.list_subscriptions(limit=2)] == [0, 1, 2, 3, 4]
        assert elsewhere.seen == []
    assert [seen.query.get("offset") for seen in server.seen] == [None, "2", "4"]
    assert all(seen.headers["authorization"] == f"Bearer {KEY}" for seen in server.seen)


def test_saved_query_pages_are_walked_by_page_number(server: ScriptedServer, hook: PostHogHook) -> None:
    def page(seen: Any) -> Reply:
        number = int(seen.query.get("page", 1))
        following = (
            f"{server.url}/api/projects/7/warehouse_saved_queries/?page={number + 1}" if number < 3 else None
        )
        return Reply(200, {"count": 3, "next": following, "results": [{"name": f"v{number}"}]})

    server.fallback = page
    assert [view["name"] for view in hook.list_saved_queries()] == ["v1", "v2", "v3"]
    assert [seen.query.get("page") for seen in server.seen] == [None, "2", "3"]


def test_recording_pages_advance_offset_while_has_next(server: ScriptedServer, hook: PostHogHook) -> None:
    def page(seen: Any) -> Reply:
        offset = int(seen.query.get("offset", 0))
        results = [{"id": f"r{n}"} for n in range(offset, min(offset + 3, 7))]
        return Reply(200, {"results": results, "has_next": offset + 3 < 7, "version": 4})

    server.fallback = page
    assert len(list(hook.list_session_recordings(date_from="-7d", limit=3))) == 7
    assert [seen.query.get("offset") for seen in server.seen] == [None, "3", "6"]


def test_async_job_pages_follow_the_cursor(server: ScriptedServer) -> None:
    path = "/api/projects/7/data_modeling_jobs/"

    def page(seen: Any) -> Reply:
        cursor = seen.query.get("cursor")
        following = None if cursor else f"{server.url}{path}?cursor=c2&limit=2&saved_query_id={VIEW}"
        jobs = [{"id": "j3"}] if cursor else [{"id": "j1"}, {"id": "j2"}]
        return Reply(200, {"next": following, "previous": None, "results": jobs})

    server.fallback = page

    async def jobs() -> list[str]:
        async with PostHogAsyncHook() as async_hook:
            return [job["id"] async for job in async_hook.list_data_modeling_jobs(VIEW, page_size=2)]

    assert asyncio.run(jobs()) == ["j1", "j2", "j3"]
    assert [seen.query.get("cursor") for seen in server.seen] == [None, "c2"]
    assert server.seen[1].query["saved_query_id"] == VIEW


def test_saved_query_pages_stop_at_an_empty_page_although_next_is_set(
    server: ScriptedServer, hook: PostHogHook
) -> None:
    def page(seen: Any) -> Reply:
        number = int(seen.query.get("page", 1))
        following = f"{server.url}/api/projects/7/warehouse_saved_queries/?page={number + 1}"
        return Reply(200, {"count": 1, "next": following, "results": [{"name": "v1"}] if number == 1 else []})

    server.fallback = page
    assert [view["name"] for view in hook.list_saved_queries()] == ["v1"]
    assert [seen.query.get("page") for seen in server.seen] == [None, "2"]


def test_next_links_that_cycle_stop_the_walk_with_a_clear_error(
    server: ScriptedServer, hook: PostHogHook
) -> None:
    def page(seen: Any) -> Reply:
        offset = int(seen.query.get("offset", 0))
        following = f"{server.url}{SUBSCRIPTIONS}?limit=2&offset={2 if offset == 0 else 0}"
        return Reply(200, {"count": 9, "next": following, "results": [{"id": offset}, {"id": offset + 1}]})

    server.fallback = page
    walked: list[int] = []
    with pytest.raises(PostHogError, match=r"\(limit=2&offset=2\) was already fetched"):
        walked.extend(item["id"] for item in hook.list_subscriptions(limit=2))
    assert walked == [0, 1, 2, 3, 0, 1]
    assert [seen.query.get("offset") for seen in server.seen] == [None, "2", "0"]


def test_async_cursor_links_that_cycle_stop_the_walk_with_a_clear_error(server: ScriptedServer) -> None:
    path = "/api/projects/7/data_modeling_jobs/"

    def page(seen: Any) -> Reply:
        cursor = "b" if seen.query.get("cursor") == "a" else "a"
        following = f"{server.url}{path}?cursor={cursor}&limit=1&saved_query_id={VIEW}"
        return Reply(
            200, {"next": following, "previous": None, "results": [{"id": seen.query.get("cursor")}]}
        )

    server.fallback = page
    walked: list[str | None] = []

    async def jobs() -> None:
        async with PostHogAsyncHook() as async_hook:
            async for job in async_hook.list_data_modeling_jobs(VIEW, page_size=1):
                walked.append(job["id"])

    with pytest.raises(PostHogError, match="already fetched; stopping after 3 pages"):
        asyncio.run(jobs())
    assert walked == [None, "a", "b"]
    assert [seen.query.get("cursor") for seen in server.seen] == [None, "a", "b"]


def test_the_key_is_in_no_log_record_exception_or_repr(
    server: ScriptedServer, hook: PostHogHook, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    unauthorized = {
        "type": "authentication_error",
        "code": "authentication_failed",
        "detail": "Personal API key found in request Authorization header is invalid.",
        "attr": None,
    }
    server.script(
        Reply(503),
        Reply(429, THROTTLED, {"Retry-After": "0"}),
        Reply(401, unauthorized),
        Reply(400, {"detail": f"echoing {KEY}"}),
        Reply(502),
        Reply(
            403, {"type": "authentication_error", "detail": "API key missing required scope 'project:read'"}
        ),
    )
    errors: list[BaseException] = []
    for action in (
        lambda: hook.get_subscription(1),
        lambda: hook.get_subscription(1),
        lambda: hook.create_subscription(
            insight=1, target_type="email", target_value="a@example.com", frequency="daily", interval=1
        ),
    ):
        try:
            action()
        except Exception as exc:
            errors.append(exc)
    ok, message = hook.test_connection()
    assert not ok
    assert message.startswith("Missing scope")
    assert len(errors) == 3
    assert isinstance(errors[0], PostHogAuthenticationError)
    assert isinstance(errors[2], PostHogResponseLostError)
    texts = [record.getMessage() for record in caplog.records] + [str(error) for error in errors] + [message]
    texts += [
        repr(hook),
        repr(hook.get_conn()),
        repr(hook.get_conn().config),
        repr(hook.get_conn().transport),
    ]
    assert any("retry 1 of" in text for text in texts), "retries were logged"
    assert all(KEY not in text for text in texts)


def test_a_server_error_after_all_retries_names_the_retries(server: ScriptedServer) -> None:
    hook = PostHogHook(max_retries=1)
    server.script(Reply(500, headers={"Retry-After": "0"}), Reply(500, headers={"Retry-After": "0"}))
    try:
        with pytest.raises(PostHogServerError, match="Gave up after 1 retry"):
            hook.get_subscription(1)
    finally:
        hook.close()
    assert len(server.seen) == 2


def test_async_hooks_of_one_connection_share_one_session_closed_by_the_last(server: ScriptedServer) -> None:
    async def two_hooks() -> tuple[bool, bool, bool]:
        first, second = PostHogAsyncHook(), PostHogAsyncHook()
        await asyncio.gather(first.get_saved_query(VIEW), second.get_saved_query(VIEW))
        await first.get_saved_query(VIEW)
        await second.get_saved_query(VIEW)
        shared = (await first.get_conn()).transport is (await second.get_conn()).transport
        transport = (await second.get_conn()).transport
        await first.close()
        open_after_first = not transport.closed
        await second.close()
        return shared, open_after_first, transport.closed

    shared, open_after_first, closed_after_last = asyncio.run(two_hooks())
    assert shared
    assert open_after_first
    assert closed_after_last
    assert len(server.seen) == 4
    assert server.connections <= 2, "requests reuse the shared session's connections"


def test_sync_hook_reuses_one_connection(server: ScriptedServer, hook: PostHogHook) -> None:
    for subscription_id in range(1, 6):
        hook.get_subscription(subscription_id)
    assert len(server.seen) == 5
    assert server.connections == 1


def test_concurrent_first_calls_on_one_async_hook_hold_one_share_of_the_session(
    server: ScriptedServer,
) -> None:
    async def scenario() -> bool:
        async_hook = PostHogAsyncHook()
        await asyncio.gather(*(async_hook.get_saved_query(VIEW) for _ in range(3)))
        transport = (await async_hook.get_conn()).transport
        await async_hook.close()
        return transport.closed

    assert asyncio.run(scenario()), "the session closes when its only hook closes"
    assert len(server.seen) == 3
