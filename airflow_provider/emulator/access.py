"""Who may do what: personal API key lookup, project check, scopes and throttles, in DRF's order.

docs/posthog-api.md sections 2, 3 and 5: authentication (401), project (404), scope (403), throttle (429).
"""

from __future__ import annotations

import hashlib
import re

from starlette.requests import Request

from .bodies import json_body, media_type
from .errors import WWW_AUTHENTICATE, APIError, not_found, permission_denied, throttled
from .runtime import Emulator
from .throttle import DEFAULT_CLASSES

_BEARER = re.compile(r"^Bearer\s+(\S.+)$")
NO_PERSONAL_KEY_ACCESS = "This action does not support personal API key access"


def emulator_of(request: Request) -> Emulator:
    """The emulator instance serving this request.

    :param request: the request.
    """
    emulator: Emulator = request.app.state.emulator
    return emulator


async def admit(
    request: Request,
    scope: str | tuple[str, ...] | None,
    throttle_scopes: tuple[str, ...] = DEFAULT_CLASSES,
    throttle_bucket: str | None = None,
) -> str:
    """Let a request in or raise PostHog's answer.

    :param request: the request.
    :param scope: the scope the action needs, e.g. ``subscription:write``; several when PostHog's
        versions named it differently (any one is enough, the first is named in the error); ``None``
        for actions a personal API key may not call at all.
    :param throttle_scopes: throttle scopes of the view.
    :param throttle_bucket: who the throttle counts (e.g. a saved query for per-view throttles);
        the key by default.
    :returns: the key that was used.
    :raises APIError: 401, 404 (project), 403 or 429.
    """
    emulator = emulator_of(request)
    key = await _authenticate(request, emulator)
    _check_project(request, emulator)
    if scope is None:
        raise permission_denied(NO_PERSONAL_KEY_ACCESS)
    accepted = (scope,) if isinstance(scope, str) else scope
    if not any(has_scope(emulator.state.seed.keys[key], name) for name in accepted):
        raise permission_denied(f"API key missing required scope '{accepted[0]}'")
    config = emulator.config
    if config.throttle:
        bucket = throttle_bucket or hashlib.sha256(key.encode()).hexdigest()
        wait = emulator.throttle.check(throttle_scopes, bucket, config.throttle_rates, config.time_scale)
        if wait is not None:
            raise throttled(wait)
    return key


def has_scope(granted: list[str], needed: str) -> bool:
    """Whether ``granted`` covers ``needed`` (``*`` covers everything, ``x:write`` covers ``x:read``).

    :param granted: the key's scopes.
    :param needed: the scope the action needs.
    """
    if "*" in granted or needed in granted:
        return True
    return needed.endswith(":read") and needed.removesuffix(":read") + ":write" in granted


async def _authenticate(request: Request, emulator: Emulator) -> str:
    header = request.headers.get("authorization", "")
    match = _BEARER.match(header)
    key, source = (match.group(1).strip(), "Authorization header") if match else (None, "")
    if key is None and media_type(request) == "application/json":
        try:
            body = await json_body(request)
        except APIError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("personal_api_key"), str):
            key, source = body["personal_api_key"], "body"
    if key is None and "personal_api_key" in request.query_params:
        key, source = request.query_params["personal_api_key"], "query string"
    if key is None:
        raise _unauthenticated(request, "not_authenticated", "Authentication credentials were not provided.")
    if key not in emulator.state.seed.keys:
        raise _unauthenticated(
            request, "authentication_failed", f"Personal API key found in request {source} is invalid."
        )
    return key


def _unauthenticated(request: Request, code: str, detail: str) -> APIError:
    site = f"{request.url.scheme}://{request.url.netloc}"
    return APIError(401, code, detail, headers={"WWW-Authenticate": WWW_AUTHENTICATE.format(site=site)})


def _check_project(request: Request, emulator: Emulator) -> None:
    project = request.path_params.get("project_id")
    if project is None or project == "@current":
        return
    if not project.isdigit() or int(project) != emulator.project_id:
        raise not_found("Project not found.")
