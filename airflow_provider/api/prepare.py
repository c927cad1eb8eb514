"""How to send it: the HTTP request of one configured client (URL, headers, query, timeouts, throttles).

:func:`build_request` turns an :class:`~airflow_provider.api.calls.ApiCall` into an
:class:`ApiRequest` that a transport can send as is. No I/O.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider import __version__
from airflow_provider.api.calls import ApiCall, Files, FormFields
from airflow_provider.api.config import ClientConfig, validate_project_id
from airflow_provider.api.errors import PostHogConfigError
from airflow_provider.api.query import encode_params
from airflow_provider.api.ratelimit import Bucket, buckets_for

USER_AGENT = f"airflow-provider-posthog/{__version__} python/{platform.python_version()}"


@dataclass(frozen=True)
class ApiRequest:
    """An HTTP request ready for a transport: everything decided, nothing sent.

    :param method: HTTP method.
    :param url: absolute URL without query.
    :param path: the URL's path, used in logs and errors (never the host's credentials or the query).
    :param params: encoded query parameters.
    :param headers: request headers, including ``Authorization`` (so never logged or shown).
    :param json: JSON body.
    :param form: multipart form fields.
    :param files: multipart files.
    :param connect_timeout: connect timeout in seconds.
    :param read_timeout: read timeout in seconds.
    :param verify: TLS verification flag or CA bundle path.
    :param idempotent: may be re-sent after a lost answer.
    :param rate_buckets: the PostHog throttles this request counts against.
    """

    method: str
    url: str
    path: str
    params: tuple[tuple[str, str], ...]
    headers: Mapping[str, str] = field(repr=False)
    json: Any = None
    form: FormFields | None = None
    files: Files | None = field(default=None, repr=False)
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    verify: bool | str = True
    idempotent: bool = True
    rate_buckets: tuple[Bucket, ...] = ()


def build_request(config: ClientConfig, call: ApiCall, project_id: str | int | None = None) -> ApiRequest:
    """Build the request for ``call`` in a project (``project_id`` or the client's default).

    :param config: the client's validated settings.
    :param call: what to send.
    :param project_id: overrides ``config.project_id`` for this call.
    """
    project = _resolve_project(config, project_id)
    relative = call.path.strip("/")
    relative = f"{relative}/" if relative else ""
    path = f"/api/{call.root}/{project}/{relative}"
    buckets = buckets_for(config.key_fingerprint, config.host, project, relative) if config.rate_limit else ()
    return ApiRequest(
        method=call.method,
        url=f"{config.host}{path}",
        path=path,
        params=encode_params(call.params or {}),
        headers=build_headers(config),
        json=call.json,
        form=call.form,
        files=call.files,
        connect_timeout=config.connect_timeout,
        read_timeout=max(config.timeout, call.read_timeout or 0.0),
        verify=config.verify,
        idempotent=call.is_idempotent,
        rate_buckets=buckets,
    )


def build_headers(config: ClientConfig) -> dict[str, str]:
    """Headers of every request: bearer auth, this provider's User-Agent, JSON answers.

    :param config: the client's settings (for the key).
    """
    return {
        "Authorization": f"Bearer {config.api_key}",
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
    }


def _resolve_project(config: ClientConfig, project_id: str | int | None) -> str:
    if project_id is not None:
        return validate_project_id(project_id, "project_id")
    if config.project_id is None:
        raise PostHogConfigError(
            "No PostHog project id: set the connection extra 'project_id' (the numeric id from "
            "Project settings) or pass project_id=... to the hook or the call."
        )
    return config.project_id
