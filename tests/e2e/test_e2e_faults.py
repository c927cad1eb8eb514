"""Faults across the whole stack: throttles, 5xx bursts, dropped connections and lost answers.

The emulator misbehaves on the routes the example DAGs use while all four run together in real Airflow.
Afterwards PostHog's state must hold no duplicate subscription, interview or saved query, and no session
may have been summarised twice.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import e2e_routes as routes
import pytest
import requests
from e2e_rest import AirflowREST
from e2e_routes import matching
from e2e_stack import AirflowStack

from airflow_provider.emulator import EmulatorClient

pytestmark = pytest.mark.e2e

EXAMPLE_DAGS = sorted(path.stem for path in (Path(__file__).parents[2] / "example_dags").glob("*.py"))

#: (method, route, fault) the emulator applies, each to the next matching requests only.
FAULTS: list[tuple[str, str, dict[str, Any]]] = [
    # Throttled with Retry-After: every DAG's first read.
    ("GET", routes.SAVED_QUERIES, {"kind": "status", "status": 429, "retry_after": 1}),
    ("GET", routes.SESSION_RECORDINGS, {"kind": "status", "status": 429, "retry_after": 1}),
    ("GET", routes.SUBSCRIPTIONS, {"kind": "status", "status": 429, "retry_after": 1}),
    # 5xx bursts.
    ("GET", routes.DATA_MODELING_JOBS, {"kind": "status", "status": 503, "times": 3}),
    ("POST", routes.SESSION_SUMMARIES, {"kind": "status", "status": 502, "times": 2}),
    ("GET", routes.SUBSCRIPTIONS, {"kind": "status", "status": 500, "times": 2}),
    # Connections dropped before PostHog answered.
    ("GET", routes.DATA_MODELING_JOBS, {"kind": "drop"}),
    ("GET", routes.USER_INTERVIEWS, {"kind": "drop"}),
    # Processed, then the answer lost (a 502 from a proxy, or the connection dropped).
    ("POST", routes.SAVED_QUERIES, {"kind": "after_processing", "status": 502}),
    ("POST", routes.SAVED_QUERY_RUN, {"kind": "after_processing", "status": 504}),
    ("POST", routes.SESSION_SUMMARIES, {"kind": "after_processing", "status": 504}),
    ("POST", routes.SUBSCRIPTIONS, {"kind": "after_processing", "status": None, "times": 2}),
    ("POST", routes.USER_INTERVIEWS, {"kind": "after_processing", "status": 502}),
]


def posthog_list(emulator: EmulatorClient, resource: str) -> list[dict[str, Any]]:
    """Every live object of one resource, read from the emulator's PostHog API like any client.

    :param emulator: the emulator.
    :param resource: e.g. ``subscriptions``.
    """
    answer = requests.get(
        f"{emulator.url}/api/projects/{emulator.project_id}/{resource}/",
        headers={"Authorization": f"Bearer {emulator.api_key}"},
        params={"limit": 1000},
        timeout=30,
    )
    answer.raise_for_status()
    return list(answer.json()["results"])


def processed_creates(emulator: EmulatorClient, route: str) -> list[dict[str, Any]]:
    """The create POSTs of ``route`` that PostHog carried out, whether or not the client heard back.

    :param emulator: the emulator.
    :param route: a create route pattern.
    """
    return [
        entry
        for entry in matching(emulator.requests(), "POST", route)
        if entry["fault"] == "after_processing" or (entry["fault"] is None and entry["status"] < 400)
    ]


def test_every_example_dag_survives_throttles_5xx_drops_and_lost_answers_without_duplicates(
    airflow: AirflowStack, rest: AirflowREST, emulator: EmulatorClient
) -> None:
    rest.set_variable("posthog_summaries_dir", airflow.fresh_summaries_dir("faults"))
    for method, route, fault in FAULTS:
        emulator.add_fault(method, route, **{"times": 1, **fault})

    watches = rest.watch_runs({dag_id: rest.trigger(dag_id) for dag_id in EXAMPLE_DAGS})

    failed_logs = {
        f"{dag_id}.{task}": rest.task_log(dag_id, watch.run_id, task)
        for dag_id, watch in watches.items()
        for task, state in rest.task_states(dag_id, watch.run_id).items()
        if state == "failed"
    }
    assert {dag_id: watch.state for dag_id, watch in watches.items()} == dict.fromkeys(
        EXAMPLE_DAGS, "success"
    ), failed_logs
    assert emulator.faults() == [], "every fault was met by a DAG"
    subscription_creates = processed_creates(emulator, routes.SUBSCRIPTIONS)
    created_for = Counter(
        (c["body"].get("insight"), c["body"].get("dashboard")) for c in subscription_creates
    )
    assert sorted(created_for.values()) == [1, 1], created_for
    live = Counter(
        (s["insight"], s["dashboard"], s["target_value"]) for s in posthog_list(emulator, "subscriptions")
    )
    assert list(live.values()) == [1], live
    assert len(processed_creates(emulator, routes.USER_INTERVIEWS)) == 1
    names = Counter(query["name"] for query in posthog_list(emulator, "warehouse_saved_queries"))
    assert names["daily_pageviews"] == 1 and max(names.values()) == 1, names
    assert len(matching(emulator.requests(), "POST", routes.SAVED_QUERY_RUN)) == 1
    generations = emulator.summary_generations()
    assert generations and max(generations.values()) == 1, generations
    # The recoveries are the operators' own, and they say so in the task logs.
    assert "The answer to the create was lost; looking for the subscription it made." in "".join(
        rest.task_log("posthog_subscriptions", watches["posthog_subscriptions"].run_id, task)
        for task in ("ensure_weekly_kpis", "subscribe_launch_dashboard")
    )
    assert "Found interview" in rest.task_log(
        "posthog_user_interviews", watches["posthog_user_interviews"].run_id, "upload_interview"
    )
    saved_queries_run = watches["posthog_saved_queries"].run_id
    assert "the answer to the first write was lost" in rest.task_log(
        "posthog_saved_queries", saved_queries_run, "upsert_view"
    )
    assert "PostHog started the run" in rest.task_log("posthog_saved_queries", saved_queries_run, "run_view")


def test_a_run_request_dropped_unanswered_fails_the_task_saying_it_was_not_resent(
    rest: AirflowREST, emulator: EmulatorClient
) -> None:
    dag_id = "posthog_saved_queries"
    emulator.add_fault("POST", routes.SAVED_QUERY_RUN, kind="drop")
    jobs_before = emulator.counts()["data_modeling_jobs"]

    run_id = rest.trigger(dag_id)

    assert rest.wait_for_run(dag_id, run_id) == "failed"
    assert rest.task_states(dag_id, run_id)["run_view"] == "failed"
    log = rest.task_log(dag_id, run_id, "run_view")
    assert "It was not re-sent, to avoid creating a duplicate" in log
    assert len(matching(emulator.requests(), "POST", routes.SAVED_QUERY_RUN)) == 1
    assert emulator.counts()["data_modeling_jobs"] == jobs_before, "PostHog never started a run"
