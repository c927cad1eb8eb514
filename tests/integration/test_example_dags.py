"""Our example DAGs import cleanly and run green on the emulator with dag.test()."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dag_test_runs import task_instance, task_states

import airflow_provider
from airflow_provider._compat import DagBag

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"
OUR_DAGS = [
    "posthog_session_patterns",
    "posthog_session_summaries",
    "posthog_subscriptions",
    "posthog_user_interviews",
]


def _load(dag_id: str) -> Any:
    bag = DagBag(dag_folder=str(EXAMPLE_DAGS / f"{dag_id}.py"))
    assert bag.import_errors == {}
    return bag.dags[dag_id]


# Parses every example file in a fresh Airflow home and writes what the DagBag found; run in a process of
# its own so that no connection, secret or setting of the test process can be read.
_PARSE_WITHOUT_CONNECTIONS = """
import json, sys
from airflow_provider._compat import DagBag
bag = DagBag(dag_folder=sys.argv[1])
files = {dag.dag_id: dag.fileloc.rsplit("/", 1)[-1] for dag in bag.dags.values()}
with open(sys.argv[2], "w") as out:
    json.dump({"import_errors": bag.import_errors, "dags": files}, out)
"""


def test_every_example_dag_imports_with_no_connection_defined(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(Path(airflow_provider.__file__).parents[1]),  # the provider under test
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    assert not [name for name in env if name.startswith("AIRFLOW_CONN_")]
    found_file = tmp_path / "found.json"

    parsed = subprocess.run(
        [sys.executable, "-c", _PARSE_WITHOUT_CONNECTIONS, str(EXAMPLE_DAGS), str(found_file)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert parsed.returncode == 0, parsed.stderr[-4000:]
    found = json.loads(found_file.read_text())
    assert found["import_errors"] == {}
    # Every file gives its DAG: a file that failed to import would be missing here too.
    assert sorted(set(found["dags"].values())) == sorted(path.name for path in EXAMPLE_DAGS.glob("*.py"))
    assert {"posthog_saved_query_consumer", "posthog_view_refreshed"} <= set(found["dags"])


@pytest.mark.parametrize("dag_id", OUR_DAGS)
def test_example_dag_imports_without_errors(airflow_db: Path, dag_id: str) -> None:
    dag = _load(dag_id)

    assert dag.tasks
    assert "posthog" in dag.tags


def test_session_summaries_dag_writes_the_interval_file_and_logs_a_digest(
    airflow_db: Path, posthog_conn: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_POSTHOG_SUMMARIES_DIR", f"file://{tmp_path}")
    dag = _load("posthog_session_summaries")

    dag_run = dag.test()

    assert task_states(dag_run) == {"summarise_sessions": "success", "log_digest": "success"}
    output = tmp_path / f"{dag_run.data_interval_start:%Y-%m-%d}.jsonl"
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert records, "the demo seed has sessions every day"
    digest = task_instance(dag_run, "log_digest").xcom_pull(task_ids="log_digest")
    assert digest == output.with_suffix(".md").read_text()
    assert f"**{len(records)} sessions**" in digest
    assert all(f"/replay/{record['session_id']})" in digest for record in records)
    listing = posthog_conn.requests(method="GET", path=r"/session_recordings")[0]
    assert json.loads(listing["query"]["filter_test_accounts"]) is True
    assert listing["query"]["date_from"].startswith(f"{dag_run.data_interval_start:%Y-%m-%dT00:00:00}")


def test_session_summaries_dag_run_without_a_logical_date_covers_the_day_before_it(
    airflow_db: Path, posthog_conn: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_POSTHOG_SUMMARIES_DIR", f"file://{tmp_path}")
    dag = _load("posthog_session_summaries")
    run_after = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(hours=1)

    dag_run = dag.test(logical_date=None, run_after=run_after)

    assert task_states(dag_run) == {"summarise_sessions": "success", "log_digest": "success"}
    assert dag_run.data_interval_start is None
    (listing,) = posthog_conn.requests(method="GET", path=r"/session_recordings")
    assert dt.datetime.fromisoformat(listing["query"]["date_from"]) == run_after - dt.timedelta(days=1)
    assert dt.datetime.fromisoformat(listing["query"]["date_to"]) == run_after
    output = tmp_path / f"until-{run_after:%Y%m%dT%H%M%S}.jsonl"
    assert sorted(path.name for path in tmp_path.iterdir()) == [output.name, output.with_suffix(".md").name]
    result = task_instance(dag_run, "summarise_sessions").xcom_pull(task_ids="summarise_sessions")
    assert result["path"] == f"file://{output}"
    assert len(output.read_text().splitlines()) == result["sessions"] > 0


def test_session_patterns_dag_writes_last_weeks_report(
    airflow_db: Path, posthog_conn: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_VAR_POSTHOG_SUMMARIES_DIR", f"file://{tmp_path}")
    dag = _load("posthog_session_patterns")
    # Triggered without a logical date, a run covers the seven days before it: all the seeded sessions.
    run_after = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    dag_run = dag.test(logical_date=None, run_after=run_after)

    assert task_states(dag_run) == {"find_patterns": "success", "print_report": "success"}
    report = json.loads((tmp_path / "patterns" / f"until-{run_after:%Y%m%dT%H%M%S}.json").read_text())
    (sent,) = posthog_conn.requests(method="POST", path=r"/session_summaries/create_session_summaries/?$")
    assert sent["body"]["session_ids"] == report["session_ids"] and report["patterns"]
    markdown = task_instance(dag_run, "print_report").xcom_pull(task_ids="print_report")
    assert markdown.endswith(".md")


def test_subscriptions_dag_keeps_one_weekly_subscription_over_repeated_runs(
    airflow_db: Path, posthog_conn: Any
) -> None:
    before = posthog_conn.counts()["subscriptions"]
    dag = _load("posthog_subscriptions")

    first, second = dag.test(), dag.test()

    for dag_run in (first, second):
        assert set(task_states(dag_run).values()) == {"success"}
    # Each run adds and retires the launch subscription; the weekly one is created once, then kept.
    assert posthog_conn.counts()["subscriptions"] == before + 1
    weekly = [
        entry["body"]
        for entry in posthog_conn.requests(method="POST", path=r"/subscriptions/?$")
        if entry["body"].get("insight") == 101
    ]
    assert len(weekly) == 1


def test_user_interviews_dag_uploads_edits_and_deletes_a_generated_recording(
    airflow_db: Path, posthog_conn: Any
) -> None:
    before = posthog_conn.counts()["user_interviews"]
    dag = _load("posthog_user_interviews")

    dag_run = dag.test()

    assert set(task_states(dag_run).values()) == {"success"}
    (upload,) = posthog_conn.requests(method="POST", path=r"/user_interviews/?$")
    assert upload["body"]["audio"]["filename"] == "interview.wav"
    assert upload["body"]["audio"]["size"] > 8000
    assert [entry["method"] for entry in posthog_conn.requests(path=r"/user_interviews/[^/]+/?$")] == [
        "PATCH",
        "DELETE",
    ]
    assert posthog_conn.counts()["user_interviews"] == before


def test_asset_example_dags_are_scheduled_on_what_the_producers_emit(
    airflow_db: Path, posthog_conn: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from airflow_provider.assets import posthog_saved_query_asset, storage_folder_asset
    from airflow_provider.triggers.saved_query_refreshes import PostHogSavedQueryRefreshedTrigger

    monkeypatch.setenv("POSTHOG_SUMMARIES_DIR", f"file://{tmp_path}")
    # The view DAGs name the host and project of posthog_default (the emulator) without reading it.
    monkeypatch.setenv("POSTHOG_HOST", posthog_conn.url)
    monkeypatch.setenv("POSTHOG_PROJECT_ID", str(posthog_conn.project_id))
    consumer = _load("posthog_saved_query_consumer")
    watcher = _load("posthog_view_refreshed")
    digest = _load("posthog_summaries_digest")

    # The assets the operators emit: built from the connection they read at run time.
    assert list(consumer.schedule) == [posthog_saved_query_asset("daily_pageviews")]
    assert list(digest.schedule) == [storage_folder_asset(f"file://{tmp_path}")]
    (watched,) = watcher.schedule
    expected = posthog_saved_query_asset("daily_signups")
    assert (watched.name, watched.uri) == (expected.name, expected.uri)
    (asset_watcher,) = watched.watchers
    assert isinstance(asset_watcher.trigger, PostHogSavedQueryRefreshedTrigger)
    assert json.loads(json.dumps(asset_watcher.trigger.serialize()[1]))["saved_query_name"] == "daily_signups"
    # Run by hand (no asset event), each consumer has nothing to read and succeeds.
    for dag in (consumer, watcher, digest):
        assert set(task_states(dag.test()).values()) == {"success"}
