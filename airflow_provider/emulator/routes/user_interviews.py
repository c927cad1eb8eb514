"""``user_interviews/``: multipart upload of a recorded interview (docs/posthog-api.md sections 7.4 and 9.9).

Create needs ``multipart/form-data`` with an ``audio`` file: a JSON body parses but has no file, so
it is a 400 on ``audio``. It needs at least one valid ``interviewee_emails`` entry: without the field
PostHog's serializer ``create`` raises ``KeyError`` (a 500), and an empty value is DRF's ``[""]``,
refused as ``interviewee_emails__0`` ``blank``. The server writes the transcript, overwrites the
summary and derives ``classifications`` (none for an uploaded recording); ``interviewee_identifier``
and ``topic`` belong to PostHog's AI voice interviews and stay empty here. The audio is never
returned; DELETE is a hard 204.
Current PostHog names the scope ``user_interview``; an older version used
``user_interview_DO_NOT_USE``: either is accepted.
"""

from __future__ import annotations

from email.utils import parseaddr
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from airflow_provider.emulator import fields, interviews
from airflow_provider.emulator.access import admit, emulator_of
from airflow_provider.emulator.bodies import json_object, media_type
from airflow_provider.emulator.errors import not_found, server_error, unsupported_media_type, validation_error
from airflow_provider.emulator.pagination import limit_offset
from airflow_provider.emulator.routing import api_route
from airflow_provider.emulator.seed import stable_uuid, utc_now
from airflow_provider.emulator.timefmt import iso

READ_SCOPE = ("user_interview:read", "user_interview_DO_NOT_USE:read")
WRITE_SCOPE = ("user_interview:write", "user_interview_DO_NOT_USE:write")
EMAIL_MAX_LENGTH = 254
#: ``UserInterviewClassification`` choices; PostHog derives them only for its AI voice interviews.
CLASSIFICATIONS = ("abandoned", "off-topic")
#: Multipart fields that are lists (DRF's ``ListField`` reads every value of the field).
LIST_FIELDS = ("interviewee_emails", "classifications")
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
NOT_A_FILE = "The submitted data was not a file. Check the encoding type on the form."


async def list_user_interviews(request: Request) -> Response:
    """Interviews, newest first, limit/offset.

    :param request: the request.
    """
    await admit(request, READ_SCOPE)
    emulator = emulator_of(request)
    with emulator.state.lock:
        items = sorted(
            emulator.state.objects["user_interviews"].values(),
            key=lambda item: item["created_at"],
            reverse=True,
        )
    return JSONResponse(limit_offset(request, items))


async def create_user_interview(request: Request) -> Response:
    """Transcribe and summarise an uploaded interview (201).

    :param request: the request.
    """
    await admit(request, WRITE_SCOPE)
    kind = media_type(request)
    if kind == "application/json":
        await json_object(request)  # PostHog parses it, then finds no file
        raise validation_error("audio", "required", "No file was submitted.")
    if kind != "multipart/form-data":
        raise unsupported_media_type(kind)
    form = await request.form(max_part_size=MAX_UPLOAD_BYTES)
    request.state.form_fields = _loggable(form)
    # Validation first, in the serializer's field order: an empty value stays as DRF's [""].
    emails = _emails(form.getlist("interviewee_emails"))
    upload = form.get("audio")
    if upload is None:
        raise validation_error("audio", "required", "No file was submitted.")
    if not isinstance(upload, UploadFile):
        raise validation_error("audio", "invalid", NOT_A_FILE)
    audio = await upload.read()
    if not audio:
        raise validation_error("audio", "empty", "The submitted file is empty.")
    if "interviewee_emails" not in form:
        raise server_error()  # then create() reads validated_data["interviewee_emails"]: a KeyError
    emulator = emulator_of(request)
    now = utc_now()
    interview = {
        "id": stable_uuid("user_interview", now.timestamp(), upload.filename, len(audio)),
        "created_by": emulator.state.user,
        "created_at": iso(now),
        "interviewee_emails": emails,
        "interviewee_identifier": "",
        "topic": None,
        "transcript": interviews.transcript(audio, emails),
        "summary": interviews.summary(audio, emails),
        "classifications": [],
    }
    with emulator.state.lock:
        emulator.state.objects["user_interviews"][interview["id"]] = interview
    return JSONResponse(interview, status_code=201)


async def retrieve_user_interview(request: Request) -> Response:
    """One interview.

    :param request: the request.
    """
    await admit(request, READ_SCOPE)
    return JSONResponse(_find(request))


async def update_user_interview(request: Request) -> Response:
    """Change ``summary``, ``interviewee_emails`` or ``classifications`` (JSON or multipart).

    The read-only fields (``interviewee_identifier``, ``topic``, ``transcript``, ...) are ignored, as
    DRF ignores them.

    :param request: the request.
    """
    await admit(request, WRITE_SCOPE)
    interview = _find(request)
    if media_type(request) == "multipart/form-data":
        form = await request.form(max_part_size=MAX_UPLOAD_BYTES)
        request.state.form_fields = _loggable(form)
        body: dict[str, Any] = {key: form.get(key) for key in form if key not in LIST_FIELDS}
        for key in LIST_FIELDS:
            if key in form:
                body[key] = form.getlist(key)
    else:
        body = await json_object(request)
    changes: dict[str, Any] = {}
    if "interviewee_emails" in body:
        changes["interviewee_emails"] = _emails(
            fields.a_list("interviewee_emails", body["interviewee_emails"])
        )
    if "summary" in body:
        changes["summary"] = fields.string("summary", fields.get(body, "summary", is_required=False))
    if "classifications" in body:
        changes["classifications"] = [
            fields.choice(f"classifications__{index}", value, CLASSIFICATIONS)
            for index, value in enumerate(fields.a_list("classifications", body["classifications"]))
        ]
    with emulator_of(request).state.lock:
        interview.update(changes)
    return JSONResponse(interview)


async def destroy_user_interview(request: Request) -> Response:
    """Hard delete (204).

    :param request: the request.
    """
    await admit(request, WRITE_SCOPE)
    interview = _find(request)
    emulator = emulator_of(request)
    with emulator.state.lock:
        del emulator.state.objects["user_interviews"][interview["id"]]
    return Response(status_code=204)


def _find(request: Request) -> dict[str, Any]:
    interview: dict[str, Any] | None = (
        emulator_of(request).state.objects["user_interviews"].get(request.path_params["interview_id"])
    )
    if interview is None:
        raise not_found()
    return interview


def _emails(values: list[Any]) -> list[str]:
    emails = []
    for index, value in enumerate(values):
        text = fields.string(
            f"interviewee_emails__{index}", value, max_length=EMAIL_MAX_LENGTH, allow_blank=False
        )
        _, address = parseaddr(text)
        local, _, domain = address.partition("@")
        if not local or "." not in domain or " " in address:
            raise validation_error(f"interviewee_emails__{index}", "invalid", "Enter a valid email address.")
        emails.append(text)
    return emails


def _loggable(form: FormData) -> dict[str, Any]:
    """Form fields for the request log; files appear as their name, type and size."""
    logged: dict[str, list[Any]] = {}
    for key, value in form.multi_items():
        shown = (
            {"filename": value.filename, "content_type": value.content_type, "size": value.size}
            if isinstance(value, UploadFile)
            else value
        )
        logged.setdefault(key, []).append(shown)
    return {key: values[0] if len(values) == 1 else values for key, values in logged.items()}


routes = [
    api_route("/user_interviews", list_user_interviews, ["GET"]),
    api_route("/user_interviews", create_user_interview, ["POST"]),
    api_route("/user_interviews/{interview_id}", retrieve_user_interview, ["GET"]),
    api_route("/user_interviews/{interview_id}", update_user_interview, ["PATCH", "PUT"]),
    api_route("/user_interviews/{interview_id}", destroy_user_interview, ["DELETE"]),
]
