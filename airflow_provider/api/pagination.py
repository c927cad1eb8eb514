"""How each PostHog list is paged: from one page, the query of the next (``posthog-api.md`` §6, §7.6).

Clients walk pages one at a time and yield their items, so memory stays constant. A ``next`` URL is
never requested as given: only its query (offset, cursor, ...) is reused, on the configured host and
the list's own path, so ``Authorization`` cannot be sent anywhere else.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from airflow_provider.api.errors import PostHogError


class Paging(enum.Enum):
    """The paging styles PostHog uses."""

    NEXT_URL = "next_url"
    """limit/offset or cursor: follow the query of ``next`` until it is null (subscriptions,
    user interviews, data modeling jobs)."""
    PAGE_NUMBER = "page_number"
    """``page=1,2,...`` while ``next`` is set (saved queries, fixed page size)."""
    HAS_NEXT = "has_next"
    """``offset`` advanced by the items received while ``has_next`` is true (session recordings)."""


class UnexpectedPageError(PostHogError):
    """A list answer did not have the paged shape its endpoint documents."""


def page_items(page: Any, path: str) -> list[Any]:
    """The items of one page.

    :param page: the decoded page.
    :param path: the list's path, for the message.
    """
    if not isinstance(page, dict) or not isinstance(page.get("results"), list):
        raise UnexpectedPageError(
            f"GET {path}: expected a page with a 'results' list, got {type(page).__name__}."
        )
    return page["results"]


def next_params(paging: Paging, params: Mapping[str, Any], page: dict[str, Any]) -> dict[str, Any] | None:
    """The query parameters of the page after ``page``, or ``None`` when it was the last.

    :param paging: the endpoint's style.
    :param params: the parameters that fetched ``page``.
    :param page: the decoded page.
    """
    if paging is Paging.HAS_NEXT:
        received = len(page["results"])
        if not page.get("has_next") or not received:
            return None
        return {**params, "offset": int(params.get("offset") or 0) + received}
    next_url = page.get("next")
    if not next_url:
        return None
    if paging is Paging.PAGE_NUMBER:
        return {**params, "page": int(params.get("page") or 1) + 1}
    following = {**params, **dict(parse_qsl(urlsplit(str(next_url)).query, keep_blank_values=True))}
    if following == {name: str(value) for name, value in params.items()}:
        raise UnexpectedPageError(
            f"The 'next' link {next_url} repeats the current page; stopping to avoid a loop."
        )
    return following
