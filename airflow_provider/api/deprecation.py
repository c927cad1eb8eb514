"""PostHog's ``Deprecation`` / ``Sunset`` answers: what to tell the user, once per process and path family.

PostHog marks a path it will remove with ``Deprecation``, the removal date in ``Sunset`` (RFC 8594, an
HTTP date) and the replacement in ``Link: <…>; rel="successor-version"``; it does so today for the
``/api/environments/:id/…`` alias (``docs/posthog-api.md`` §1). :func:`deprecation_notice` turns such an
answer into one warning text; :class:`NoticeMemory` remembers which path families were already warned
about, so a DAG that polls does not repeat it. The exchange logs the text (sync and async alike);
nothing here does I/O. The text holds paths and dates only, never a header of the request.
"""

from __future__ import annotations

import re
import threading
from datetime import timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

from airflow_provider.api.request import ApiRequest
from airflow_provider.api.response import RawResponse, redact

_LINK = re.compile(r"<([^>]*)>\s*((?:;[^,;]*)*)")
_SUCCESSOR = re.compile(r';\s*rel\s*=\s*"?[^";]*\bsuccessor-version\b', re.IGNORECASE)
_PROJECT_PATH = re.compile(r"^/api/(?P<prefix>[^/]+)/(?P<project>[^/]+)/(?P<family>[^/]*)")


def path_family(path: str) -> str:
    """The part of a path that one deprecation warning covers: prefix and first segment after the id.

    ``/api/environments/12/subscriptions/5/`` → ``/api/environments/:id/subscriptions/``; the project
    object itself (``/api/environments/12/``) → ``/api/environments/:id/``.

    :param path: a request path.
    """
    match = _PROJECT_PATH.match(path)
    if match is None:
        return path
    family = f"{match['family']}/" if match["family"] else ""
    return f"/api/{match['prefix']}/:id/{family}"


def deprecation_notice(request: ApiRequest, response: RawResponse) -> str | None:
    """The warning for an answer that carries ``Deprecation`` or ``Sunset``, or ``None`` without them.

    :param request: the request that was answered.
    :param response: its answer (any status).
    """
    deprecation = response.headers.get("deprecation")
    sunset = response.headers.get("sunset")
    if deprecation is None and sunset is None:
        return None
    family = path_family(request.path)
    text = f"PostHog marks {family} as deprecated"
    if sunset is not None:
        text += f"; it will be removed on {_sunset_date(sunset)}"
    successor = successor_of(request, response.headers.get("link"))
    if successor is not None:
        text += f". Its successor is {successor}"
    text += f" (first seen on {request.method} {request.path})."
    if family.startswith("/api/environments/"):
        text += (
            " Use PostHog's canonical /api/projects/ prefix: set the connection extra 'api_prefix' to "
            "'projects' (the default), or remove it."
        )
    else:
        text += " Move to the successor before that date."
    return redact(text, request)


def successor_of(request: ApiRequest, link: str | None) -> str | None:
    """The ``rel="successor-version"`` target of a ``Link`` header: its path on the same host, else its URL.

    :param request: the request that was answered (relative links resolve against its URL).
    :param link: the ``Link`` header, ``None`` when absent.
    """
    for match in _LINK.finditer(link or ""):
        if _SUCCESSOR.search(match[2]):
            target = urljoin(request.url, match[1].strip())
            base = request.url[: len(request.url) - len(request.path)]
            return target[len(base) :] if target.startswith(base) else target
    return None


class NoticeMemory:
    """Which (host, path family) pairs a deprecation warning was already given for, in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: set[tuple[str, str]] = set()

    def first(self, request: ApiRequest) -> bool:
        """True the first time a request of this host and path family is seen; remembers it.

        :param request: the request whose answer carried a deprecation.
        """
        key = (request.url[: len(request.url) - len(request.path)], path_family(request.path))
        with self._lock:
            if key in self._seen:
                return False
            self._seen.add(key)
            return True


def _sunset_date(value: str) -> str:
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return repr(value)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).date().isoformat()


PROCESS_NOTICES = NoticeMemory()
"""The memory every client in this process shares, so each warning is logged once per process."""
