"""Route helpers: every API path under both ``/api/projects/{id}/`` (PostHog's canonical prefix) and
``/api/environments/{id}/`` (its deprecated alias), with the trailing slash optional (PostHog's router
uses ``trailing_slash = r"/?"``); and what PostHog adds to answers of the alias.

PostHog answers the alias with ``Deprecation: true``, ``Link: </api/projects/…>;
rel="successor-version"`` (path and query string of the same request under the canonical prefix) and
``Sunset`` (``API_ENVIRONMENTS_SUNSET_DATE``, default ``"2026-07-31"``, sent as an HTTP date), and for a
while redirected it with a 307 (``posthog/api/test/test_environments_redirect.py``,
``posthog/api/test/test_environments_rewrite.py``, ``posthog/settings/web.py``; ``docs/fidelity.md``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Endpoint = Callable[[Request], Awaitable[Response]]


class _PrefixConvertor(Convertor[str]):
    regex = "environments|projects"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


class _OptionalSlashConvertor(Convertor[str]):
    regex = "/?"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("posthog_prefix", _PrefixConvertor())
register_url_convertor("optional_slash", _OptionalSlashConvertor())


def api_route(path: str, endpoint: Endpoint, methods: list[str]) -> Route:
    """A route for ``path`` below a project, under both prefixes, trailing slash optional.

    :param path: e.g. ``/subscriptions/{subscription_id}`` (``""`` for the project itself).
    :param endpoint: the handler.
    :param methods: HTTP methods it serves.
    """
    return Route(
        "/api/{posthog_prefix:posthog_prefix}/{project_id}" + path + "{slash:optional_slash}",
        endpoint,
        methods=methods,
    )


#: PostHog's ``Sunset`` for the alias: ``http_date`` of ``API_ENVIRONMENTS_SUNSET_DATE``'s default.
ENVIRONMENTS_SUNSET = "Fri, 31 Jul 2026 00:00:00 GMT"
#: Resources that had no ``/api/projects/`` route while PostHog redirected the alias
#: (``KNOWN_ENVIRONMENT_ONLY_RESOURCES`` in ``posthog/api/test/test_environments_redirect.py``):
#: PostHog served them under the alias without a redirect or a deprecation.
ENVIRONMENT_ONLY_WHILE_REDIRECTING = frozenset({"session_summaries"})
_PROJECT_PATH = re.compile(
    r"^/api/(?P<prefix>environments|projects)/(?P<project>[^/]+)(?P<rest>/(?P<resource>[^/]*).*)?$"
)


def successor_of(path: str, query: str, redirecting: bool) -> str | None:
    """The canonical URL (path and query) PostHog names for a request to the alias, or ``None``.

    ``None`` for paths outside ``/api/environments/{id}/``, and, while ``redirecting``, for the
    resources that then existed only under the alias.

    :param path: the request path.
    :param query: the raw query string (kept, as PostHog keeps it).
    :param redirecting: the emulator acts as PostHog while it redirected the alias.
    """
    match = _PROJECT_PATH.match(path)
    if match is None or match["prefix"] != "environments":
        return None
    if redirecting and match["resource"] in ENVIRONMENT_ONLY_WHILE_REDIRECTING:
        return None
    return f"/api/projects/{match['project']}{match['rest'] or ''}" + (f"?{query}" if query else "")


def missing_while_redirecting(path: str) -> bool:
    """True for a canonical path that had no route while PostHog redirected the alias (a 404 then).

    :param path: the request path.
    """
    match = _PROJECT_PATH.match(path)
    return (
        match is not None
        and match["prefix"] == "projects"
        and match["resource"] in ENVIRONMENT_ONLY_WHILE_REDIRECTING
    )


def deprecation_headers(successor: str) -> dict[str, str]:
    """PostHog's three headers on an answer of the alias.

    :param successor: the canonical URL (see :func:`successor_of`).
    """
    return {
        "Deprecation": "true",
        "Link": f'<{successor}>; rel="successor-version"',
        "Sunset": ENVIRONMENTS_SUNSET,
    }
