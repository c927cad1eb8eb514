"""The Starlette application: routes of every area, PostHog's error envelope for every error.

Every route is a plain Starlette ``Route`` (:mod:`.routing`) and errors go through Starlette's own
exception handlers, so the app needs nothing of FastAPI.
"""

from __future__ import annotations

import importlib.util

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from .errors import APIError, RawResponse, method_not_allowed, not_found, server_error
from .middleware import EmulatorMiddleware
from .routes import (
    control,
    projects,
    saved_queries,
    session_recordings,
    session_summaries,
    sessions,
    stored_summaries,
    subscriptions,
    user_interviews,
)
from .runtime import Emulator

#: What to install when the emulator's own dependencies are missing.
MISSING_EXTRA = (
    "The PostHog emulator needs python-multipart (for interview uploads), which the provider's "
    "[emulator] extra installs: pip install 'airflow-provider-posthog[emulator]'"
)


def require_emulator_extra() -> None:
    """Fail at start-up, not at the first upload, when the ``[emulator]`` extra is not installed.

    :raises ImportError: with :data:`MISSING_EXTRA`.
    """
    # Starlette parses forms with python-multipart (module ``python_multipart``; ``multipart`` before 0.0.13).
    if importlib.util.find_spec("python_multipart") is None and importlib.util.find_spec("multipart") is None:
        raise ImportError(MISSING_EXTRA)


def create_app(emulator: Emulator) -> ASGIApp:
    """The ASGI application serving ``emulator``.

    :param emulator: the state, config, faults and log to serve.
    :raises ImportError: when the ``[emulator]`` extra is not installed.
    """
    require_emulator_extra()
    areas = (
        projects,
        session_summaries,
        stored_summaries,
        session_recordings,
        sessions,
        subscriptions,
        user_interviews,
        saved_queries,
        control,
    )
    app = Starlette(
        routes=[route for area in areas for route in area.routes],
        exception_handlers={
            APIError: _api_error,
            RawResponse: _raw_response,
            HTTPException: _http_exception,
            Exception: _unhandled,
        },
    )
    app.state.emulator = emulator
    return EmulatorMiddleware(app, emulator)


async def _api_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, APIError)
    return error.response()


async def _raw_response(request: Request, error: Exception) -> Response:
    assert isinstance(error, RawResponse)
    return error.response


async def _http_exception(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 405:
        return method_not_allowed(request.method).response()
    if error.status_code == 404:
        return not_found().response()
    return APIError(error.status_code, "error", str(error.detail)).response()


async def _unhandled(request: Request, error: Exception) -> Response:
    return server_error().response()
