"""The HTTP request one configured client sends for an endpoint call. No I/O.

:func:`build_request` turns an :class:`~airflow_provider.api.call.ApiCall` into the
:class:`ApiRequest` of one configured client (URL, headers, encoded query, timeouts, rate buckets),
which a transport sends as it is. :func:`encode_params` is the one encoding of values into PostHog's
query strings.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from airflow_provider import __version__
from airflow_provider.api.call import Advice, ApiCall, Files, FormFields
from airflow_provider.api.connection_fields import require_project_id
from airflow_provider.api.errors import PostHogConfigError
from airflow_provider.api.ratelimit import Bucket, buckets_for

if TYPE_CHECKING:
    from airflow_provider.api.config import ClientConfig

USER_AGENT = "airflow-provider-posthog/{} python/{}.{}.{}".format(__version__, *sys.version_info[:3])


@dataclass(frozen=True, repr=False)
class ApiRequest:
    """An HTTP request ready for a transport: everything decided, nothing sent.

    Its ``repr`` leaves out the headers (they hold the key) and the files.

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
    :param rate_buckets: the PostHog throttles this request counts against, for the rate limiter.
    :param advice: the endpoint's own advice on error answers, for the error reader.
    """

    method: str
    url: str
    path: str
    params: tuple[tuple[str, str], ...]
    headers: Mapping[str, str]
    _: KW_ONLY
    json: Any = None
    form: FormFields | None = None
    files: Files | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    verify: bool | str = True
    idempotent: bool = True
    rate_buckets: tuple[Bucket, ...] = ()
    advice: Advice | None = None

    def __repr__(self) -> str:
        return f"ApiRequest({self.method} {self.url!r}, params={self.params!r})"


def build_request(config: ClientConfig, call: ApiCall, project_id: str | int | None = None) -> ApiRequest:
    """Build the request for ``call`` in a project (``project_id`` or the client's default).

    :param config: the client's validated settings.
    :param call: what to send.
    :param project_id: overrides ``config.project_id`` for this call.
    """
    project = _resolve_project(config, project_id)
    relative = call.path.strip("/")
    relative = f"{relative}/" if relative else ""
    path = f"/api/{call.root or config.api_prefix}/{project}/{relative}"
    # A shared store holds the key's whole budget for every process; without one, this process's share.
    share = 1.0 if config.rate_limit_store else config.rate_limit_share
    buckets = (
        buckets_for(call.throttle, config.key_fingerprint, config.host, project, share)
        if config.rate_limit
        else ()
    )
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
        advice=call.advice,
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
        return require_project_id("project_id", project_id)
    if config.project_id is None:
        raise PostHogConfigError(
            "No PostHog project id: set the connection extra 'project_id' (the numeric id from "
            "Project settings) or pass project_id=... to the hook or the call."
        )
    return config.project_id


def encode_params(params: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """Encode query parameters the way PostHog reads them.

    ``None`` is left out; booleans become ``true``/``false``; lists and dicts travel as one JSON
    value (PostHog's recordings list ``json.loads`` each value); datetimes go as ISO 8601 with their
    UTC offset, and must have one.

    :param params: parameter name → value.
    """
    encoded: list[tuple[str, str]] = []
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, datetime):
            if value.utcoffset() is None:
                raise PostHogConfigError(
                    f"{name} must be a timezone-aware datetime (PostHog needs the UTC offset), got {value!r}."
                )
            text = value.isoformat()
        elif isinstance(value, date):
            text = value.isoformat()
        elif isinstance(value, list | tuple | dict):
            text = json.dumps(value)
        else:
            text = str(value)
        encoded.append((name, text))
    return tuple(encoded)
