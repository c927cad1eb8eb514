"""Retry decisions of the client core over real HTTP against the emulator, asserting on what it saw."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from helpers import wait_until

from airflow_provider.api.errors import PostHogNotFoundError, PostHogPaymentRequiredError
from airflow_provider.hooks.posthog import PostHogHook


def test_delete_whose_answer_was_lost_succeeds_when_the_resend_finds_it_gone(
    hook: PostHogHook, posthog_conn: Any, caplog: pytest.LogCaptureFixture
) -> None:
    created = hook.create_user_interview(b"ID3 audio", interviewee_emails=["jane@acme.com"])
    posthog_conn.add_fault(method="DELETE", path="user_interviews", kind="after_processing", status=502)
    caplog.set_level(logging.WARNING, logger="airflow_provider.api")

    assert hook.delete_user_interview(created["id"]) is None

    deletes = posthog_conn.requests(method="DELETE", path="user_interviews")
    assert [delete["status"] for delete in deletes] == [502, 404]
    assert {delete["path"] for delete in deletes} == {
        f"/api/projects/{posthog_conn.project_id}/user_interviews/{created['id']}/"
    }
    assert posthog_conn.counts()["user_interviews"] == 0
    assert "had already deleted it" in caplog.text


def test_delete_of_an_object_that_never_existed_still_raises_not_found(
    hook: PostHogHook, posthog_conn: Any
) -> None:
    with pytest.raises(PostHogNotFoundError):
        hook.delete_user_interview("0192f3a0-aaaa-7bbb-8ccc-000000000001")
    assert [delete["status"] for delete in posthog_conn.requests(method="DELETE")] == [404]


def test_a_429_holds_back_every_caller_of_its_bucket_in_the_process(posthog_conn: Any) -> None:
    """One caller meets the 429; the others wait out its Retry-After instead of each meeting one."""
    posthog_conn.add_fault(
        method="GET", path="subscriptions", kind="status", status=429, retry_after=2, times=1
    )
    hooks = [PostHogHook() for _ in range(4)]
    first = threading.Thread(target=lambda: list(hooks[0].list_subscriptions()))
    first.start()
    refused = wait_until(
        lambda: posthog_conn.requests(method="GET", path="subscriptions"), what="the first caller's 429"
    )[0]
    assert refused["status"] == 429
    others = [
        threading.Thread(target=lambda hook=hook: list(hook.list_subscriptions())) for hook in hooks[1:]
    ]
    for thread in others:
        thread.start()
    for thread in (first, *others):
        thread.join()

    sent = posthog_conn.requests(method="GET", path="subscriptions")
    assert [entry["status"] for entry in sent] == [429, 200, 200, 200, 200]
    # Nobody asked again before PostHog's Retry-After had passed.
    assert all(entry["time"] >= refused["time"] + 2 - 0.05 for entry in sent[1:])


@pytest.mark.parametrize(
    ("method", "path", "call"),
    [
        ("POST", "session_summaries", lambda hook: hook.create_session_summaries(["s1"])),
        ("GET", "warehouse_saved_queries", lambda hook: list(hook.list_saved_queries())),
    ],
    ids=["summaries", "warehouse"],
)
def test_a_402_is_a_billing_error_that_is_never_retried(
    hook: PostHogHook, posthog_conn: Any, method: str, path: str, call: Any
) -> None:
    posthog_conn.add_fault(method=method, path=path, kind="status", status=402, times=None)
    with pytest.raises(PostHogPaymentRequiredError, match="plan or quota") as raised:
        call(hook)
    assert raised.value.status == 402
    assert len(posthog_conn.requests(method=method, path=path)) == 1
