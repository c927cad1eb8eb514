"""Reading request bodies the way DRF's parsers do (JSON, or multipart where a view allows it)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from .errors import APIError, unsupported_media_type

_NO_BODY = object()


def media_type(request: Request) -> str:
    """The request's media type without parameters, e.g. ``application/json``.

    :param request: the request.
    """
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def json_body(request: Request) -> Any:
    """The parsed JSON body (``{}`` when empty), read once per request.

    :param request: the request.
    :raises APIError: 415 for a non-JSON body, 400 ``parse_error`` for broken JSON.
    """
    cached = getattr(request.state, "json_body", _NO_BODY)
    if cached is not _NO_BODY:
        return cached
    raw = await request.body()
    if not raw.strip():
        parsed: Any = {}
    else:
        kind = media_type(request)
        if kind != "application/json" and not kind.endswith("+json"):
            raise unsupported_media_type(kind or "")
        try:
            parsed = json.loads(raw)
        except ValueError as error:
            raise APIError(
                400, "parse_error", f"JSON parse error - {error}", error_type="invalid_request"
            ) from error
    request.state.json_body = parsed
    return parsed


async def json_object(request: Request) -> dict[str, Any]:
    """The JSON body, which must be an object (DRF's serializer rule).

    :param request: the request.
    :raises APIError: 400 ``invalid_input`` when the body is a list or scalar.
    """
    body = await json_body(request)
    if not isinstance(body, dict):
        raise APIError(400, "invalid", f"Invalid data. Expected a dictionary, but got {type(body).__name__}.")
    return body
