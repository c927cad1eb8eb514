"""The hook's subscription methods over real HTTP against the emulator, asserting on what it saw
and holds; the escape hatch (``hook.request``) on the subscriptions endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from subscription_body import SUBSCRIPTION

from airflow_provider.api.errors import PostHogConfigError, PostHogResponseLostError, PostHogValidationError
from airflow_provider.hooks.posthog import PostHogHook


def test_subscription_lifecycle_with_soft_delete(hook: PostHogHook, posthog_conn: Any) -> None:
    created = hook.create_subscription(**SUBSCRIPTION, title="Weekly KPIs")
    assert hook.get_subscription(created["id"])["title"] == "Weekly KPIs"
    assert hook.update_subscription(created["id"], interval=2)["interval"] == 2
    hook.delete_subscription(created["id"])

    patches = posthog_conn.requests(method="PATCH")
    assert [patch["body"] for patch in patches] == [{"interval": 2}, {"deleted": True}]
    assert posthog_conn.requests(method="DELETE") == []
    assert [s["id"] for s in hook.list_subscriptions()] == []
    assert [s["id"] for s in hook.list_subscriptions(deleted=True)] == [created["id"]]


def test_every_subscription_page_is_walked(hook: PostHogHook, posthog_conn: Any) -> None:
    created = [hook.create_subscription(**SUBSCRIPTION)["id"] for _ in range(5)]
    assert sorted(s["id"] for s in hook.list_subscriptions(limit=2)) == sorted(created)
    pages = posthog_conn.requests(method="GET", path=r"/subscriptions/?$")
    assert len(pages) == 3


def test_create_subscription_is_not_duplicated_when_the_answer_is_lost(
    hook: PostHogHook, posthog_conn: Any
) -> None:
    posthog_conn.add_fault(method="POST", path=r"/subscriptions/?$", kind="after_processing", status=502)
    with pytest.raises(PostHogResponseLostError, match="may have been created"):
        hook.create_subscription(**SUBSCRIPTION)
    assert len(posthog_conn.requests(method="POST", path=r"/subscriptions/?$")) == 1
    assert posthog_conn.counts()["subscriptions"] == 1


def test_a_field_posthog_refuses_comes_back_named(hook: PostHogHook) -> None:
    with pytest.raises(PostHogValidationError) as caught:
        hook.create_subscription(**{**SUBSCRIPTION, "insight": 999_999})  # not an insight of the project
    assert caught.value.attr == "insight"
    assert "field 'insight'" in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "frequency",
            "fortnightly",
            r"^frequency must be one of 'daily', 'weekly', 'monthly', 'yearly'; got",
        ),
        ("interval", 0, r"^interval must be an integer >= 1; got 0"),
        ("byweekday", ["funday"], r"^byweekday\[0\] must be one of 'monday'"),
        (
            "target_type",
            "carrier-pigeon",
            r"^target_type must be one of 'email', 'slack', 'webhook', 'teams'",
        ),
        ("title", "x" * 101, r"^title must be at most 100 characters"),
        ("start_date", "next week", r"^start_date must be an ISO-8601 datetime"),
    ],
)
def test_enumerated_subscription_fields_are_checked_before_sending(
    hook: PostHogHook, posthog_conn: Any, field: str, value: Any, message: str
) -> None:
    with pytest.raises(PostHogConfigError, match=message):
        hook.create_subscription(**{**SUBSCRIPTION, field: value})
    with pytest.raises(PostHogConfigError, match=message):
        hook.update_subscription(1, **{field: value})
    assert posthog_conn.requests(path="subscriptions") == []


def test_subscription_text_is_sent_trimmed_as_posthog_stores_it(hook: PostHogHook, posthog_conn: Any) -> None:
    created = hook.create_subscription(
        **{**SUBSCRIPTION, "target_value": " team@example.com ", "title": " KPIs "}
    )
    assert (created["target_value"], created["title"]) == ("team@example.com", "KPIs")
    (sent,) = posthog_conn.requests(method="POST", path="subscriptions")
    assert (sent["body"]["target_value"], sent["body"]["title"]) == ("team@example.com", "KPIs")


def test_escape_hatch_request_reaches_unwrapped_endpoints(hook: PostHogHook, posthog_conn: Any) -> None:
    hook.create_subscription(**SUBSCRIPTION)
    page = hook.request("GET", "subscriptions", params={"limit": 1})
    assert page["count"] == 1
    assert (
        hook.ui_url("data-warehouse")
        == f"{posthog_conn.url}/project/{posthog_conn.project_id}/data-warehouse"
    )
