"""``GET /api/projects/{id}/``: the project a key can see (what a connection test reads)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from airflow_provider.emulator.access import admit, emulator_of
from airflow_provider.emulator.routing import api_route


async def retrieve_project(request: Request) -> Response:
    """The seeded project.

    :param request: the request.
    """
    await admit(request, "project:read")
    return JSONResponse(emulator_of(request).state.seed.project)


routes = [api_route("", retrieve_project, ["GET"])]
