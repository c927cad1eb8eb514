"""User-interview operators (run by real Airflow, ``dag.test()``) and hook, against the emulator."""

from __future__ import annotations

import datetime as dt
import json
import uuid
import wave
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, BaseOperator
from dag_test_runs import run_dag, run_operators, task_instance, task_states

from airflow_provider._compat import AIRFLOW_V_3_3_PLUS
from airflow_provider.api import endpoints, limits
from airflow_provider.api.connection_fields import DEFAULT_TIMEOUT
from airflow_provider.api.errors import PostHogConfigError, PostHogNotFoundError, PostHogPermissionError
from airflow_provider.api.request import build_request
from airflow_provider.hooks.posthog import PostHogHook
from airflow_provider.operators.user_interviews import (
    UPLOAD_STATE_KEY,
    PostHogCreateUserInterviewOperator,
    PostHogDeleteUserInterviewOperator,
    PostHogUpdateUserInterviewOperator,
)

COLLECTION = r"/user_interviews/?$"
JANE = ["Jane Doe <jane@example.com>"]
#: A retry knows what an earlier try sent only through the task state store (Airflow 3.3+).
with_task_state_store = pytest.mark.skipif(
    not AIRFLOW_V_3_3_PLUS, reason="needs the task state store (Airflow 3.3+)"
)
without_task_state_store = pytest.mark.skipif(
    AIRFLOW_V_3_3_PLUS, reason="Airflow 3.3+ has a task state store"
)


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


@pytest.mark.parametrize("status", [504, None], ids=["gateway-504", "dropped-connection"])
def test_create_is_not_duplicated_when_the_response_is_lost(
    airflow_db: Path, posthog_conn: Any, recording: Path, status: int | None
) -> None:
    # A dropped connection after PostHog did the work is what a read timeout is to the client: the
    # request was sent and no answer came (PostHogResponseLostError either way).
    before = posthog_conn.counts()["user_interviews"]
    posthog_conn.add_fault(method="POST", path=COLLECTION, kind="after_processing", status=status, times=1)

    dag_run = _run(
        PostHogCreateUserInterviewOperator(task_id="upload", audio=str(recording), interviewee_emails=JANE)
    )

    assert task_states(dag_run) == {"upload": "success"}
    assert len(posthog_conn.requests(method="POST", path=COLLECTION)) == 1
    assert posthog_conn.counts()["user_interviews"] == before + 1
    interview_id = task_instance(dag_run, "upload").xcom_pull(task_ids="upload")
    assert posthog_conn.requests(method="GET", path=COLLECTION), "the operator looked the interview up"
    assert str(uuid.UUID(interview_id)) == interview_id


@with_task_state_store
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


def test_a_retry_after_a_refused_upload_uploads_although_an_interview_with_the_same_emails_exists(
    airflow_db: Path, posthog_conn: Any, recording: Path, tmp_path: Path
) -> None:
    before = posthog_conn.counts()["user_interviews"]
    other_call = tmp_path / "second_call.wav"
    other_call.write_bytes(recording.read_bytes() + b"\0\0")
    # The first upload (another call with Jane) goes through; the second is refused once with a 400.
    posthog_conn.add_fault(method="POST", path=COLLECTION, kind="delay", delay=0.01, times=1)
    posthog_conn.add_fault(method="POST", path=COLLECTION, kind="status", status=400, times=1)

    dag_run = _run(
        PostHogCreateUserInterviewOperator(task_id="first", audio=str(recording), interviewee_emails=JANE),
        PostHogCreateUserInterviewOperator(
            task_id="second",
            audio=str(other_call),
            interviewee_emails=JANE,
            retries=1,
            retry_delay=dt.timedelta(0),
        ),
    )

    assert task_states(dag_run) == {"first": "success", "second": "success"}
    assert task_instance(dag_run, "second").try_number == 2
    posts = posthog_conn.requests(method="POST", path=COLLECTION)
    assert [post["status"] for post in posts] == [201, 400, 201], "the retry uploaded the second call"
    assert posts[2]["body"]["audio"]["filename"] == "second_call.wav"
    assert posthog_conn.counts()["user_interviews"] == before + 2
    first = task_instance(dag_run, "first").xcom_pull(task_ids="first")
    second = task_instance(dag_run, "second").xcom_pull(task_ids="second")
    assert first != second


@without_task_state_store
def test_without_a_task_state_store_a_lost_upload_that_cannot_be_found_fails_without_retrying(
    airflow_db: Path, posthog_conn: Any, recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = posthog_conn.counts()["user_interviews"]
    # As on Airflow 3.3 above, but no retry could tell that the upload was sent: it must not run.
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

    assert task_states(dag_run) == {"upload": "failed"}
    assert task_instance(dag_run, "upload").try_number == 1, "failed without using its retry"
    assert len(posthog_conn.requests(method="POST", path=COLLECTION)) == 1
    assert posthog_conn.counts()["user_interviews"] == before + 1
    assert "This Airflow has no task state store (Airflow 3.3+)" in capsys.readouterr().out


@with_task_state_store
def test_a_lost_answer_that_matches_several_interviews_fails_saying_how_to_check_and_never_uploads_again(
    airflow_db: Path, posthog_conn: Any, recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = PostHogHook().create_user_interview(b"ID3 another call with Jane", interviewee_emails=JANE)
    before = posthog_conn.counts()["user_interviews"]
    posthog_conn.add_fault(method="POST", path=COLLECTION, kind="after_processing", status=None, times=1)

    dag_run = _run(
        PostHogCreateUserInterviewOperator(
            task_id="upload",
            audio=str(recording),
            interviewee_emails=JANE,
            retries=1,
            retry_delay=dt.timedelta(0),
        )
    )

    assert task_states(dag_run) == {"upload": "failed"}
    assert task_instance(dag_run, "upload").try_number == 2, "the retry refused to upload too"
    assert len(posthog_conn.requests(method="POST", path=COLLECTION)) == 2  # the other call's and ours
    assert posthog_conn.counts()["user_interviews"] == before + 1
    task_log = capsys.readouterr().out
    assert task_log.count("PostHogInterviewMayExistError") >= 2
    assert "so the interview may exist. 2 interviews with these emails were created since then" in task_log
    assert other["id"] in task_log
    assert f"{posthog_conn.url}/project/{posthog_conn.project_id}/user_interviews" in task_log
    assert f"state-store/{UPLOAD_STATE_KEY}), then clear the task to upload again." in task_log


@with_task_state_store
@pytest.mark.parametrize("deleted_meanwhile", [False, True], ids=["still-there", "deleted-meanwhile"])
def test_a_retry_after_a_created_upload_reuses_it_unless_it_was_deleted(
    airflow_db: Path, posthog_conn: Any, recording: Path, deleted_meanwhile: bool
) -> None:
    before = posthog_conn.counts()["user_interviews"]

    def fail_first_try_after_the_upload(context: Any, result: Any) -> None:
        # The upload was answered; the try fails afterwards (as when the worker dies before recording it).
        if context["ti"].try_number == 1:
            if deleted_meanwhile:
                PostHogHook().delete_user_interview(result)
            raise RuntimeError("the worker died after the upload")

    dag_run = _run(
        PostHogCreateUserInterviewOperator(
            task_id="upload",
            audio=str(recording),
            interviewee_emails=JANE,
            retries=1,
            retry_delay=dt.timedelta(0),
            post_execute=fail_first_try_after_the_upload,
        )
    )

    assert task_states(dag_run) == {"upload": "success"}
    assert task_instance(dag_run, "upload").try_number == 2
    posts = posthog_conn.requests(method="POST", path=COLLECTION)
    assert len(posts) == (2 if deleted_meanwhile else 1), "the retry uploads only if it was deleted"
    assert posthog_conn.counts()["user_interviews"] == before + 1
    interview_id = task_instance(dag_run, "upload").xcom_pull(task_ids="upload")
    (check,) = posthog_conn.requests(method="GET", path=r"/user_interviews/[^/]+/?$")
    assert check["status"] == (404 if deleted_meanwhile else 200)
    assert (interview_id in check["path"]) is not deleted_meanwhile


def test_a_missing_audio_file_fails_before_any_request(
    airflow_db: Path, posthog_conn: Any, tmp_path: Path
) -> None:
    dag_run = _run(
        PostHogCreateUserInterviewOperator(
            task_id="upload", audio=str(tmp_path / "nope.wav"), interviewee_emails=JANE
        )
    )

    assert task_states(dag_run) == {"upload": "failed"}
    assert posthog_conn.requests() == []


@pytest.mark.parametrize(
    ("operator", "arguments", "message"),
    [
        (
            PostHogCreateUserInterviewOperator,
            {"audio": "", "interviewee_emails": JANE},
            r"audio must be a file path or an ObjectStoragePath",
        ),
        (
            PostHogCreateUserInterviewOperator,
            {"audio": "nosuch://x/a.wav", "interviewee_emails": JANE},
            r"audio 'nosuch://x/a.wav' is not",
        ),
        (
            PostHogCreateUserInterviewOperator,
            {"audio": "/a.wav", "interviewee_emails": []},
            r"interviewee_emails must be at least one email address .*; got \[\]\. PostHog needs at least "
            r"one interviewee email",
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
            r"interview_id must be a UUID such as [0-9a-f-]{36}; got ''\.",
        ),
        (
            PostHogUpdateUserInterviewOperator,
            {"interview_id": "42", "summary": "s"},
            r"interview_id must be a UUID such as [0-9a-f-]{36}; got '42'\.",
        ),
    ],
)
def test_bad_arguments_are_refused_when_the_dag_is_defined(
    operator: type, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        operator(task_id="t", **arguments)


@pytest.mark.parametrize("emails", [[], ()], ids=["empty-list", "empty-tuple"])
def test_the_hook_refuses_a_create_without_emails_before_sending(posthog_conn: Any, emails: Any) -> None:
    with pytest.raises(PostHogConfigError) as refused:
        PostHogHook().create_user_interview(b"ID3 audio", interviewee_emails=emails)

    message = str(refused.value)
    assert message.startswith("interviewee_emails must be at least one email address")
    assert "PostHog needs at least one interviewee email to create an interview" in message
    assert posthog_conn.requests() == [], "nothing was sent"


def test_emails_that_render_to_an_empty_list_fail_the_task_before_any_request(
    airflow_db: Path, posthog_conn: Any, recording: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with DAG(dag_id=f"test_interviews_{uuid.uuid4().hex[:8]}", schedule=None) as dag:
        emails = PythonOperator(task_id="emails", python_callable=list)
        PostHogCreateUserInterviewOperator(
            task_id="upload", audio=str(recording), interviewee_emails=emails.output, retries=1
        )

    dag_run = run_dag(dag)

    assert task_states(dag_run) == {"emails": "success", "upload": "failed"}
    assert task_instance(dag_run, "upload").try_number == 1, "bad input is not retried"
    assert "interviewee_emails must be at least one email address" in capsys.readouterr().out
    assert posthog_conn.requests() == []


def test_an_interview_id_that_renders_to_no_uuid_fails_the_task_before_any_request(
    airflow_db: Path, posthog_conn: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with DAG(dag_id=f"test_interviews_{uuid.uuid4().hex[:8]}", schedule=None) as dag:
        PostHogDeleteUserInterviewOperator(
            task_id="delete", interview_id="{{ dag_run.run_id }}", missing_ok=True, retries=1
        )

    dag_run = run_dag(dag)

    assert task_states(dag_run) == {"delete": "failed"}
    assert task_instance(dag_run, "delete").try_number == 1, "bad input is not retried"
    assert "interview_id must be a UUID such as" in capsys.readouterr().out
    assert posthog_conn.requests() == []


def test_the_create_alone_reads_with_the_long_interview_timeout(posthog_conn: Any) -> None:
    config = PostHogHook().get_conn().config
    create = endpoints.create_user_interview(b"ID3 audio", JANE, None)

    assert config.timeout == DEFAULT_TIMEOUT
    assert create.read_timeout == limits.USER_INTERVIEW_CREATE_READ_TIMEOUT == 600.0
    assert build_request(config, create).read_timeout == 600.0
    assert build_request(config, endpoints.user_interviews()).read_timeout == DEFAULT_TIMEOUT
    assert not create.is_idempotent, "a lost answer is never re-sent"


def test_a_403_or_404_says_the_product_may_be_off_or_gone(
    posthog_conn: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = json.loads(posthog_conn.airflow_conn_json())
    conn["password"] = posthog_conn.read_only_key
    monkeypatch.setenv("AIRFLOW_CONN_POSTHOG_DEFAULT", json.dumps(conn))
    with pytest.raises(PostHogPermissionError) as refused:
        PostHogHook().create_user_interview(b"ID3 audio", interviewee_emails=JANE)
    posthog_conn.add_fault(method="GET", path="user_interviews", kind="status", status=404)
    with pytest.raises(PostHogNotFoundError) as missing:
        list(PostHogHook().list_user_interviews())

    for error in (refused.value, missing.value):
        message = str(error)
        assert "may not be enabled for this project" in message
        assert "feature flag 'user-interviews'" in message
        assert "or this PostHog no longer has them" in message
    assert "user_interview:write" in str(refused.value)
    assert [entry["status"] for entry in posthog_conn.requests()] == [403, 404]
