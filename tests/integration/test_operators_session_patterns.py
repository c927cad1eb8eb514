"""PostHogSessionPatternsOperator run by real Airflow against the emulator over loopback."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from dag_test_runs import run_operators, task_instance, task_states

from airflow_provider.hooks.posthog import PostHogHook
from airflow_provider.operators.session_patterns import PostHogSessionPatternsOperator, cap_sessions

GROUP_PATH = r"/session_summaries/create_session_summaries/?$"
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def _window() -> dict[str, dt.datetime]:
    now = dt.datetime.now(dt.timezone.utc)
    return {"date_from": now - dt.timedelta(days=8), "date_to": now}


def _listed(window: dict[str, dt.datetime]) -> list[str]:
    return [recording["id"] for recording in PostHogHook().list_session_recordings(**window)]


def _run(**kwargs: Any) -> tuple[Any, Any]:
    dag_run = run_operators(
        PostHogSessionPatternsOperator(task_id="patterns", **kwargs), dag_id_prefix="patterns"
    )
    return dag_run, task_instance(dag_run, "patterns").xcom_pull(task_ids="patterns")


def test_the_report_has_posthogs_patterns_with_replay_links_in_json_and_markdown(
    airflow_db: Path, posthog_conn: Any, tmp_path: Path
) -> None:
    window = _window()
    listed = _listed(window)
    dag_run, result = _run(**window, focus_area="checkout", output_path=f"file://{tmp_path}/week.json")

    assert task_states(dag_run) == {"patterns": "success"}
    (sent,) = posthog_conn.requests(method="POST", path=GROUP_PATH)
    assert sent["body"] == {"session_ids": listed, "focus_area": "checkout"}
    report = json.loads((tmp_path / "week.json").read_text())
    markdown = (tmp_path / "week.md").read_text()
    assert report["session_ids"] == listed and report["note"] is None
    assert report["patterns"] and report["failed_sessions"], "the seed has patterns and too-short sessions"
    replay = f"{posthog_conn.url}/project/{posthog_conn.project_id}/replay/"
    for pattern in report["patterns"]:
        examples = [example["session_id"] for example in pattern["example_sessions"]]
        assert examples == list(dict.fromkeys(e["target_event"]["session_id"] for e in pattern["events"]))
        assert [e["replay_url"] for e in pattern["example_sessions"]] == [replay + sid for sid in examples]
        assert f"- [{examples[0]}]({replay}{examples[0]})" in markdown
    headings = [line for line in markdown.splitlines() if line.startswith("## ") and "(" in line]
    assert headings == [f"## {p['pattern_name']} ({p['severity']})" for p in report["patterns"]]
    assert [SEVERITY_RANK[p["severity"]] for p in report["patterns"]] == sorted(
        SEVERITY_RANK[p["severity"]] for p in report["patterns"]
    )
    assert all(
        failure["replay_url"] == replay + failure["session_id"] for failure in report["failed_sessions"]
    )
    assert result == {
        "path": f"file://{tmp_path}/week.json",
        "markdown_path": f"file://{tmp_path}/week.md",
        "listed": len(listed),
        "filtered_out": 0,
        "sampled_out": 0,
        "selected": len(listed),
        "sessions": len(listed),
        "capped": False,
        "skipped": len(report["failed_sessions"]),
        "patterns": len(report["patterns"]),
        "severities": report["severities"],
    }
    assert sorted(path.name for path in tmp_path.iterdir()) == ["week.json", "week.md"], (
        "no temporary file left"
    )


def test_more_than_300_sessions_send_a_stable_sample_of_300_and_the_report_says_so(
    airflow_db: Path, posthog_conn: Any, tmp_path: Path
) -> None:
    posthog_conn.configure(session_count=330)
    window = _window()
    listed = _listed(window)
    assert len(listed) == 330
    dag_run, result = _run(**window, sample_seed="w1", output_path=f"file://{tmp_path}/big.json")

    assert task_states(dag_run) == {"patterns": "success"}
    (sent,) = posthog_conn.requests(method="POST", path=GROUP_PATH)
    assert sent["body"]["session_ids"] == cap_sessions(listed, "w1")
    assert len(set(sent["body"]["session_ids"])) == 300 and set(sent["body"]["session_ids"]) <= set(listed)
    assert cap_sessions(list(reversed(listed)), "w1") == list(reversed(cap_sessions(listed, "w1"))), (
        "the same sessions whatever order PostHog lists them in"
    )
    assert (result["selected"], result["sessions"], result["capped"]) == (330, 300, True)
    report = json.loads((tmp_path / "big.json").read_text())
    assert report["note"].startswith("330 sessions were chosen; PostHog's group summary takes at most 300")
    assert report["counts"]["capped"] is True
    assert f"> {report['note']}" in (tmp_path / "big.md").read_text()


def test_bad_arguments_are_refused_when_the_dag_is_defined() -> None:
    with pytest.raises(ValueError, match=r"output_path must name a \.json file"):
        PostHogSessionPatternsOperator(task_id="p", output_path="file:///tmp/report.jsonl")
    with pytest.raises(ValueError, match="sample_rate must be a fraction greater than 0"):
        PostHogSessionPatternsOperator(task_id="p", output_path="file:///tmp/r.json", sample_rate=2)
    with pytest.raises(ValueError, match="Pass one or the other"):
        PostHogSessionPatternsOperator(
            task_id="p", output_path="file:///tmp/r.json", session_ids=["a"], date_to="2026-01-01"
        )


def test_a_bad_templated_value_fails_the_task_before_any_request(
    airflow_db: Path, posthog_conn: Any, tmp_path: Path
) -> None:
    dag_run, _ = _run(
        session_ids=["a"], focus_area="{{ 'x' * 501 }}", output_path=f"file://{tmp_path}/r.json"
    )

    assert task_states(dag_run) == {"patterns": "failed"}
    assert posthog_conn.requests() == []
    assert list(tmp_path.iterdir()) == []
