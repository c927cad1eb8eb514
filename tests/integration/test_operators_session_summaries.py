"""PostHogSessionSummariesOperator run by real Airflow (``dag.test()``) against the emulator over loopback."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import DAG, ObjectStoragePath
from dag_test_runs import run_dag, task_instance, task_states

from airflow_provider._compat import AirflowFailException, CronDataIntervalTimetable
from airflow_provider.hooks.posthog import PostHogHook
from airflow_provider.operators.session_summaries import PostHogSessionSummariesOperator
from airflow_provider.operators.summary_output import SummaryOutput

SUMMARIES_PATH = r"/session_summaries/create_session_summaries_individually"
START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def _dag(schedule: Any = None, **operator_kwargs: Any) -> DAG:
    with DAG(
        dag_id=f"test_summaries_{uuid.uuid4().hex[:8]}",
        schedule=schedule,
        start_date=START,
        default_args={"retry_delay": dt.timedelta(0)},
    ) as dag:
        PostHogSessionSummariesOperator(task_id="summarise", **operator_kwargs)
    return dag


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _read_progress(folder: Path) -> list[dict[str, Any]]:
    """The records of every part in a progress folder."""
    return [record for part in sorted(folder.glob("part-*.jsonl")) for record in _read_jsonl(part)]


def _sent_session_ids(emulator: Any, status: int | None = None) -> list[str]:
    """Every session id the emulator received in summary requests (answered ``status``, if given)."""
    return [
        session_id
        for entry in emulator.requests(method="POST", path=SUMMARIES_PATH)
        if status is None or entry["status"] == status
        for session_id in entry["body"]["session_ids"]
    ]


@pytest.fixture
def recordings(posthog_conn: Any) -> list[dict[str, Any]]:
    """The seeded recordings of the last 8 days, newest first (listed through the hook, then forgotten)."""
    now = dt.datetime.now(dt.timezone.utc)
    found = list(PostHogHook().list_session_recordings(date_from=now - dt.timedelta(days=8), date_to=now))
    posthog_conn.reset()
    return found


def _summarizable(recordings: list[dict[str, Any]], count: int) -> list[str]:
    return [r["id"] for r in recordings if r["recording_duration"] > 5][:count]


def test_summarizes_the_sessions_of_the_data_interval_into_a_jsonl_file(
    airflow_db: Path, posthog_conn: Any, recordings: list[dict[str, Any]], tmp_path: Path
) -> None:
    dag = _dag(
        schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
        output_path=f"file://{tmp_path}/{{{{ data_interval_start | ds }}}}.jsonl",
        focus_area="checkout errors",
        batch_size=2,
    )
    dag_run = run_dag(dag)

    assert task_states(dag_run) == {"summarise": "success"}
    start, end = dag_run.data_interval_start, dag_run.data_interval_end
    expected = [
        r["id"]
        for r in recordings
        if start <= dt.datetime.fromisoformat(r["start_time"].replace("Z", "+00:00")) < end
    ]
    assert expected, "the demo seed has sessions in every day of the last week"
    output = tmp_path / f"{start:%Y-%m-%d}.jsonl"
    records = _read_jsonl(output)
    assert [record["session_id"] for record in records] == expected
    assert {record["focus_area"] for record in records} == {"checkout errors"}
    assert all(("summary" in record) != ("error" in record) for record in records)
    assert Counter(_sent_session_ids(posthog_conn)) == Counter(expected)
    assert all(len(entry["body"]["session_ids"]) <= 2 for entry in posthog_conn.requests(path=SUMMARIES_PATH))
    failed = [record for record in records if "error" in record]
    assert task_instance(dag_run, "summarise").xcom_pull(task_ids="summarise") == {
        "path": f"file://{output}",
        "report_path": None,
        "sessions": len(expected),
        "summarised": len(expected) - len(failed),
        "failed": len(failed),
        "reused": 0,
        "errors": dict(Counter(record["error"] for record in failed)),
        "listed": len(expected),
        "filtered_out": 0,
        "sampled_out": 0,
        "reused_stored": 0,
        "reused_progress": 0,
        "generated": len(expected) - len(failed),
        "summary_requests_sent": len(posthog_conn.requests(path=SUMMARIES_PATH)),
    }
    assert {record["source"] for record in records} == {"generated"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [output.name], (
        "no progress or temporary file is left"
    )


def test_a_run_with_an_empty_data_interval_fails_before_any_request(
    airflow_db: Path, posthog_conn: Any, tmp_path: Path
) -> None:
    dag_run = run_dag(_dag(schedule=None, output_path=f"file://{tmp_path}/out.jsonl"))

    assert task_states(dag_run) == {"summarise": "failed"}
    assert posthog_conn.requests() == []
    assert list(tmp_path.iterdir()) == []


def test_the_empty_interval_error_says_how_to_fix_the_schedule(posthog_conn: Any) -> None:
    moment = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
    operator = PostHogSessionSummariesOperator(task_id="summarise")

    with pytest.raises(AirflowFailException, match=r"CronDataIntervalTimetable.*lookback=timedelta"):
        operator.execute({"data_interval_start": moment, "data_interval_end": moment})  # type: ignore[arg-type]
    assert posthog_conn.requests() == []


def test_lookback_summarizes_the_window_before_the_run(
    airflow_db: Path, posthog_conn: Any, recordings: list[dict[str, Any]]
) -> None:
    dag_run = run_dag(_dag(schedule=None, lookback=dt.timedelta(hours=12), min_duration=5, limit=3))

    assert task_states(dag_run) == {"summarise": "success"}
    (listing,) = posthog_conn.requests(method="GET", path=r"/session_recordings")
    end = dag_run.data_interval_end
    assert dt.datetime.fromisoformat(listing["query"]["date_from"]) == end - dt.timedelta(hours=12)
    assert dt.datetime.fromisoformat(listing["query"]["date_to"]) == end
    in_window = [
        r["id"]
        for r in recordings
        if end - dt.timedelta(hours=12)
        <= dt.datetime.fromisoformat(r["start_time"].replace("Z", "+00:00"))
        < end
        and r["recording_duration"] >= 5
    ]
    records = task_instance(dag_run, "summarise").xcom_pull(task_ids="summarise")
    assert [record["session_id"] for record in records] == in_window[:3]
    assert all("summary" in record for record in records)


def test_a_run_without_a_logical_date_summarizes_the_lookback_before_its_run_after(
    airflow_db: Path, posthog_conn: Any, recordings: list[dict[str, Any]]
) -> None:
    run_after = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(days=2)
    dag_run = run_dag(_dag(lookback=dt.timedelta(days=1)), logical_date=None, run_after=run_after)

    assert task_states(dag_run) == {"summarise": "success"}
    assert dag_run.logical_date is None and dag_run.data_interval_end is None
    start = run_after - dt.timedelta(days=1)
    (listing,) = posthog_conn.requests(method="GET", path=r"/session_recordings")
    assert dt.datetime.fromisoformat(listing["query"]["date_from"]) == start
    assert dt.datetime.fromisoformat(listing["query"]["date_to"]) == run_after
    in_window = [
        r["id"]
        for r in recordings
        if start <= dt.datetime.fromisoformat(r["start_time"].replace("Z", "+00:00")) < run_after
    ]
    assert in_window, "the demo seed has sessions in every day of the last week"
    records = task_instance(dag_run, "summarise").xcom_pull(task_ids="summarise")
    assert [record["session_id"] for record in records] == in_window


def test_a_run_without_a_logical_date_or_lookback_fails_at_once_saying_how_to_fix_it(
    airflow_db: Path, posthog_conn: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dag = _dag(output_path=f"file://{tmp_path}/out.jsonl", retries=2)
    dag_run = run_dag(
        dag, logical_date=None, run_after=dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.timezone.utc)
    )

    assert task_states(dag_run) == {"summarise": "failed"}
    assert task_instance(dag_run, "summarise").try_number == 1, "no retry is spent on it"
    assert posthog_conn.requests() == []
    assert list(tmp_path.iterdir()) == []
    task_log = capsys.readouterr().out
    assert "AirflowFailException: This run has no data interval" in task_log
    assert "a run triggered without a logical date" in task_log
    assert "Trigger it with a logical date, or set lookback" in task_log


def test_templated_date_from_and_date_to_set_the_window(
    airflow_db: Path, posthog_conn: Any, recordings: list[dict[str, Any]]
) -> None:
    dag_run = run_dag(
        _dag(
            date_from="{{ (logical_date - macros.timedelta(days=3)).isoformat() }}",
            date_to="{{ (logical_date - macros.timedelta(days=2)).isoformat() }}",
        )
    )

    assert task_states(dag_run) == {"summarise": "success"}
    end = dag_run.logical_date - dt.timedelta(days=2)
    start = end - dt.timedelta(days=1)
    (listing,) = posthog_conn.requests(method="GET", path=r"/session_recordings")
    assert dt.datetime.fromisoformat(listing["query"]["date_from"]) == start
    in_window = [
        r["id"]
        for r in recordings
        if start <= dt.datetime.fromisoformat(r["start_time"].replace("Z", "+00:00")) < end
    ]
    records = task_instance(dag_run, "summarise").xcom_pull(task_ids="summarise")
    assert [record["session_id"] for record in records] == in_window


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"batch_size": 0}, r"batch_size must be an integer from 1 to 300; got 0"),
        ({"batch_size": 301}, r"batch_size must be an integer from 1 to 300; got 301"),
        ({"focus_area": "x" * 501}, r"focus_area must be at most 500 characters \(it has 501\)"),
        ({"max_concurrency": 11}, r"max_concurrency must be an integer from 1 to 10; got 11"),
        ({"lookback": dt.timedelta(0)}, r"lookback must be a positive datetime.timedelta"),
        ({"lookback": dt.timedelta(days=1), "date_from": "2026-01-01"}, r"either date_from or lookback"),
        ({"session_ids": "abc"}, r"session_ids must be a list of session ids"),
        ({"session_ids": ["a", 7]}, r"session_ids\[1\] must be a non-empty string"),
        ({"session_ids": ["a"], "date_to": "2026-01-01"}, r"Pass one or the other"),
        ({"date_from": "yesterday"}, r"date_from must be an ISO-8601 datetime"),
        ({"output_path": "nosuch://bucket/x.jsonl"}, r"output_path 'nosuch://bucket/x.jsonl' is not usable"),
        ({"min_duration": -1}, r"min_duration must be a number of seconds >= 0"),
    ],
)
def test_bad_arguments_are_refused_when_the_dag_is_defined(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PostHogSessionSummariesOperator(task_id="summarise", **arguments)


def test_a_bad_templated_value_fails_the_task_before_any_request(
    airflow_db: Path, posthog_conn: Any, tmp_path: Path
) -> None:
    dag_run = run_dag(
        _dag(session_ids=["a"], focus_area="{{ 'x' * 501 }}", output_path=f"file://{tmp_path}/o.jsonl")
    )

    assert task_states(dag_run) == {"summarise": "failed"}
    assert posthog_conn.requests() == []


def test_session_ids_from_a_rendered_template_are_summarized(
    airflow_db: Path, posthog_conn: Any, recordings: list[dict[str, Any]]
) -> None:
    wanted = _summarizable(recordings, 2)
    dag_run = run_dag(_dag(session_ids="{{ params.ids }}", params={"ids": wanted}))

    assert task_states(dag_run) == {"summarise": "success"}
    records = task_instance(dag_run, "summarise").xcom_pull(task_ids="summarise")
    assert [record["session_id"] for record in records] == wanted
    assert posthog_conn.requests(method="GET", path=r"/session_recordings") == []


def _fail_second_summary_request(emulator: Any) -> None:
    # Faults apply in the order added: the first request uses up a harmless one, the second gets a 403.
    emulator.add_fault(method="POST", path=SUMMARIES_PATH, kind="delay", delay=0.01, times=1)
    emulator.add_fault(method="POST", path=SUMMARIES_PATH, kind="status", status=403, times=1)


def test_a_task_failing_half_way_leaves_no_output_file(
    airflow_db: Path, posthog_conn: Any, recordings: list[dict[str, Any]], tmp_path: Path
) -> None:
    session_ids = _summarizable(recordings, 6)
    output = tmp_path / "summaries.jsonl"
    _fail_second_summary_request(posthog_conn)

    dag_run = run_dag(_dag(session_ids=session_ids, batch_size=2, output_path=f"file://{output}"))

    assert task_states(dag_run) == {"summarise": "failed"}
    assert [entry["status"] for entry in posthog_conn.requests(path=SUMMARIES_PATH)] == [200, 403]
    assert not output.exists()
    progress = _read_progress(tmp_path / "summaries.jsonl.progress")
    assert [record["session_id"] for record in progress] == session_ids[:2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summaries.jsonl.progress"]


def test_a_retry_does_not_summarize_a_session_twice(
    airflow_db: Path, posthog_conn: Any, recordings: list[dict[str, Any]], tmp_path: Path
) -> None:
    session_ids = _summarizable(recordings, 6)
    output = tmp_path / "summaries.jsonl"
    _fail_second_summary_request(posthog_conn)

    dag_run = run_dag(_dag(session_ids=session_ids, batch_size=2, output_path=f"file://{output}", retries=1))

    assert task_states(dag_run) == {"summarise": "success"}
    assert task_instance(dag_run, "summarise").try_number == 2
    assert Counter(_sent_session_ids(posthog_conn, status=200)) == Counter(session_ids)
    assert posthog_conn.counts()["summaries_generated"] == len(session_ids)
    assert [record["session_id"] for record in _read_jsonl(output)] == session_ids
    assert task_instance(dag_run, "summarise").xcom_pull(task_ids="summarise")["reused"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summaries.jsonl"]


def test_a_retry_after_a_failed_concurrent_batch_sends_only_that_batch(
    airflow_db: Path, posthog_conn: Any, recordings: list[dict[str, Any]], tmp_path: Path
) -> None:
    session_ids = _summarizable(recordings, 8)
    output = tmp_path / "summaries.jsonl"
    # Of the four batches sent at once, the first to arrive is refused at once; the others take a while.
    posthog_conn.configure(summary_latency=0.3)
    posthog_conn.add_fault(method="POST", path=SUMMARIES_PATH, kind="status", status=400, times=1)

    dag_run = run_dag(
        _dag(
            session_ids=session_ids,
            batch_size=2,
            max_concurrency=4,
            output_path=f"file://{output}",
            retries=1,
        )
    )

    assert task_states(dag_run) == {"summarise": "success"}
    assert task_instance(dag_run, "summarise").try_number == 2
    posts = posthog_conn.requests(method="POST", path=SUMMARIES_PATH)
    assert [entry["status"] for entry in posts[4:]] == [200], "the retry sends one batch"
    (refused,) = [entry["body"]["session_ids"] for entry in posts[:4] if entry["status"] == 400]
    assert posts[4]["body"]["session_ids"] == refused
    assert posthog_conn.counts()["summaries_generated"] == len(session_ids)
    assert [record["session_id"] for record in _read_jsonl(output)] == session_ids
    assert task_instance(dag_run, "summarise").xcom_pull(task_ids="summarise")["reused"] == 6


def test_a_rerun_reuses_the_completed_output_without_asking_again(
    airflow_db: Path, posthog_conn: Any, recordings: list[dict[str, Any]], tmp_path: Path
) -> None:
    session_ids = _summarizable(recordings, 3)
    dag = _dag(session_ids=session_ids, output_path=f"file://{tmp_path}/s.jsonl")
    run_dag(dag)
    first = _read_jsonl(tmp_path / "s.jsonl")
    requests_after_first_run = len(posthog_conn.requests(path=SUMMARIES_PATH))

    dag_run = run_dag(dag)

    assert task_states(dag_run) == {"summarise": "success"}
    assert len(posthog_conn.requests(path=SUMMARIES_PATH)) == requests_after_first_run == 1
    second = _read_jsonl(tmp_path / "s.jsonl")
    assert [{**record, "source": "progress"} for record in first] == second, "the same records, reused"


def test_a_task_fails_when_every_session_failed(airflow_db: Path, posthog_conn: Any, tmp_path: Path) -> None:
    unknown = [str(uuid.uuid4()), str(uuid.uuid4())]

    dag_run = run_dag(_dag(session_ids=unknown, output_path=f"file://{tmp_path}/s.jsonl"))

    assert task_states(dag_run) == {"summarise": "failed"}
    assert _sent_session_ids(posthog_conn, status=200) == unknown
    assert not (tmp_path / "s.jsonl").exists()


def test_a_single_failed_session_is_a_counted_warning(
    airflow_db: Path, posthog_conn: Any, recordings: list[dict[str, Any]], tmp_path: Path
) -> None:
    session_ids = [*_summarizable(recordings, 2), str(uuid.uuid4())]

    dag_run = run_dag(_dag(session_ids=session_ids, output_path=f"file://{tmp_path}/s.jsonl"))

    assert task_states(dag_run) == {"summarise": "success"}
    result = task_instance(dag_run, "summarise").xcom_pull(task_ids="summarise")
    assert (result["summarised"], result["failed"], result["errors"]) == (2, 1, {"recording_not_found": 1})
    assert _read_jsonl(tmp_path / "s.jsonl")[2]["error"] == "recording_not_found"


def test_fail_on_session_error_fails_the_task_for_a_single_failed_session(
    airflow_db: Path, posthog_conn: Any, recordings: list[dict[str, Any]], tmp_path: Path
) -> None:
    session_ids = [*_summarizable(recordings, 2), str(uuid.uuid4())]

    dag_run = run_dag(
        _dag(session_ids=session_ids, output_path=f"file://{tmp_path}/s.jsonl", fail_on_session_error=True)
    )

    assert task_states(dag_run) == {"summarise": "failed"}
    assert not (tmp_path / "s.jsonl").exists()
    assert len(_read_progress(tmp_path / "s.jsonl.progress")) == 3


def test_publishing_that_fails_half_way_keeps_the_previous_file_whole(tmp_path: Path) -> None:
    output = SummaryOutput(ObjectStoragePath(f"file://{tmp_path}/s.jsonl"))
    output.publish([{"session_id": "old", "focus_area": None, "summary": {}, "generated_at": "t"}])
    before = (tmp_path / "s.jsonl").read_bytes()

    def records_then_crash() -> Any:
        yield {"session_id": "new", "focus_area": None, "summary": {}, "generated_at": "t"}
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        output.publish(records_then_crash())

    assert (tmp_path / "s.jsonl").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.jsonl"]


def test_progress_for_another_focus_area_is_not_reused(tmp_path: Path) -> None:
    output = SummaryOutput(ObjectStoragePath(f"file://{tmp_path}/s.jsonl"))
    output.save_progress([{"session_id": "a", "focus_area": "checkout", "summary": {}, "generated_at": "t"}])
    output.save_progress(
        [
            {"session_id": "b", "focus_area": None, "summary": {}, "generated_at": "t"},
            {"session_id": "c", "focus_area": None, "error": "summary_failed", "generated_at": "t"},
        ]
    )
    (tmp_path / "s.jsonl.progress" / "part-torn.jsonl").write_text('{"session_id": "d", "summ')

    assert set(output.completed_summaries(None)) == {"b"}
    assert set(output.completed_summaries("checkout")) == {"a"}
    assert len(list((tmp_path / "s.jsonl.progress").glob("part-*.jsonl"))) == 3


STORED_PATH = r"/single_session_summaries/?"
WEEK = dt.timedelta(days=8)


def _week_context() -> dict[str, Any]:
    """A task context whose data interval covers every seeded recording (they span the last 7 days)."""
    end = dt.datetime.now(dt.timezone.utc)
    return {"data_interval_start": end - WEEK, "data_interval_end": end}


def _started(recording: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(recording["start_time"].replace("Z", "+00:00"))


def test_recording_filters_reach_posthog_in_its_shape_and_choose_the_sessions(
    posthog_conn: Any, recordings: list[dict[str, Any]]
) -> None:
    filters = {
        "having_predicates": [
            {"type": "recording", "key": "console_error_count", "operator": "gt", "value": 0}
        ],
        "filter_test_accounts": True,
    }
    operator = PostHogSessionSummariesOperator(task_id="summarise", recording_filters=filters, limit=3)

    records = operator.execute(_week_context())  # type: ignore[arg-type]

    (listing,) = posthog_conn.requests(method="GET", path=r"/session_recordings")
    assert json.loads(listing["query"]["having_predicates"]) == filters["having_predicates"]
    assert listing["query"]["filter_test_accounts"] == "true"
    expected = [
        r["id"]
        for r in recordings
        if r["console_error_count"] > 0
        and not r["person"]["properties"]["email"].endswith("@hogflix.example")
    ]
    assert [record["session_id"] for record in records] == expected[:3]
    assert _sent_session_ids(posthog_conn) == expected[:3]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        (
            {"colour": "blue"},
            r"recording_filters must be a dict with RecordingsQuery filter keys .* 'colour' is not",
        ),
        (
            {"filter_test_accounts": "yes"},
            r"recording_filters\['filter_test_accounts'\] must be true or false",
        ),
        (
            {"having_predicates": {"key": "duration"}},
            r"recording_filters\['having_predicates'\] must be a list",
        ),
        ({"events": [{"id": 7}]}, r"recording_filters\['events'\]\[0\]\['id'\] must be an event name"),
        (
            {"properties": [{"type": "people", "key": "email"}]},
            r"recording_filters\['properties'\]\[0\]\['type'\]",
        ),
        ({"date_from": "-7d"}, r"recording_filters\['date_from'\] must be left out.*window"),
        ({"operand": "XOR"}, r"recording_filters\['operand'\] must be one of 'AND', 'OR'"),
    ],
)
def test_malformed_recording_filters_are_refused_naming_the_key(
    filters: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        PostHogSessionSummariesOperator(task_id="summarise", recording_filters=filters)


def test_rendered_recording_filters_are_checked_before_any_request(posthog_conn: Any) -> None:
    operator = PostHogSessionSummariesOperator(task_id="summarise", recording_filters="{{ params.filters }}")
    operator.recording_filters = '{"having_predicates": [{"type": "recording", "key": 5}]}'  # as rendered

    with pytest.raises(
        AirflowFailException, match=r"\['having_predicates'\]\[0\]\['key'\] must be a property"
    ):
        operator.execute(_week_context())  # type: ignore[arg-type]
    assert posthog_conn.requests() == []


def test_the_sample_is_stable_across_runs_comes_before_limit_and_follows_the_documented_hash(
    posthog_conn: Any, recordings: list[dict[str, Any]]
) -> None:
    def in_sample(session_id: str) -> bool:
        digest = hashlib.sha256(f"weekly:{session_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") < 0.5 * 2**64

    def dry_run(**arguments: Any) -> dict[str, Any]:
        operator = PostHogSessionSummariesOperator(
            task_id="summarise", sample_rate=0.5, sample_seed="weekly", dry_run=True, **arguments
        )
        return operator.execute(_week_context())  # type: ignore[arg-type,return-value]

    first, second, limited = dry_run(), dry_run(), dry_run(limit=3)

    expected = [r["id"] for r in recordings if in_sample(r["id"])]
    assert first["session_ids"]["generate"] == second["session_ids"]["generate"] == expected
    assert (first["listed"], first["sampled_out"]) == (len(recordings), len(recordings) - len(expected))
    assert limited["session_ids"]["generate"] == expected[:3], "sampled first, then limited"


def test_a_sample_keeps_about_its_rate_of_many_sessions() -> None:
    from airflow_provider.operators.session_selection import in_sample

    ids = [str(uuid.UUID(int=number)) for number in range(20_000)]
    kept = [session_id for session_id in ids if in_sample(session_id, 0.25, "seed")]

    assert abs(len(kept) / len(ids) - 0.25) < 0.01
    assert set(kept) <= {session_id for session_id in ids if in_sample(session_id, 0.5, "seed")}


def test_a_dry_run_sends_no_summary_request_and_writes_nothing(
    posthog_conn: Any, recordings: list[dict[str, Any]], tmp_path: Path
) -> None:
    session_ids = _summarizable(recordings, 4)
    PostHogSessionSummariesOperator(task_id="first", session_ids=session_ids[:2]).execute({})  # type: ignore[arg-type]
    output = SummaryOutput(ObjectStoragePath(f"file://{tmp_path}/s.jsonl"))
    output.save_progress(
        [
            {
                "session_id": session_ids[2],
                "focus_area": None,
                "summary": {},
                "generated_at": "t",
                "source": "generated",
            }
        ]
    )
    posts_before, files_before = len(posthog_conn.requests(method="POST")), sorted(tmp_path.rglob("*"))

    result = PostHogSessionSummariesOperator(
        task_id="summarise",
        session_ids=session_ids,
        dry_run=True,
        output_path=f"file://{tmp_path}/s.jsonl",
        report_path=f"file://{tmp_path}/s.md",
    ).execute({})  # type: ignore[arg-type]

    assert len(posthog_conn.requests(method="POST")) == posts_before
    assert posthog_conn.requests(path=r"/single_session_summaries/[^/?]+/?$") == [], "no stored summary read"
    assert sorted(tmp_path.rglob("*")) == files_before
    assert result["session_ids"] == {
        "generate": session_ids[3:],
        "reuse_stored": session_ids[:2],
        "reuse_progress": [session_ids[2]],
    }
    assert (result["would_generate"], result["would_reuse_stored"], result["would_reuse_progress"]) == (
        1,
        2,
        1,
    )
    assert result["requests"]["summary_requests"] == 1


def test_stored_summaries_are_reused_and_only_the_missing_ones_generated(
    posthog_conn: Any, recordings: list[dict[str, Any]], tmp_path: Path
) -> None:
    session_ids = _summarizable(recordings, 4)
    PostHogSessionSummariesOperator(task_id="first", session_ids=session_ids[:2]).execute({})  # type: ignore[arg-type]
    first_posts = len(posthog_conn.requests(method="POST", path=SUMMARIES_PATH))

    result = PostHogSessionSummariesOperator(
        task_id="summarise", session_ids=session_ids, output_path=f"file://{tmp_path}/s.jsonl", outlets=[]
    ).execute({"outlet_events": {}})  # type: ignore[arg-type]

    posts = posthog_conn.requests(method="POST", path=SUMMARIES_PATH)[first_posts:]
    assert [entry["body"]["session_ids"] for entry in posts] == [session_ids[2:]]
    reads = posthog_conn.requests(method="GET", path=r"/single_session_summaries/[^/?]+/?$")
    assert sorted(entry["path"].rstrip("/").rsplit("/", 1)[1] for entry in reads) == sorted(session_ids[:2])
    records = _read_jsonl(tmp_path / "s.jsonl")
    assert [(r["session_id"], r["source"]) for r in records] == [
        (session_ids[0], "stored"),
        (session_ids[1], "stored"),
        (session_ids[2], "generated"),
        (session_ids[3], "generated"),
    ]
    assert all("summary" in record for record in records)
    assert {
        key: result[key] for key in ("reused_stored", "reused_progress", "generated", "summary_requests_sent")
    } == {
        "reused_stored": 2,
        "reused_progress": 0,
        "generated": 2,
        "summary_requests_sent": 1,
    }


def test_a_second_run_of_the_interval_generates_nothing(
    posthog_conn: Any, recordings: list[dict[str, Any]], tmp_path: Path
) -> None:
    session_ids = _summarizable(recordings, 3)
    for name in ("a", "b"):  # two different output files: the second run cannot reuse the first's output
        PostHogSessionSummariesOperator(
            task_id="summarise",
            session_ids=session_ids,
            output_path=f"file://{tmp_path}/{name}.jsonl",
            outlets=[],
        ).execute({"outlet_events": {}})  # type: ignore[arg-type]

    assert len(posthog_conn.requests(method="POST", path=SUMMARIES_PATH)) == 1
    assert [r["source"] for r in _read_jsonl(tmp_path / "b.jsonl")] == ["stored"] * 3
    assert [r["summary"] for r in _read_jsonl(tmp_path / "b.jsonl")] == [
        r["summary"] for r in _read_jsonl(tmp_path / "a.jsonl")
    ]


def test_a_focus_area_run_never_reuses_stored_summaries(
    posthog_conn: Any, recordings: list[dict[str, Any]]
) -> None:
    session_ids = _summarizable(recordings, 2)
    PostHogSessionSummariesOperator(task_id="first", session_ids=session_ids).execute({})  # type: ignore[arg-type]
    seen = len(posthog_conn.requests())

    records = PostHogSessionSummariesOperator(
        task_id="summarise", session_ids=session_ids, focus_area="checkout"
    ).execute({})  # type: ignore[arg-type]

    later = posthog_conn.requests()[seen:]
    assert [entry for entry in later if "single_session_summaries" in entry["path"]] == [], "not even listed"
    (post,) = [entry for entry in later if entry["method"] == "POST"]
    assert (post["body"]["session_ids"], post["body"]["focus_area"]) == (session_ids, "checkout")
    assert [(r["source"], r["focus_area"]) for r in records] == [("generated", "checkout")] * 2


def test_the_digest_counts_lists_problems_first_and_links_each_replay(
    posthog_conn: Any, recordings: list[dict[str, Any]], tmp_path: Path
) -> None:
    unknown = str(uuid.uuid4())
    session_ids = [*_summarizable(recordings, 6), unknown]
    result = PostHogSessionSummariesOperator(
        task_id="summarise",
        session_ids=session_ids,
        output_path=f"file://{tmp_path}/day.jsonl",
        report_path=f"file://{tmp_path}/day.md",
        outlets=[],
    ).execute({"outlet_events": {}})  # type: ignore[arg-type]

    digest = (tmp_path / "day.md").read_text()
    records = {r["session_id"]: r for r in _read_jsonl(tmp_path / "day.jsonl")}
    problems = [
        s for s, r in records.items() if "summary" in r and not r["summary"]["session_outcome"]["success"]
    ]
    fine = [s for s, r in records.items() if "summary" in r and r["summary"]["session_outcome"]["success"]]
    assert problems and fine, "the seed has both kinds among its first sessions"
    assert result["report_path"] == f"file://{tmp_path}/day.md"
    assert "**7 sessions**: 6 summaries generated, 0 reused" in digest and "1 failed" in digest
    assert f"- With problems: {len(problems)}" in digest and "recording_not_found: 1" in digest
    position = {session_id: digest.index(f"[{session_id}]") for session_id in session_ids}
    assert max(position[s] for s in problems) < position[unknown] < min(position[s] for s in fine)
    for session_id in session_ids:
        link = f"]({posthog_conn.url}/project/{posthog_conn.project_id}/replay/{session_id})"
        assert link in digest
    for session_id in problems:
        description = records[session_id]["summary"]["session_outcome"]["description"]
        assert f"{session_id}]" in digest and " ".join(description.split()) in digest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["day.jsonl", "day.md"]


def test_the_accounting_of_a_filtered_sampled_run_adds_up(
    posthog_conn: Any, recordings: list[dict[str, Any]], tmp_path: Path
) -> None:
    result = PostHogSessionSummariesOperator(
        task_id="summarise",
        min_duration=5,
        sample_rate=0.5,
        output_path=f"file://{tmp_path}/s.jsonl",
        outlets=[],
    ).execute({**_week_context(), "outlet_events": {}})  # type: ignore[arg-type]

    short = sum(1 for r in recordings if r["recording_duration"] < 5)
    assert (result["listed"], result["filtered_out"]) == (len(recordings), short)
    assert result["sessions"] == len(recordings) - short - result["sampled_out"] > 0
    assert result["generated"] + result["failed"] + result["reused"] == result["sessions"]
    assert (
        result["summary_requests_sent"] == len(posthog_conn.requests(method="POST", path=SUMMARIES_PATH)) == 1
    )
