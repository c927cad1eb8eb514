"""User interviews: multipart create with audio and at least one email, no audio in answers, UUIDs,
204 delete (7.4, 9.9)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from emulator_http import api, envelope, session

WRITE_SCOPE = "user_interview:write"


def upload(emulator: Any, audio: bytes = b"ID3 fake mp3 bytes", key: str | None = None, **data: Any) -> Any:
    data.setdefault("interviewee_emails", "jane@acme.com")  # PostHog's create needs one valid email
    return session(emulator, key).post(
        api(emulator, "user_interviews/"), files={"audio": ("call.mp3", audio, "audio/mpeg")}, data=data
    )


def test_multipart_create_transcribes_and_summarizes_without_returning_audio(emulator: Any) -> None:
    response = upload(
        emulator, interviewee_emails=["Jane Doe <jane@acme.com>", "bob@acme.com"], summary="mine"
    )
    assert response.status_code == 201
    interview = response.json()
    assert uuid.UUID(interview["id"])
    assert list(interview) == [
        "id",
        "created_by",
        "created_at",
        "interviewee_emails",
        "interviewee_identifier",
        "topic",
        "transcript",
        "summary",
        "classifications",
    ]
    assert interview["interviewee_emails"] == ["Jane Doe <jane@acme.com>", "bob@acme.com"]
    # Read-only, set only for PostHog's AI voice interviews; none derived from an uploaded recording.
    assert (interview["interviewee_identifier"], interview["topic"], interview["classifications"]) == (
        "",
        None,
        [],
    )
    assert "#### Jane Doe" in interview["transcript"]
    assert interview["summary"].startswith("## User background")
    logged = emulator.requests(method="POST", path="user_interviews")[0]["body"]
    assert logged["audio"] == {"filename": "call.mp3", "content_type": "audio/mpeg", "size": 18}


def test_same_audio_gives_the_same_transcript(emulator: Any) -> None:
    first, second = upload(emulator, b"recording-1").json(), upload(emulator, b"recording-1").json()
    assert first["id"] != second["id"]
    assert first["transcript"] == second["transcript"]


def test_json_create_is_a_400_on_audio_since_json_carries_no_file(emulator: Any) -> None:
    response = session(emulator).post(api(emulator, "user_interviews/"), json={"audio": "call.mp3"})
    assert response.status_code == 400
    assert response.json() == envelope("validation_error", "required", "No file was submitted.", "audio")
    assert emulator.counts()["user_interviews"] == 0


def test_a_multipart_create_without_interviewee_emails_is_a_500_as_in_posthog(emulator: Any) -> None:
    http = session(emulator)
    response = http.post(
        api(emulator, "user_interviews/"), files={"audio": ("call.mp3", b"ID3 fake", "audio/mpeg")}
    )
    assert response.status_code == 500
    assert response.json() == envelope("server_error", "error", "A server error occurred.")
    # The 500 comes from create(), after validation: a missing file is still reported first.
    no_file = http.post(api(emulator, "user_interviews/"), files={"summary": (None, "s")})
    assert no_file.status_code == 400
    assert no_file.json()["attr"] == "audio"
    assert emulator.counts()["user_interviews"] == 0


def test_an_empty_interviewee_emails_field_is_a_blank_first_item_as_in_drf(emulator: Any) -> None:
    response = upload(emulator, interviewee_emails="")
    assert response.status_code == 400
    assert response.json() == envelope(
        "validation_error", "blank", "This field may not be blank.", "interviewee_emails__0"
    )
    assert emulator.counts()["user_interviews"] == 0


@pytest.mark.parametrize(
    "key", ["phx_demo_all_scopes", "phx_demo_legacy_interviews"], ids=["current", "legacy"]
)
def test_the_current_and_the_older_scope_name_are_both_accepted(emulator: Any, key: str) -> None:
    assert upload(emulator, key=key).status_code == 201


def test_missing_audio_file_is_required(emulator: Any) -> None:
    response = session(emulator).post(
        api(emulator, "user_interviews/"), files={"interviewee_emails": (None, "a@b.co")}
    )
    assert response.status_code == 400
    assert response.json() == envelope("validation_error", "required", "No file was submitted.", "audio")


def test_audio_sent_as_a_text_field_is_not_a_file(emulator: Any) -> None:
    response = session(emulator).post(
        api(emulator, "user_interviews/"),
        files={"audio": (None, "call.mp3"), "interviewee_emails": (None, "jane@acme.com")},
    )
    assert response.status_code == 400
    assert response.json()["attr"] == "audio"
    assert response.json()["detail"].startswith("The submitted data was not a file.")


def test_empty_audio_file_is_refused(emulator: Any) -> None:
    response = upload(emulator, b"")
    assert response.json() == envelope("validation_error", "empty", "The submitted file is empty.", "audio")


def test_bad_email_is_reported_with_its_index(emulator: Any) -> None:
    response = upload(emulator, interviewee_emails=["ok@example.com", "not an email"])
    assert response.status_code == 400
    assert response.json() == envelope(
        "validation_error", "invalid_input", "Enter a valid email address.", "interviewee_emails__1"
    )


def test_patch_changes_summary_and_classifications_and_delete_is_a_hard_204(emulator: Any) -> None:
    http = session(emulator)
    interview = upload(emulator).json()
    url = api(emulator, f"user_interviews/{interview['id']}/")
    patched = http.patch(url, json={"summary": "Edited by a human"})
    assert patched.status_code == 200
    assert patched.json()["summary"] == "Edited by a human"
    assert http.get(url).json()["summary"] == "Edited by a human"
    classified = http.patch(url, json={"classifications": ["off-topic"], "interviewee_identifier": "x"})
    assert (classified.json()["classifications"], classified.json()["interviewee_identifier"]) == (
        ["off-topic"],
        "",
    ), "classifications is writable, interviewee_identifier read-only"
    unknown = http.patch(url, json={"classifications": ["short"]})
    assert unknown.json() == envelope(
        "validation_error", "invalid_choice", '"short" is not a valid choice.', "classifications__0"
    )
    deleted = http.delete(url)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert http.get(url).status_code == 404
    assert emulator.counts()["user_interviews"] == 0


def test_list_is_limit_offset_newest_first(emulator: Any) -> None:
    ids = [upload(emulator, f"audio {index}".encode()).json()["id"] for index in range(3)]
    page = session(emulator).get(api(emulator, "user_interviews/"), params={"limit": 2}).json()
    assert page["count"] == 3
    assert [item["id"] for item in page["results"]] == ids[::-1][:2]
    assert page["next"].endswith("?limit=2&offset=2")


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_read_only_key_cannot_change_interviews(emulator: Any, method: str) -> None:
    interview = upload(emulator).json()
    path = "user_interviews/" if method == "POST" else f"user_interviews/{interview['id']}/"
    response = session(emulator, emulator.read_only_key).request(method, api(emulator, path), json={})
    assert response.status_code == 403
    assert response.json()["detail"] == f"API key missing required scope '{WRITE_SCOPE}'"
