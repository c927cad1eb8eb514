"""``/_emulator/...``: the control API behind ``EmulatorClient``: faults, log, counts, config, scheduled
refreshes, reset.

Outside ``/api/``, so it is never logged, faulted or throttled, and it needs no key.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from airflow_provider.emulator.access import emulator_of


async def info(request: Request) -> Response:
    """Project id and the seeded keys (demo keys, not secrets), so a client in another process can connect.

    :param request: the request.
    """
    emulator = emulator_of(request)
    return JSONResponse(
        {
            "project_id": emulator.project_id,
            "api_key": emulator.api_key,
            "read_only_key": emulator.read_only_key,
            "recordings_only_key": emulator.recordings_only_key,
        }
    )


async def faults(request: Request) -> Response:
    """``GET`` pending faults, ``POST`` add one, ``DELETE`` clear them.

    :param request: the request.
    """
    emulator = emulator_of(request)
    if request.method == "POST":
        return _guarded(lambda spec: emulator.add_fault(**spec), await request.json())
    if request.method == "DELETE":
        emulator.faults.clear()
    return JSONResponse(emulator.faults.pending())


async def requests_log(request: Request) -> Response:
    """The request log, filtered by ``method`` and ``path`` (a regular expression).

    :param request: the request.
    """
    query = request.query_params
    return JSONResponse(emulator_of(request).log.select(query.get("method"), query.get("path")))


async def counts(request: Request) -> Response:
    """Live object counts.

    :param request: the request.
    """
    return JSONResponse(emulator_of(request).counts())


async def summary_generations(request: Request) -> Response:
    """How often each (session, focus area) was summarised (cache hits excluded).

    :param request: the request.
    """
    state = emulator_of(request).state
    with state.lock:
        return JSONResponse(dict(state.summary_generations))


async def config(request: Request) -> Response:
    """``GET`` the settings, ``POST`` change some.

    :param request: the request.
    """
    emulator = emulator_of(request)
    if request.method == "POST":
        return _guarded(lambda overrides: emulator.configure(**overrides), await request.json())
    return JSONResponse(emulator.config.as_dict())


async def scheduled_refresh(request: Request) -> Response:
    """``POST {"name": <view>, "outcome": "Completed"}``: a materialized view's scheduled refresh, now.

    :param request: the request.
    """
    emulator = emulator_of(request)
    return _guarded(lambda body: emulator.refresh_on_schedule(**body), await request.json())


async def preempt(request: Request) -> Response:
    """``POST {"name": <view>}``: a new run of the view's DAG preempts the view's running job.

    :param request: the request.
    """
    emulator = emulator_of(request)
    return _guarded(lambda body: emulator.preempt(**body), await request.json())


async def reset(request: Request) -> Response:
    """Back to the seed with default settings, no faults and an empty log.

    :param request: the request.
    """
    emulator_of(request).reset()
    return Response(status_code=204)


def _guarded(action: Any, payload: Any) -> Response:
    if not isinstance(payload, dict):
        return JSONResponse({"error": "expected a JSON object"}, status_code=400)
    try:
        return JSONResponse(action(payload))
    except (TypeError, ValueError) as error:
        return JSONResponse({"error": str(error)}, status_code=400)


routes = [
    Route("/_emulator/info", info, methods=["GET"]),
    Route("/_emulator/faults", faults, methods=["GET", "POST", "DELETE"]),
    Route("/_emulator/requests", requests_log, methods=["GET"]),
    Route("/_emulator/counts", counts, methods=["GET"]),
    Route("/_emulator/summary_generations", summary_generations, methods=["GET"]),
    Route("/_emulator/config", config, methods=["GET", "POST"]),
    Route("/_emulator/scheduled_refresh", scheduled_refresh, methods=["POST"]),
    Route("/_emulator/preempt", preempt, methods=["POST"]),
    Route("/_emulator/reset", reset, methods=["POST"]),
]
