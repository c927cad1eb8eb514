"""Subscription operators run by real Airflow (``dag.test()``) against the emulator over loopback."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import BaseOperator
from dag_test_runs import run_operators, task_instance, task_states

from airflow_provider.links import PostHogSubscriptionLink
from airflow_provider.operators import (
    PostHogCreateSubscriptionOperator,
    PostHogDeleteSubscriptionOperator,
    PostHogUpdateSubscriptionOperator,
)

COLLECTION = r"/subscriptions/?$"
UPDATE = PostHogUpdateSubscriptionOperator
WEEKLY = {
    "insight": 101,
    "target_type": "email",
    "target_value": "a@example.com,b@example.com",
    "frequency": "weekly",
    "byweekday": ["monday"],
    "delivery_start": "2026-01-05T09:00:00+00:00",
    "title": "Weekly KPIs",
}


def _run(*operators: BaseOperator) -> Any:
    return run_operators(*operators, dag_id_prefix="test_subscriptions")


def _create(**overrides: Any) -> PostHogCreateSubscriptionOperator:
    return PostHogCreateSubscriptionOperator(task_id="create", **{**WEEKLY, **overrides})


def test_create_sends_the_declared_fields_and_stores_the_link(airflow_db: Path, posthog_conn: Any) -> None:
    before = posthog_conn.counts()["subscriptions"]

    dag_run = _run(_create())

    assert task_states(dag_run) == {"create": "success"}
    (post,) = posthog_conn.requests(method="POST", path=COLLECTION)
    assert post["status"] == 201
    assert post["body"] == {
        "insight": 101,
        "target_type": "email",
        "target_value": "a@example.com,b@example.com",
        "frequency": "weekly",
        "interval": 1,
        "byweekday": ["monday"],
        "start_date": "2026-01-05T09:00:00+00:00",
        "title": "Weekly KPIs",
    }
    assert posthog_conn.counts()["subscriptions"] == before + 1
    ti = task_instance(dag_run, "create")
    subscription_id = ti.xcom_pull(task_ids="create")
    assert isinstance(subscription_id, int)
    url = f"{posthog_conn.url}/project/{posthog_conn.project_id}/subscriptions/{subscription_id}"
    assert ti.xcom_pull(task_ids="create", key=PostHogSubscriptionLink.url_xcom_key) == url
    assert ti.xcom_pull(task_ids="create", key=PostHogSubscriptionLink().xcom_key) == url


def test_schedule_position_and_count_are_templated(airflow_db: Path, posthog_conn: Any) -> None:
    dag_run = _run(_create(frequency="monthly", bysetpos="{{ 1 }}", count="{{ 6 * 2 }}"))

    assert task_states(dag_run) == {"create": "success"}
    (post,) = posthog_conn.requests(method="POST", path=COLLECTION)
    assert (post["body"]["bysetpos"], post["body"]["count"]) == (1, 12)


def test_create_again_updates_only_what_differs_instead_of_duplicating(
    airflow_db: Path, posthog_conn: Any
) -> None:
    first = task_instance(_run(_create()), "create").xcom_pull(task_ids="create")
    count = posthog_conn.counts()["subscriptions"]

    unchanged = _run(_create())
    retitled = _run(_create(title="Weekly KPIs (v2)"))

    assert task_instance(unchanged, "create").xcom_pull(task_ids="create") == first
    assert task_instance(retitled, "create").xcom_pull(task_ids="create") == first
    assert posthog_conn.counts()["subscriptions"] == count
    assert len(posthog_conn.requests(method="POST", path=COLLECTION)) == 1
    (patch,) = posthog_conn.requests(method="PATCH", path=r"/subscriptions/\d+")
    assert patch["body"] == {"title": "Weekly KPIs (v2)"}


@pytest.mark.parametrize(
    ("if_exists", "expected"),
    [("skip", ("success", 1)), ("fail", ("failed", 1)), ("create", ("success", 2))],
)
def test_if_exists_decides_what_happens_to_an_existing_subscription(
    airflow_db: Path, posthog_conn: Any, if_exists: str, expected: tuple[str, int]
) -> None:
    _run(_create())

    dag_run = _run(_create(title="Changed", if_exists=if_exists))

    state, posts = expected
    assert task_states(dag_run) == {"create": state}
    assert len(posthog_conn.requests(method="POST", path=COLLECTION)) == posts
    assert posthog_conn.requests(method="PATCH") == []


def test_a_deleted_or_other_target_subscription_is_not_reused(airflow_db: Path, posthog_conn: Any) -> None:
    first = task_instance(_run(_create()), "create").xcom_pull(task_ids="create")
    _run(PostHogDeleteSubscriptionOperator(task_id="delete", subscription_id=first))

    recreated = task_instance(_run(_create()), "create").xcom_pull(task_ids="create")
    other = _run(_create(target_value="c@example.com"))
    other_target = task_instance(other, "create").xcom_pull(task_ids="create")

    assert len({first, recreated, other_target}) == 3
    assert len(posthog_conn.requests(method="POST", path=COLLECTION)) == 3


def test_create_is_not_duplicated_when_the_response_is_lost(airflow_db: Path, posthog_conn: Any) -> None:
    before = posthog_conn.counts()["subscriptions"]
    posthog_conn.add_fault(method="POST", path=COLLECTION, kind="after_processing", status=502, times=1)

    dag_run = _run(_create())

    assert task_states(dag_run) == {"create": "success"}
    assert posthog_conn.counts()["subscriptions"] == before + 1
    (post,) = posthog_conn.requests(method="POST", path=COLLECTION)
    assert post["status"] == 502
    assert posthog_conn.requests(method="PATCH") == []
    subscription_id = task_instance(dag_run, "create").xcom_pull(task_ids="create")
    listed = posthog_conn.requests(method="GET", path=COLLECTION)
    assert listed and listed[-1]["query"].get("insight") == "101"
    assert isinstance(subscription_id, int)


def test_a_retry_after_a_dropped_create_does_not_duplicate(airflow_db: Path, posthog_conn: Any) -> None:
    before = posthog_conn.counts()["subscriptions"]
    # The create goes through but its answer is dropped, and the lookup right after fails too: the first
    # try fails; the retry finds the subscription instead of creating another.
    # Faults apply in the order added: the first lookup uses up a harmless delay, the second gets a 403.
    posthog_conn.add_fault(method="GET", path=COLLECTION, kind="delay", delay=0.01, times=1)
    posthog_conn.add_fault(method="POST", path=COLLECTION, kind="after_processing", status=None, times=1)
    posthog_conn.add_fault(method="GET", path=COLLECTION, kind="status", status=403, times=1)

    dag_run = _run(_create(retries=1, retry_delay=dt.timedelta(0)))

    assert task_states(dag_run) == {"create": "success"}
    assert task_instance(dag_run, "create").try_number == 2
    assert posthog_conn.counts()["subscriptions"] == before + 1
    assert len(posthog_conn.requests(method="POST", path=COLLECTION)) == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"frequency": "fortnightly"}, r"frequency must be one of 'daily', 'weekly', 'monthly', 'yearly'"),
        ({"byweekday": ["funday"]}, r"byweekday\[0\] must be one of 'monday'.*got 'funday'"),
        ({"interval": 0}, r"interval must be an integer >= 1; got 0"),
        ({"insight": None}, r"exactly one of insight and dashboard"),
        ({"dashboard": 201}, r"exactly one of insight and dashboard"),
        ({"target_type": ""}, r"target_type must be one of 'email', 'slack', 'webhook', 'teams'; got ''"),
        ({"if_exists": "merge"}, r"if_exists must be one of 'update', 'skip', 'fail', 'create'"),
        ({"title": "x" * 101}, r"title must be at most 100 characters"),
        ({"delivery_start": "next monday"}, r"start_date must be an ISO-8601 datetime"),
        ({"extra_fields": {"frequency": "daily"}}, r"extra_fields must not repeat.*frequency"),
    ],
)
def test_bad_create_arguments_are_refused_at_definition(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _create(**arguments)


def test_a_bad_templated_frequency_fails_before_any_request(airflow_db: Path, posthog_conn: Any) -> None:
    dag_run = _run(_create(frequency="{{ 'hourly' }}"))

    assert task_states(dag_run) == {"create": "failed"}
    assert posthog_conn.requests() == []


def test_update_sends_only_the_given_fields_and_delete_is_soft(airflow_db: Path, posthog_conn: Any) -> None:
    subscription_id = task_instance(_run(_create()), "create").xcom_pull(task_ids="create")
    count = posthog_conn.counts()["subscriptions"]

    dag_run = _run(
        PostHogUpdateSubscriptionOperator(
            task_id="update", subscription_id=str(subscription_id), interval=2, byweekday=["friday"]
        ),
        PostHogDeleteSubscriptionOperator(task_id="delete", subscription_id=subscription_id),
    )

    assert task_states(dag_run) == {"update": "success", "delete": "success"}
    patches = posthog_conn.requests(method="PATCH", path=rf"/subscriptions/{subscription_id}/?$")
    first_patch, second_patch = patches
    assert first_patch["body"] == {"interval": 2, "byweekday": ["friday"]}
    assert second_patch["body"] == {"deleted": True}
    assert posthog_conn.requests(method="DELETE") == []
    assert posthog_conn.counts()["subscriptions"] == count - 1
    assert task_instance(dag_run, "update").xcom_pull(task_ids="update") == subscription_id


@pytest.mark.parametrize(
    ("operator", "arguments", "message"),
    [
        (UPDATE, {"subscription_id": 1}, r"at least one field to change"),
        (UPDATE, {"subscription_id": "x", "title": "t"}, r"subscription_id must be"),
        (UPDATE, {"subscription_id": 1, "frequency": "hourly"}, r"frequency must be"),
        (
            PostHogDeleteSubscriptionOperator,
            {"subscription_id": 0},
            r"subscription_id must be an integer >= 1",
        ),
    ],
)
def test_bad_update_and_delete_arguments_are_refused(
    operator: type, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        operator(task_id="t", **arguments)
