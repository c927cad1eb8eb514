"""Subscription operators (run by real Airflow, ``dag.test()``) and the hook's subscription calls, against
the emulator over loopback."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import BaseOperator
from dag_test_runs import run_operators, task_instance, task_states

from airflow_provider.api.errors import PostHogConfigError, PostHogResponseLostError, PostHogValidationError
from airflow_provider.hooks.posthog import PostHogHook
from airflow_provider.links import PostHogSubscriptionLink
from airflow_provider.operators.subscriptions import (
    PostHogCreateSubscriptionOperator,
    PostHogDeleteSubscriptionOperator,
    PostHogUpdateSubscriptionOperator,
)

COLLECTION = r"/subscriptions/?$"
TEST_DELIVERY = r"/subscriptions/\d+/test-delivery/?$"
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
        ({"insight": None}, r"exactly one of insight, dashboard and prompt"),
        ({"dashboard": 201}, r"exactly one of insight, dashboard and prompt"),
        ({"prompt": "Why?"}, r"exactly one of insight, dashboard and prompt"),
        ({"insight": None, "dashboard": 201}, r"dashboard_export_insights must be a list of 1 or more ids"),
        ({"target_type": "slack"}, r"integration_id must be the id of a Slack integration"),
        (
            {"dashboard_export_insights": [101]},
            r"dashboard_export_insights must be given only with dashboard",
        ),
        (
            {"insight": None, "dashboard": 201, "dashboard_export_insights": ["x"]},
            r"dashboard_export_insights\[0\]",
        ),
        ({"summary_prompt_guide": "x" * 501}, r"summary_prompt_guide must be at most 500 characters"),
        ({"enabled": "maybe"}, r"enabled must be True or False; got 'maybe'"),
        ({"send_test_delivery": "yes"}, r"send_test_delivery must be True or False"),
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


DASHBOARD = {**WEEKLY, "insight": None, "dashboard": 201, "dashboard_export_insights": [101]}


def test_parity_fields_reach_posthog_and_an_identical_create_changes_nothing(
    airflow_db: Path, posthog_conn: Any
) -> None:
    parity = {
        "target_type": "slack",
        "target_value": "C0123|#growth",
        "integration_id": "{{ 300 + 1 }}",
        "enabled": "{{ False }}",
        "summary_enabled": False,
        "summary_prompt_guide": "Lead with the weekly change.",
    }
    first = _run(_create(**{**DASHBOARD, **parity}))
    second = _run(_create(**{**DASHBOARD, **parity}))

    assert task_states(first) == task_states(second) == {"create": "success"}
    (post,) = posthog_conn.requests(method="POST", path=COLLECTION)
    assert {
        name: post["body"][name] for name in ("dashboard", "dashboard_export_insights", "integration_id")
    } == {
        "dashboard": 201,
        "dashboard_export_insights": [101],
        "integration_id": 301,
    }
    assert (post["body"]["enabled"], post["body"]["summary_enabled"]) == (False, False)
    assert post["body"]["summary_prompt_guide"] == "Lead with the weekly change."
    assert posthog_conn.requests(method="PATCH") == []


def test_a_changed_dashboard_selection_is_an_update_not_a_second_subscription(
    airflow_db: Path, posthog_conn: Any
) -> None:
    first = task_instance(_run(_create(**DASHBOARD)), "create").xcom_pull(task_ids="create")
    again = _run(_create(**{**DASHBOARD, "dashboard_export_insights": [102, 101]}))

    assert task_instance(again, "create").xcom_pull(task_ids="create") == first
    assert len(posthog_conn.requests(method="POST", path=COLLECTION)) == 1
    (patch,) = posthog_conn.requests(method="PATCH")
    assert patch["body"] == {"dashboard_export_insights": [102, 101]}


def test_an_ai_report_is_found_again_by_its_prompt(airflow_db: Path, posthog_conn: Any) -> None:
    report = {**WEEKLY, "insight": None, "prompt": "Which channels grew last week?", "title": None}
    first = task_instance(_run(_create(**report)), "create").xcom_pull(task_ids="create")
    again = task_instance(_run(_create(**report)), "create").xcom_pull(task_ids="create")
    other = task_instance(_run(_create(**{**report, "prompt": "What churned?"})), "create")

    assert again == first != other.xcom_pull(task_ids="create")
    assert [post["body"]["prompt"] for post in posthog_conn.requests(method="POST", path=COLLECTION)] == [
        "Which channels grew last week?",
        "What churned?",
    ]
    lookups = posthog_conn.requests(method="GET", path=COLLECTION)
    assert all(lookup["query"] == {"resource_type": "ai_prompt"} for lookup in lookups)


def test_test_delivery_after_create_is_sent_once(airflow_db: Path, posthog_conn: Any) -> None:
    created = _run(_create(send_test_delivery=True))
    again = _run(_create(send_test_delivery=True))

    assert task_states(created) == task_states(again) == {"create": "success"}
    (delivery,) = posthog_conn.requests(method="POST", path=TEST_DELIVERY)
    assert delivery["status"] == 202
    subscription_id = task_instance(created, "create").xcom_pull(task_ids="create")
    assert delivery["path"].endswith(f"/subscriptions/{subscription_id}/test-delivery/")


def test_a_retry_after_a_failed_test_delivery_sends_it_once(airflow_db: Path, posthog_conn: Any) -> None:
    # The test delivery is refused before PostHog does anything (a 403): the try fails; the retry finds
    # the subscription it created, sees no test delivery in its history, and sends it.
    posthog_conn.add_fault(method="POST", path=TEST_DELIVERY, kind="status", status=403, times=1)

    dag_run = _run(_create(send_test_delivery=True, retries=1, retry_delay=dt.timedelta(0)))

    assert task_states(dag_run) == {"create": "success"}
    assert task_instance(dag_run, "create").try_number == 2
    assert len(posthog_conn.requests(method="POST", path=COLLECTION)) == 1
    assert [entry["status"] for entry in posthog_conn.requests(method="POST", path=TEST_DELIVERY)] == [
        403,
        202,
    ]
    subscription_id = task_instance(dag_run, "create").xcom_pull(task_ids="create")
    assert len(list(PostHogHook().list_subscription_deliveries(subscription_id))) == 1


def test_a_lost_test_delivery_answer_is_looked_up_not_resent(airflow_db: Path, posthog_conn: Any) -> None:
    posthog_conn.add_fault(method="POST", path=TEST_DELIVERY, kind="after_processing", status=502, times=1)

    dag_run = _run(_create(send_test_delivery=True))

    assert task_states(dag_run) == {"create": "success"}
    (sent,) = posthog_conn.requests(method="POST", path=TEST_DELIVERY)
    assert sent["status"] == 502
    assert posthog_conn.requests(method="GET", path=r"/deliveries/?$")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"interval": None}, r"interval must be an integer >= 1 \(PostHog requires it on create\)"),
        ({"insight": None}, r"exactly one of insight, dashboard and prompt"),
        ({"insight": None, "dashboard": 201}, r"dashboard_export_insights must be a list of 1 or more"),
        ({"insight": None, "dashboard": 201, "dashboard_export_insights": []}, r"dashboard_export_insights"),
        ({"target_type": "slack"}, r"integration_id must be the id of a Slack integration"),
        ({"target_type": "pigeon"}, r"target_type must be one of 'email', 'slack', 'webhook', 'teams'"),
        ({"insight": None, "prompt": "x" * 4001}, r"prompt must be at most 4000 characters"),
        ({"integration_id": 0}, r"integration_id must be an integer >= 1"),
    ],
)
def test_the_hook_refuses_a_bad_create_before_sending(
    posthog_conn: Any, fields: dict[str, Any], message: str
) -> None:
    body = {
        "insight": 101,
        "target_type": "email",
        "target_value": "a@example.com",
        "frequency": "weekly",
        "interval": 1,
        "start_date": "2026-01-05T09:00:00Z",
    }
    with pytest.raises(PostHogConfigError, match=message):
        PostHogHook().create_subscription(**{**body, **fields})
    assert posthog_conn.requests() == []


def test_the_hook_sends_test_deliveries_and_lists_the_history(posthog_conn: Any) -> None:
    hook = PostHogHook()
    subscription_id = hook.create_subscription(
        insight=101, target_type="email", target_value="a@example.com", frequency="daily", interval=1,
        start_date="2026-01-05T09:00:00Z",
    )["id"]  # fmt: skip
    paused_id = hook.create_subscription(
        insight=102, target_type="email", target_value="a@example.com", frequency="daily", interval=1,
        start_date="2026-01-05T09:00:00Z", enabled=False,
    )["id"]  # fmt: skip

    assert hook.send_subscription_test_delivery(subscription_id) is None
    with pytest.raises(PostHogValidationError, match="Delivery already in progress") as running:
        hook.send_subscription_test_delivery(subscription_id)
    with pytest.raises(PostHogValidationError, match="Re-enable it"):
        hook.send_subscription_test_delivery(paused_id)
    (delivery,) = hook.list_subscription_deliveries(subscription_id)
    failed = list(hook.list_subscription_deliveries(subscription_id, status="failed"))
    with pytest.raises(PostHogConfigError, match="status must be one of 'starting', 'completed'"):
        list(hook.list_subscription_deliveries(subscription_id, status="done"))

    assert running.value.status == 409
    assert (delivery["trigger_type"], delivery["subscription"]) == ("manual", subscription_id)
    assert failed == []
    assert posthog_conn.requests(method="GET", path=r"/deliveries/?$")[-1]["query"] == {"status": "failed"}
    # One POST each for the two creates and three test deliveries: none re-sent; the bad filter sent nothing.
    assert len(posthog_conn.requests(method="POST")) == 5
    assert len(posthog_conn.requests(method="GET", path=r"/deliveries/?$")) == 2


def test_a_lost_test_delivery_answer_is_not_resent_by_the_hook(posthog_conn: Any) -> None:
    hook = PostHogHook()
    subscription_id = hook.create_subscription(
        insight=101, target_type="email", target_value="a@example.com", frequency="daily", interval=1,
        start_date="2026-01-05T09:00:00Z",
    )["id"]  # fmt: skip
    posthog_conn.add_fault(method="POST", path=TEST_DELIVERY, kind="after_processing", status=502)

    with pytest.raises(PostHogResponseLostError):
        hook.send_subscription_test_delivery(subscription_id)

    assert len(posthog_conn.requests(method="POST", path=TEST_DELIVERY)) == 1
    assert len(list(hook.list_subscription_deliveries(subscription_id))) == 1
