"""Reading answers: what a transport hands back, JSON bodies, and PostHog's errors as exceptions.

A transport returns an :data:`Outcome`: a :class:`RawResponse`, or a :class:`TransportFailure` that
says how sending failed (which decides whether a re-send could duplicate anything).
:func:`decode_json` reads success bodies; :func:`error_from_response` turns error answers into
actionable exceptions. PostHog's errors use the envelope ``{"type", "code", "detail", "attr"}``
(``docs/posthog-api.md``, "Errors"), but some endpoints answer ``{"error": ...}``, ``{"detail": ...}``,
an empty body (subscription DELETE's 405) and proxies answer HTML; every shape gives a clear error.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from airflow_provider.api.errors import (
    PostHogAPIError,
    PostHogAuthenticationError,
    PostHogNotFoundError,
    PostHogPaymentRequiredError,
    PostHogPermissionError,
    PostHogRateLimitError,
    PostHogServerError,
    PostHogValidationError,
)
from airflow_provider.api.limits import EU_HOST, US_HOST
from airflow_provider.api.redirects import FOLLOWED_STATUSES, MAX_REDIRECTS, redirect_location, same_origin
from airflow_provider.api.request import ApiRequest


class FailureKind(enum.Enum):
    """How sending a request failed; decides whether a re-send can duplicate anything."""

    CONNECT = "could not connect"
    """Nothing was sent (refused, DNS failure, unreachable): always safe to retry."""
    CONNECT_TIMEOUT = "connect timed out"
    """Nothing was sent: always safe to retry."""
    READ_TIMEOUT = "read timed out"
    """Sent, no answer in time: PostHog may have processed it."""
    DROPPED = "connection dropped"
    """Sent, connection closed before a complete answer: PostHog may have processed it."""
    UNREADABLE = "answer unreadable"
    """A success status with a body that is not JSON (truncated, or from a proxy): it was processed."""
    TLS = "TLS handshake failed"
    """Certificate or TLS error: retrying cannot help."""

    @property
    def request_was_sent(self) -> bool:
        """True when PostHog may have received and processed the request."""
        return self in (FailureKind.READ_TIMEOUT, FailureKind.DROPPED, FailureKind.UNREADABLE)


@dataclass(frozen=True)
class RawResponse:
    """An HTTP answer as received.

    :param status: HTTP status code.
    :param headers: headers with lower-case names.
    :param body: the raw body.
    """

    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class TransportFailure:
    """Sending failed before a complete answer arrived.

    :param kind: what failed.
    :param detail: the underlying error's text, for messages (no headers, no key).
    """

    kind: FailureKind
    detail: str


Outcome = RawResponse | TransportFailure


_SNIPPET_LENGTH = 200
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_MISSING_SCOPE = re.compile(r"missing required scope '([^']+)'")


class NotJSONError(ValueError):
    """A success answer whose body is not JSON (truncated, or from a proxy)."""


def decode_json(response: RawResponse) -> Any:
    """Return the JSON body of a success answer, ``None`` for an empty body.

    :param response: the answer.
    :raises NotJSONError: the body is not valid JSON.
    """
    if not response.body.strip():
        return None
    try:
        return json.loads(response.body)
    except ValueError as exc:
        raise NotJSONError(
            f"answered {response.status} with a body that is not JSON: {_snippet(response)}"
        ) from exc


def error_from_response(request: ApiRequest, response: RawResponse, *, retries: int = 0) -> PostHogAPIError:
    """Build the exception for an error answer, with PostHog's fields and what to do about it.

    :param request: the request that was answered.
    :param response: the error answer.
    :param retries: how many retries were made before giving up, for the message.
    """
    type_, code, detail, attr = _parse_error_body(response)
    status = response.status
    detail = redact(detail, request)
    if not detail:
        detail = _status_phrase(status)
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    text = f"PostHog answered {status} to {request.method} {request.path}: {detail or 'no details'}"
    if code:
        text += f" (code '{code}'{f', field {attr!r}' if attr else ''})"
    text += f". {_advice(request, response, detail, attr, retry_after)}"
    if retries:
        text += f" Gave up after {retries} {'retry' if retries == 1 else 'retries'}."
    return _error_class(status)(
        text,
        status=status,
        type=type_,
        code=code,
        detail=detail,
        attr=attr,
        method=request.method,
        path=request.path,
        retry_after=retry_after,
    )


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP date; ``None`` if unusable.

    :param value: the header's value, ``None`` when absent.
    :param now: the current time for HTTP dates (default: now, UTC).
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def _parse_error_body(response: RawResponse) -> tuple[str | None, str | None, str, str | None]:
    text = response.body.decode("utf-8", "replace").strip()
    if not text:
        return None, None, "", None
    try:
        data = json.loads(text)
    except ValueError:
        content_type = response.headers.get("content-type", "no content type")
        return None, None, f"the answer is not JSON ({content_type}): {_snippet(response)}", None
    if isinstance(data, dict):
        if "type" in data or "detail" in data:
            attr = data.get("attr")
            code = data.get("code")
            return (
                _optional_text(data.get("type")),
                _optional_text(code),
                _as_text(data.get("detail")),
                _optional_text(attr),
            )
        if "error" in data:
            return None, None, _as_text(data["error"]), None
        if data:
            # A raw DRF validation body: {"field": ["message", ...]}; report the first, as PostHog does.
            field, messages = next(iter(data.items()))
            return None, None, _as_text(messages), str(field)
    return None, None, _as_text(data), None


def _advice(
    request: ApiRequest, response: RawResponse, detail: str, attr: str | None, retry_after: float | None
) -> str:
    status = response.status
    host = request.url[: len(request.url) - len(request.path)]
    if status == 401:
        return (
            f"The personal API key was rejected by {host}. A key works only in the PostHog region it was "
            f"made in (US: {US_HOST}, EU: {EU_HOST}): check that the connection's host matches the key's "
            "region, and that its password is a current personal API key (phx_...), not a project key."
        )
    if status == 429:
        wait = f"; it asked to wait {retry_after:g} s" if retry_after is not None else ""
        return (
            f"PostHog throttled this API key{wait}. Lower the request rate (an Airflow pool shared by the "
            "tasks that use this key keeps them under PostHog's limits) or retry later."
        )
    if status >= 500:
        return "PostHog, or a proxy in front of it, failed: retry later; if it persists see https://status.posthog.com."
    if 300 <= status < 400:
        return _redirect_advice(request, response)
    # What the endpoint's declaration knows about its own refusals comes before the generic advice.
    specific = request.advice(request, status, detail) if request.advice is not None else None
    if specific:
        return specific
    if status == 402:
        return (
            "PostHog refused this because of the organisation's plan or quota (billing), not because of the "
            "request: retrying will not help. Check Billing in PostHog, or raise the limit of this feature."
        )
    if status == 403:
        return permission_advice(detail)
    if status == 404:
        if is_project_not_found(detail):
            return (
                "Check the project_id (PostHog → Project settings → Project ID) and that the key's user "
                "belongs to that project."
            )
        return "The object does not exist in this project (or was deleted): check the id and the project_id."
    if status == 405:
        soft_delete = ' For objects PostHog soft-deletes, PATCH {"deleted": true} instead.'
        return f"PostHog does not allow {request.method} on this endpoint." + (
            soft_delete if request.method == "DELETE" else ""
        )
    if attr:
        return f"Fix the field '{attr}' of the request."
    return "Fix the request before retrying."


def _redirect_advice(request: ApiRequest, response: RawResponse) -> str:
    # Called for redirects the exchange did not follow (see airflow_provider.api.redirects): say why.
    status = response.status
    target = redirect_location(request, response)
    if target is None:
        return "PostHog answered a redirect without a Location: check the connection's host."
    target = redact(target, request)
    parts = urlsplit(target)
    prefix_end = parts.path.find("/api/")
    base = f"{parts.scheme}://{parts.netloc}{parts.path[:prefix_end] if prefix_end > 0 else ''}"
    if not same_origin(request.url, target):
        return (
            f"PostHog redirected to {base}, another host or scheme. A redirect there is never followed, so "
            f"the API key is not sent to it. If PostHog lives there now, set the connection's host to {base}."
        )
    if status in FOLLOWED_STATUSES and request.idempotent:
        return (
            f"PostHog kept redirecting (more than {MAX_REDIRECTS} times, last to {parts.path}): check the "
            "connection's host, or the proxy in front of PostHog."
        )
    if status in FOLLOWED_STATUSES:
        why = (
            f"This request creates something, so it was not re-sent to {parts.path}: a create goes to "
            "the right address or nowhere."
        )
    else:
        why = (
            f"A {status} is not followed (clients may turn it into a GET without a body); only 307 and "
            "308 are."
        )
    if request.path.startswith("/api/environments/") and parts.path.startswith("/api/projects/"):
        return (
            f"PostHog sends the deprecated /api/environments/ prefix on to /api/projects/. {why} Set the "
            "connection extra 'api_prefix' to 'projects' (the default), or remove it, so every call "
            "goes to /api/projects/ directly."
        )
    return f"PostHog moved this address to {parts.path}. {why} Set the connection's host to {base}."


def names_scope_or_project(detail: str) -> bool:
    """Whether a 403 says which scope or project is missing: advice about the key, not the version.

    :param detail: PostHog's ``detail``.
    """
    lowered = detail.lower()
    return bool(_MISSING_SCOPE.search(detail)) or ("access to the" in lowered and "project" in lowered)


def is_project_not_found(detail: str) -> bool:
    """Whether a 404 is about the project rather than the object asked for.

    :param detail: PostHog's ``detail``.
    """
    return "project not found" in detail.lower()


def permission_advice(detail: str) -> str:
    """What to do about a 403: the scope to add, or the project access to allow.

    :param detail: PostHog's ``detail``.
    """
    scope = _MISSING_SCOPE.search(detail)
    lowered = detail.lower()
    if scope:
        return (
            f"Add the scope '{scope[1]}' to the personal API key (PostHog → Settings → Personal API keys → "
            "edit the key), or use a key that has it."
        )
    if "access to the requested project" in lowered or "access to the project" in lowered:
        return (
            "The key cannot access this project: allow it in the key's project access, or fix the project_id."
        )
    if "does not support personal api key" in lowered:
        return "PostHog does not allow this action with a personal API key."
    if "does not allow using personal api keys" in lowered:
        return "An organization admin must allow personal API keys for this organization."
    return "Check the key's scopes and its user's access to this project."


def _error_class(status: int) -> type[PostHogAPIError]:
    if status == 401:
        return PostHogAuthenticationError
    if status == 403:
        return PostHogPermissionError
    if status == 402:
        return PostHogPaymentRequiredError
    if status == 404:
        return PostHogNotFoundError
    if status == 429:
        return PostHogRateLimitError
    if status >= 500:
        return PostHogServerError
    if status >= 400:
        return PostHogValidationError
    return PostHogAPIError


def _status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def redact(text: str, request: ApiRequest) -> str:
    """``text`` with the request's API key replaced, for anything that came back from the network.

    :param text: text that could echo the key.
    :param request: the request whose ``Authorization`` header holds the key.
    """
    key = request.headers.get("Authorization", "").removeprefix("Bearer ")
    return text.replace(key, "***") if key else text


def _snippet(response: RawResponse) -> str:
    text = response.body.decode("utf-8", "replace")
    text = _SPACE.sub(" ", _TAG.sub(" ", text)).strip()
    return text[:_SNIPPET_LENGTH] + ("…" if len(text) > _SNIPPET_LENGTH else "")


def _as_text(value: object) -> str:
    if isinstance(value, list):
        return "; ".join(_as_text(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return "" if value is None else str(value)


def _optional_text(value: object) -> str | None:
    return None if value is None else str(value)
