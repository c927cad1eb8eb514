"""The refresh watcher's watermark: each completed job reported once, whatever order jobs end in."""

from __future__ import annotations

import json
from typing import Any

from airflow_provider.saved_query_refreshes import RefreshWatermark


def job(job_id: str, minute: int, status: str) -> dict[str, Any]:
    return {"id": job_id, "created_at": f"2026-12-05T10:{minute:02d}:00.000000Z", "status": status}


def readable(watermark: RefreshWatermark, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the trigger reads: the jobs the watermark covers."""
    return [j for j in jobs if watermark.covers(j)]


def test_a_watcher_that_starts_takes_what_has_completed_as_seen() -> None:
    history = [job("a", 1, "Completed"), job("b", 2, "Failed"), job("c", 3, "Completed")]
    watermark = RefreshWatermark.starting_from(history)
    fresh, after = watermark.take(readable(watermark, history))
    assert fresh == []
    assert after.since == history[2]["created_at"]  # nothing runs: from the newest job on


def test_each_completed_job_is_reported_once_in_creation_order() -> None:
    watermark = RefreshWatermark.starting_from([job("a", 1, "Completed")])
    jobs = [job("a", 1, "Completed"), job("b", 2, "Completed"), job("c", 3, "Completed")]
    fresh, watermark = watermark.take(readable(watermark, jobs))
    assert [j["id"] for j in fresh] == ["b", "c"]
    again, watermark = watermark.take(readable(watermark, jobs))
    assert again == []


def test_a_job_that_ends_after_a_newer_one_is_still_reported_once() -> None:
    watermark = RefreshWatermark.starting_from([job("old", 1, "Completed"), job("slow", 2, "Running")])
    assert watermark.since == job("slow", 2, "Running")["created_at"]  # the oldest job still running
    jobs = [job("old", 1, "Completed"), job("slow", 2, "Running"), job("quick", 3, "Completed")]
    fresh, watermark = watermark.take(readable(watermark, jobs))
    assert [j["id"] for j in fresh] == ["quick"]
    jobs[1]["status"] = "Completed"
    fresh, watermark = watermark.take(readable(watermark, jobs))
    assert [j["id"] for j in fresh] == ["slow"]
    fresh, _ = watermark.take(readable(watermark, jobs))
    assert fresh == []


def test_failed_cancelled_and_skipped_jobs_are_not_refreshes() -> None:
    watermark = RefreshWatermark.starting_from([])
    jobs = [job("f", 1, "Failed"), job("x", 2, "Cancelled"), job("s", 3, "Skipped"), job("r", 4, "Running")]
    fresh, watermark = watermark.take(readable(watermark, jobs))
    assert fresh == []
    assert watermark.since == jobs[3]["created_at"]


def test_a_view_without_jobs_reports_its_first_completed_job() -> None:
    watermark = RefreshWatermark.starting_from([])
    assert watermark.since is None
    fresh, _ = watermark.take([job("first", 1, "Completed")])
    assert [j["id"] for j in fresh] == ["first"]


def test_the_watermark_survives_a_restart_as_plain_json() -> None:
    watermark = RefreshWatermark.starting_from([job("a", 1, "Completed")])
    jobs = [job("a", 1, "Completed"), job("b", 2, "Completed")]
    _, watermark = watermark.take(readable(watermark, jobs))
    restored = RefreshWatermark.from_state(json.loads(json.dumps(watermark.to_state())))
    assert restored == watermark
    jobs.append(job("c", 3, "Completed"))  # completed while the triggerer was down
    fresh, _ = restored.take(readable(restored, jobs))
    assert [j["id"] for j in fresh] == ["c"]
    assert RefreshWatermark.from_state(None) is None
    assert RefreshWatermark.from_state({"since": 3}) is None


def test_only_the_ids_still_needed_are_kept() -> None:
    watermark = RefreshWatermark.starting_from([])
    jobs = [job(f"j{n}", n, "Completed") for n in range(1, 30)]
    _, watermark = watermark.take(jobs)
    assert watermark.reported == ("j29",)  # older jobs are before `since` and never read again
