"""Describing a request: what an endpoint call needs, and the HTTP request one client sends for it. No I/O.

An :class:`ApiCall` says what an endpoint needs (method, path under the project, body, paging,
whether a re-send is safe, the PostHog :class:`Throttle` it counts against, advice on its own error
answers), independent of host, key and project; :func:`build_request` turns it
into the :class:`ApiRequest` of one configured client (URL, headers, encoded query, timeouts, rate
buckets), which a transport sends as it is. :func:`encode_params` is the one encoding of values
into PostHog's query strings.
"""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from airflow_provider import __version__
from airflow_provider.api import limits
from airflow_provider.api.errors import PostHogConfigError

if TYPE_CHECKING:
    from airflow_provider.api.config import ClientConfig
    from airflow_provider.api.ratelimit import Bucket

USER_AGENT = "airflow-provider-posthog/{} python/{}.{}.{}".format(__version__, *sys.version_info[:3])
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})

FormFields = Mapping[str, str | list[str]]
Files = Mapping[str, tuple[str, bytes, str]]


class Paging(enum.Enum):
    """The paging styles PostHog uses."""

    NEXT_URL = "next_url"
    """limit/offset or cursor: follow the query of ``next`` until it is null (subscriptions,
    user interviews, data modeling jobs)."""
    PAGE_NUMBER = "page_number"
    """``page=1,2,...`` while ``next`` is set (saved queries, fixed page size)."""
    HAS_NEXT = "has_next"
    """``offset`` advanced by the items received while ``has_next`` is true (session recordings)."""


Rates = tuple[tuple[int, float], ...]
#: Endpoint-specific advice for an error answer: (the request, its status, PostHog's detail) → the
#: advice, or ``None`` to leave the answer to the generic advice of :mod:`airflow_provider.api.response`.
Advice = Callable[["ApiRequest", int, str], "str | None"]


@dataclass(frozen=True)
class Throttle:
    """A PostHog throttle an endpoint counts against (``docs/posthog-api.md`` §5).

    Every throttle is counted per personal API key and host; some also per project, or per object.

    :param scope: the throttle's name, e.g. ``default`` or ``saved_query_run``.
    :param rates: ``(requests, seconds)`` pairs that all apply (from :mod:`airflow_provider.api.limits`).
    :param per_project: counted separately for each project.
    :param object_id: counted separately for this object (a saved query's id); see :meth:`of`.
    """

    scope: str
    rates: Rates
    per_project: bool = False
    object_id: str | None = None

    def of(self, object_id: str) -> Throttle:
        """This throttle counted for one object only (PostHog keys it by project and object).

        :param object_id: the object's id, e.g. the saved query's UUID.
        """
        return replace(self, per_project=True, object_id=object_id)


#: PostHog's default for every viewset ("burst" + "sustained"), per key.
DEFAULT_THROTTLE = Throttle("default", limits.DEFAULT_RATES)


@dataclass(frozen=True, repr=False)
class ApiCall:
    """One PostHog endpoint call, independent of host, key and project: its whole declaration.

    :param method: HTTP method.
    :param path: path under the project's API prefix, ``/api/projects/:id/`` by default (see ``root``).
    :param params: query parameters; values are encoded by :func:`encode_params`.
    :param json: JSON body.
    :param form: multipart form fields (with ``files``).
    :param files: multipart files: field name → (file name, content, content type).
    :param idempotent: whether re-sending after a lost answer is safe; by default every method but
        POST is. Set it for POSTs the server de-duplicates (upsert by name, cached summaries).
    :param read_timeout: read timeout in seconds if the endpoint needs more than the client's default.
    :param root: ``None`` for the client's ``api_prefix`` (``/api/projects/:id/<path>``, or
        ``/api/environments/:id/<path>`` where a connection asks for the older alias); ``"projects"``
        for ``/api/projects/:id/<path>`` whatever the connection says (the project object itself,
        which every PostHog version serves there).
    :param paging: how the endpoint pages, for lists.
    :param throttle: the PostHog throttle the endpoint counts against.
    :param advice: what to do about this endpoint's own error answers (see :data:`Advice`).
    """

    method: str
    path: str
    _: KW_ONLY
    params: Mapping[str, Any] | None = None
    json: Any = None
    form: FormFields | None = None
    files: Files | None = None
    idempotent: bool | None = None
    read_timeout: float | None = None
    root: Literal["environments", "projects"] | None = None
    paging: Paging | None = None
    throttle: Throttle = DEFAULT_THROTTLE
    advice: Advice | None = None

    def __repr__(self) -> str:
        return f"ApiCall({self.method} {self.path!r}, params={self.params!r})"

    @property
    def is_idempotent(self) -> bool:
        """True when the request may be re-sent after its answer was lost."""
        return self.method in IDEMPOTENT_METHODS if self.idempotent is None else self.idempotent

    def with_params(self, params: Mapping[str, Any]) -> ApiCall:
        """The same call with other query parameters (the next page of a list).

        :param params: the new query parameters.
        """
        return replace(self, params=params)


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
    # Imported here: DAG files load this module through the hook's endpoints, and need neither.
    from airflow_provider.api.ratelimit import buckets_for

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
        from airflow_provider.api.config import require_project_id

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
