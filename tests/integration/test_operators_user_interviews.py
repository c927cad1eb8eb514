"""User-interview operators run by real Airflow (``dag.test()``) against the emulator over loopback."""

from __future__ import annotations

import datetime as dt
import uuid
import wave
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import DAG, BaseOperator
from dag_test_runs import run_dag, run_operators, task_instance, task_states

from airflow_provider.operators import (
    PostHogCreateUserInterviewOperator,
    PostHogDeleteUserInterviewOperator,
    PostHogUpdateUserInterviewOperator,
)

COLLECTION = r"/user_interviews/?$"
JANE = ["Jane Doe <jane@example.com>"]


def _run(*operators: BaseOperator) -> Any:
    return run_operators(*operators, dag_id_prefix="test_interviews")


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    """A short silent WAV file on the local disk."""
    path = tmp_path / "call.wav"
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\0\0" * 800)
    return path


@pytest.mark.parametrize("as_url", [False, True], ids=["local-path", "object-storage-url"])
def test_create_uploads_the_recording_as_multipart(
    airflow_db: Path, posthog_conn: Any, recording: Path, as_url: bool
) -> None:
    before = posthog_conn.counts()["user_interviews"]
    audio = f"file://{recording}" if as_url else str(recording)

    dag_run = _run(PostHogCreateUserInterviewOperator(task_id="upload", audio=audio, interviewee_emails=JANE))

    assert task_states(dag_run) == {"upload": "success"}
    (post,) = posthog_conn.requests(method="POST", path=COLLECTION)
    assert post["status"] == 201
    assert post["body"]["interviewee_emails"] == JANE[0]
    assert post["body"]["audio"]["filename"] == "call.wav"
    assert post["body"]["audio"]["size"] == recording.stat().st_size
    assert posthog_conn.counts()["user_interviews"] == before + 1
    interview_id = task_instance(dag_run, "upload").xcom_pull(task_ids="upload")
    assert str(uuid.UUID(interview_id)) == interview_id


def test_update_and_delete_an_interview(airflow_db: Path, posthog_conn: Any, recording: Path) -> None:
    before = posthog_conn.counts()["user_interviews"]
    with DAG(dag_id=f"test_interviews_{uuid.uuid4().hex[:8]}", schedule=None) as dag:
        upload = PostHogCreateUserInterviewOperator(
            task_id="upload", audio=str(recording), interviewee_emails=JANE
        )
        update = PostHogUpdateUserInterviewOperator(
            task_id="update", interview_id=upload.output, summary="Wants CSV export."
        )
        update >> PostHogDeleteUserInterviewOperator(task_id="delete", interview_id=upload.output)

    dag_run = run_dag(dag)

    assert task_states(dag_run) == {"upload": "success", "update": "success", "delete": "success"}
    interview_id = task_instance(dag_run, "upload").xcom_pull(task_ids="upload")
    (patch,) = posthog_conn.requests(method="PATCH")
    assert patch["path"].rstrip("/").endswith(interview_id)
    assert patch["body"] == {"summary": "Wants CSV export."}
    (delete,) = posthog_conn.requests(method="DELETE")
    assert delete["status"] == 204
    assert posthog_conn.counts()["user_interviews"] == before


@pytest.mark.parametrize(("missing_ok", "state"), [(False, "failed"), (True, "success")])
def test_deleting_a_missing_interview_fails_unless_missing_ok(
    airflow_db: Path, posthog_conn: Any, missing_ok: bool, state: str
) -> None:
    dag_run = _run(
        PostHogDeleteUserInterviewOperator(
            task_id="delete", interview_id=str(uuid.uuid4()), missing_ok=missing_ok
        )
    )

    assert task_states(dag_run) == {"delete": state}
    assert [entry["status"] for entry in posthog_conn.requests(method="DELETE")] == [404]


def test_create_is_not_duplicated_when_the_response_is_lost(
    airflow_db: Path, posthog_conn: Any, recording: Path
) -> None:
    before = posthog_conn.counts()["user_interviews"]
    posthog_conn.add_fault(method="POST", path=COLLECTION, kind="after_processing", status=504, times=1)

    dag_run = _run(
        PostHogCreateUserInterviewOperator(task_id="upload", audio=str(recording), interviewee_emails=JANE)
    )

    assert task_states(dag_run) == {"upload": "success"}
    assert len(posthog_conn.requests(method="POST", path=COLLECTION)) == 1
    assert posthog_conn.counts()["user_interviews"] == before + 1
    interview_id = task_instance(dag_run, "upload").xcom_pull(task_ids="upload")
    assert posthog_conn.requests(method="GET", path=COLLECTION), "the operator looked the interview up"
    assert str(uuid.UUID(interview_id)) == interview_id


def test_a_retry_after_a_dropped_upload_does_not_upload_again(
    airflow_db: Path, posthog_conn: Any, recording: Path
) -> None:
    before = posthog_conn.counts()["user_interviews"]
    # The upload goes through but its answer is dropped and the lookup right after fails: the retry finds it.
    posthog_conn.add_fault(method="POST", path=COLLECTION, kind="after_processing", status=None, times=1)
    posthog_conn.add_fault(method="GET", path=COLLECTION, kind="status", status=403, times=1)

    dag_run = _run(
        PostHogCreateUserInterviewOperator(
            task_id="upload",
            audio=str(recording),
            interviewee_emails=JANE,
            retries=1,
            retry_delay=dt.timedelta(0),
        )
    )

    assert task_states(dag_run) == {"upload": "success"}
    assert task_instance(dag_run, "upload").try_number == 2
    assert len(posthog_conn.requests(method="POST", path=COLLECTION)) == 1
    assert posthog_conn.counts()["user_interviews"] == before + 1


def test_a_missing_audio_file_fails_before_any_request(
    airflow_db: Path, posthog_conn: Any, tmp_path: Path
) -> None:
    dag_run = _run(PostHogCreateUserInterviewOperator(task_id="upload", audio=str(tmp_path / "nope.wav")))

    assert task_states(dag_run) == {"upload": "failed"}
    assert posthog_conn.requests() == []


@pytest.mark.parametrize(
    ("operator", "arguments", "message"),
    [
        (
            PostHogCreateUserInterviewOperator,
            {"audio": ""},
            r"audio must be a file path or an ObjectStoragePath",
        ),
        (
            PostHogCreateUserInterviewOperator,
            {"audio": "nosuch://x/a.wav"},
            r"audio 'nosuch://x/a.wav' is not",
        ),
        (
            PostHogCreateUserInterviewOperator,
            {"audio": "/a.wav", "interviewee_emails": "j@x.com"},
            r"list of str",
        ),
        (
            PostHogCreateUserInterviewOperator,
            {"audio": "/a.wav", "interviewee_emails": ["jane"]},
            r"email address",
        ),
        (
            PostHogUpdateUserInterviewOperator,
            {"interview_id": "x"},
            r"at least one of summary and interviewee",
        ),
        (PostHogUpdateUserInterviewOperator, {"interview_id": "", "summary": "s"}, r"interview_id must be"),
        (
            PostHogDeleteUserInterviewOperator,
            {"interview_id": ""},
            r"interview_id must be a non-empty string",
        ),
    ],
)
def test_bad_arguments_are_refused_when_the_dag_is_defined(
    operator: type, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        operator(task_id="t", **arguments)
