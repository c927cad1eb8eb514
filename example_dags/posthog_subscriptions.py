"""Keep report subscriptions in the state this file declares, and retire an old one.

``ensure_weekly_kpis`` is idempotent: a second run (or a retry after a lost answer) finds the subscription
for the same insight and recipients and only changes what differs, instead of creating a duplicate.
The insight, dashboard and recipients are DAG params, so a manual run can point them elsewhere.

A dashboard subscription names the dashboard's insights it delivers (``dashboard_export_insights``):
PostHog refuses one without. The launch dashboard's subscription gets a test delivery right after it is
created, so its recipients see at once what they will receive.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, Param

from airflow_provider.operators.subscriptions import (
    PostHogCreateSubscriptionOperator,
    PostHogDeleteSubscriptionOperator,
    PostHogUpdateSubscriptionOperator,
)

with DAG(
    dag_id="posthog_subscriptions",
    description="Declare PostHog insight/dashboard subscriptions; update and soft-delete by id.",
    schedule="@weekly",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    params={
        "insight_id": Param(101, type="integer", minimum=1),
        "dashboard_id": Param(201, type="integer", minimum=1),
        "recipients": Param("product@example.com,growth@example.com", type="string"),
    },
    tags=["posthog", "example"],
) as dag:
    ensure_weekly_kpis = PostHogCreateSubscriptionOperator(
        task_id="ensure_weekly_kpis",
        insight="{{ params.insight_id }}",
        target_type="email",
        target_value="{{ params.recipients }}",
        frequency="weekly",
        byweekday=["monday"],
        delivery_start="2026-01-05T09:00:00+00:00",
        title="Weekly KPIs",
        if_exists="update",
    )

    launch_dashboard = PostHogCreateSubscriptionOperator(
        task_id="subscribe_launch_dashboard",
        dashboard="{{ params.dashboard_id }}",
        # The insights on the Growth dashboard (201) to deliver: its weekly actives and signups.
        dashboard_export_insights=[101, 102],
        target_type="email",
        target_value="{{ params.recipients }}",
        frequency="daily",
        title="Launch week dashboard",
        send_test_delivery=True,
    )

    move_to_every_second_day = PostHogUpdateSubscriptionOperator(
        task_id="send_launch_dashboard_every_second_day",
        subscription_id=launch_dashboard.output,
        interval=2,
        title="Launch dashboard (every 2 days)",
    )

    retire_launch_dashboard = PostHogDeleteSubscriptionOperator(
        task_id="retire_launch_dashboard",
        subscription_id=launch_dashboard.output,
    )

    launch_dashboard >> move_to_every_second_day >> retire_launch_dashboard
