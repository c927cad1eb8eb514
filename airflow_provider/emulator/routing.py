"""Route helpers: every API path under both ``/api/environments/{id}/`` and ``/api/projects/{id}/``,
with the trailing slash optional (PostHog's router uses ``trailing_slash = r"/?"``)."""

from __future__ import annotations

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
