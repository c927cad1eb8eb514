"""Upload an interview recording to PostHog, correct its summary, and delete it.

A real DAG would pick recordings up from where the team stores them (any ``ObjectStoragePath`` URL,
e.g. ``s3://aws_default@research/interviews/{{ ds }}/call.mp3``). To run anywhere, this example
first writes a one-second WAV tone to the local disk and uploads that.
"""

from __future__ import annotations

import datetime as dt
import math
import struct
import tempfile
import wave
from pathlib import Path

from airflow.sdk import DAG, task

from airflow_provider.operators.user_interviews import (
    PostHogCreateUserInterviewOperator,
    PostHogDeleteUserInterviewOperator,
    PostHogUpdateUserInterviewOperator,
)

SAMPLE_RATE = 8000


with DAG(
    dag_id="posthog_user_interviews",
    description="Upload a user-interview recording to PostHog, edit its summary, then delete it.",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    tags=["posthog", "example"],
) as dag:

    @task
    def write_sample_recording() -> str:
        """Write a one-second 440 Hz tone as a WAV file and return its path."""
        path = Path(tempfile.mkdtemp(prefix="posthog-interview-")) / "interview.wav"
        with wave.open(str(path), "wb") as recording:
            recording.setnchannels(1)
            recording.setsampwidth(2)
            recording.setframerate(SAMPLE_RATE)
            recording.writeframes(
                b"".join(
                    struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / SAMPLE_RATE)))
                    for n in range(SAMPLE_RATE)
                )
            )
        return str(path)

    upload = PostHogCreateUserInterviewOperator(
        task_id="upload_interview",
        audio=write_sample_recording(),
        interviewee_emails=["Jane Doe <jane@example.com>"],
    )

    correct_summary = PostHogUpdateUserInterviewOperator(
        task_id="correct_summary",
        interview_id=upload.output,
        summary="Jane wants CSV export on the billing page; onboarding was smooth.",
    )

    delete = PostHogDeleteUserInterviewOperator(task_id="delete_interview", interview_id=upload.output)

    upload >> correct_summary >> delete
