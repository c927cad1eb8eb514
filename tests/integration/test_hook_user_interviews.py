"""The hook's user-interview methods (and the async client's multipart upload) over real HTTP
against the emulator."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from airflow_provider.api import endpoints
from airflow_provider.api.client import AsyncPostHogClient
from airflow_provider.api.config import ClientConfig
from airflow_provider.api.errors import PostHogNotFoundError
from airflow_provider.hooks.posthog import PostHogHook


def test_user_interview_upload_and_lifecycle(hook: PostHogHook, posthog_conn: Any, tmp_path: Path) -> None:
    recording = tmp_path / "call.mp3"
    recording.write_bytes(b"ID3" + b"\x00" * 2048)
    created = hook.create_user_interview(recording, interviewee_emails=["Jane Doe <jane@acme.com>"])
    assert created["interviewee_emails"] == ["Jane Doe <jane@acme.com>"]
    assert "audio" not in created
    (upload,) = posthog_conn.requests(method="POST", path=r"/user_interviews/?$")
    assert upload["status"] == 201

    assert hook.update_user_interview(created["id"], summary="Short")["summary"] == "Short"
    assert [i["id"] for i in hook.list_user_interviews()] == [created["id"]]
    assert hook.get_user_interview(created["id"])["id"] == created["id"]
    hook.delete_user_interview(created["id"])
    assert posthog_conn.counts()["user_interviews"] == 0
    with pytest.raises(PostHogNotFoundError):
        hook.get_user_interview(created["id"])


def test_async_client_uploads_multipart_like_the_sync_one(posthog_conn: Any) -> None:
    config = ClientConfig.from_connection_fields(
        host=posthog_conn.url, api_key=posthog_conn.api_key, extra={"project_id": posthog_conn.project_id}
    )

    async def upload() -> dict[str, Any]:
        async with AsyncPostHogClient(config) as client:
            call = endpoints.create_user_interview(b"ID3 audio", ["jane@acme.com"], None)
            return dict(await client.call(call))

    created = asyncio.run(upload())
    assert created["interviewee_emails"] == ["jane@acme.com"]
    (upload_request,) = posthog_conn.requests(method="POST", path=r"/user_interviews/?$")
    assert upload_request["status"] == 201
    assert posthog_conn.counts()["user_interviews"] == 1
