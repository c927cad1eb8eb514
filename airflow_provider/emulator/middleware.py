"""The outermost ASGI layer for ``/api/`` requests: the request log, injected faults, PostHog's answers
to the ``/api/environments/`` alias (deprecation headers, or a 307 in ``environments_redirect`` mode,
see :mod:`.routing`) and state saving.

It sits outside the Starlette app so a ``drop`` can close the socket before anything is answered, and so an
``after_processing`` fault can swallow the real answer after the work was done.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import DATABASE_UNAVAILABLE, GATEWAY_REASONS, APIError, gateway_response, not_found, throttled
from .faults import Fault
from .routing import deprecation_headers, missing_while_redirecting, successor_of
from .runtime import Emulator

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MALFORMED_BODY = b'{"count": 1, "results": [{"id": '
_FAULT_ERRORS = {
    400: ("invalid_input", "Bad request."),
    401: ("authentication_failed", "Personal API key found in request Authorization header is invalid."),
    # PostHog's QuotaLimitExceeded / EnterpriseFeatureException (a custom APIException: type server_error).
    402: ("quota_limit_exceeded", "Your organization has exceeded its quota for this feature."),
    403: ("permission_denied", "You do not have permission to perform this action."),
    404: ("not_found", "Not found."),
    409: ("conflict", "Conflict."),
}


class EmulatorMiddleware:
    """Logs every ``/api/`` request, applies the first matching fault, and saves state after changes.

    :param app: the Starlette application.
    :param emulator: the emulator instance.
    """

    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        entry: dict[str, Any] = {
            "method": method,
            "path": scope["path"],
            "query": dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)),
            "body": None,
            "status": None,
            "auth_present": any(name == b"authorization" for name, _ in scope["headers"]),
            "time": time.time(),
            "fault": None,
        }
        body = await _read_body(scope, receive)
        replayed = False

        async def replay_body() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        fault = self.emulator.faults.take(method, scope["path"])
        try:
            if fault is None:
                entry["status"] = await self._process(scope, replay_body, send)
            else:
                entry["fault"] = fault.kind
                entry["status"] = await self._misbehave(fault, scope, replay_body, send)
        finally:
            entry["body"] = _logged_body(scope, body)
            self.emulator.log.add(entry)

    async def _process(self, scope: Scope, receive: Receive, send: Send) -> int:
        redirecting = self.emulator.config.environments_redirect
        if redirecting and missing_while_redirecting(scope["path"]):
            return await _answer(not_found().response(), scope, receive, send)
        successor = successor_of(scope["path"], scope["query_string"].decode("latin-1"), redirecting)
        alias_headers = deprecation_headers(successor) if successor is not None else {}
        if successor is not None and redirecting:
            # PostHog's EnvironmentsRedirectMiddleware: a relative Location, query string kept, before
            # any view (so before authentication) and whatever the method.
            redirect = Response(status_code=307, headers={**alias_headers, "Location": successor})
            return await _answer(redirect, scope, receive, send)
        extra_headers = [(name.lower().encode(), value.encode()) for name, value in alias_headers.items()]
        status = 0

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if extra_headers:
                    message = {**message, "headers": [*message.get("headers", []), *extra_headers]}
            await send(message)

        await self.app(scope, receive, send_and_note)
        self._save_if_changed(scope["method"], status)
        return status

    async def _misbehave(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> int | None:
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.kind == "delay":
            return await self._process(scope, receive, send)
        if fault.kind == "drop":
            await _drop_connection(send)
            return None
        if fault.kind == "malformed":
            await Response(MALFORMED_BODY, 200, media_type="application/json")(scope, receive, send)
            return 200
        if fault.kind == "after_processing":
            await self._process(scope, receive, _discard)
            if fault.status is None:
                await _drop_connection(send)
                return None
        response = _fault_response(fault)
        await response(scope, receive, send)
        return response.status_code

    def _save_if_changed(self, method: str, status: int) -> None:
        if method not in _SAFE_METHODS and status < 400:
            self.emulator.state.save()


def _fault_response(fault: Fault) -> Response:
    status = fault.status or 502
    headers = {"Retry-After": str(math.ceil(fault.retry_after))} if fault.retry_after is not None else {}
    if status in GATEWAY_REASONS:
        return gateway_response(status, headers)
    if status == 429:
        error = throttled(fault.retry_after)
    elif status == 503:
        error = APIError(503, "database_unavailable", DATABASE_UNAVAILABLE)
    else:
        code, detail = _FAULT_ERRORS.get(status, ("error", "A server error occurred."))
        error = APIError(status, code, detail)
    error.headers.update(headers)
    return error.response()


async def _answer(response: Response, scope: Scope, receive: Receive, send: Send) -> int:
    await response(scope, receive, send)
    return response.status_code


async def _discard(message: Message) -> None:
    """A ``send`` that throws the answer away (the work is done, the client never sees it)."""


async def _read_body(scope: Scope, receive: Receive) -> bytes:
    """The whole request body, read before the app runs so the log has it whatever the app does."""
    headers = dict(scope["headers"])
    if b"content-length" not in headers and b"transfer-encoding" not in headers:
        return b""
    chunks = []
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _drop_connection(send: Send) -> None:
    """Close the client's socket without an HTTP answer.

    uvicorn hands the app its ``RequestResponseCycle.send``; the cycle owns the transport. Closing it
    and yielding once lets uvicorn see the disconnect, so it does not try to answer 500 either.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionAbortedError("the emulator cannot reach the connection to drop it")
    transport.close()
    for _ in range(3):
        await asyncio.sleep(0)


def _logged_body(scope: Scope, raw: bytes) -> Any:
    form = scope.get("state", {}).get("form_fields")
    if form is not None:
        return form
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")
