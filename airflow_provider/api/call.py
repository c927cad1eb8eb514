"""Declaring an endpoint call: what it needs, independent of host, key and project. No I/O.

An :class:`ApiCall` is one endpoint's whole declaration (method, path under the project, body,
paging, whether a re-send is safe, the PostHog :class:`Throttle` it counts against, advice on its own
error answers); :mod:`airflow_provider.api.endpoints` builds them, and
:func:`airflow_provider.api.request.build_request` turns one into the request a configured client sends.
DAG files load this module through the hook; the request side loads when a request is first built.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from airflow_provider.api import limits

if TYPE_CHECKING:
    from airflow_provider.api.request import ApiRequest

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
    :param params: query parameters; values are encoded by
        :func:`~airflow_provider.api.request.encode_params`.
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
