"""Which redirects the client follows, and the request it sends next. No I/O.

Transports never follow redirects themselves (``allow_redirects=False``): the decision is taken here,
once for the sync and the async client. A 307 or 308 is followed when its ``Location`` has the same
scheme, host and port as the request (so the ``Authorization`` header, which holds the key, goes
nowhere else) and the request is safe to re-send (:attr:`ApiRequest.idempotent`), for at most
:data:`MAX_REDIRECTS` hops. PostHog itself answered such 307s for a while, from
``/api/environments/:id/…`` to ``/api/projects/:id/…`` (``docs/posthog-api.md`` §1).

Not followed, and so raised with advice by :func:`.response.error_from_response`: a redirect to another
host or scheme (the key must never travel there), a 307/308 of a request that creates something
(it is not re-sent: a create goes to the right address or not at all), and 301, 302 and 303, which
let clients turn a POST into a GET and which, in front of PostHog, come from a moved host or a proxy
whose address belongs in the connection instead.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urljoin, urlsplit

from airflow_provider.api.request import ApiRequest

if TYPE_CHECKING:
    from airflow_provider.api.response import RawResponse

FOLLOWED_STATUSES = frozenset({307, 308})
#: Most redirects followed for one request; more is a loop (or a misconfigured proxy).
MAX_REDIRECTS = 3
_DEFAULT_PORTS = {"http": 80, "https": 443}


def redirect_location(request: ApiRequest, response: RawResponse) -> str | None:
    """The absolute URL a redirect points to (a relative ``Location`` resolved against the request).

    :param request: the request that was redirected.
    :param response: its 3xx answer.
    :returns: the URL, or ``None`` when the answer has no ``Location``.
    """
    location = response.headers.get("location", "").strip()
    return urljoin(request.url, location) if location else None


def same_origin(url: str, other: str) -> bool:
    """True when both URLs have the same scheme, host and port (default ports filled in).

    :param url: one absolute URL.
    :param other: the other.
    """
    return _origin(url) == _origin(other)


def follow_redirect(request: ApiRequest, response: RawResponse, hops: int) -> ApiRequest | None:
    """The request to send next for a redirect answer, or ``None`` when it must not be followed.

    :param request: the request that was redirected.
    :param response: its answer (any status: only a followable redirect gives a request).
    :param hops: redirects already followed for this request.
    """
    if response.status not in FOLLOWED_STATUSES or not request.idempotent or hops >= MAX_REDIRECTS:
        return None
    target = redirect_location(request, response)
    if target is None or not same_origin(request.url, target):
        return None
    parts = urlsplit(target)
    url = parts._replace(query="", fragment="").geturl()
    base = request.url[: len(request.url) - len(request.path)]
    # Same headers (with the key) only because the origin is the same (checked above); same throttles
    # and advice: PostHog's redirect keeps the path below the project, and so its endpoint.
    return replace(
        request,
        url=url,
        path=url[len(base) :] if url.startswith(base) else parts.path,
        params=tuple(parse_qsl(parts.query, keep_blank_values=True)),
    )


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)
