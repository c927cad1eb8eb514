"""How each PostHog list is paged: from one page, the query of the next (``docs/posthog-api.md`` §6, §7.6).

Clients walk pages one at a time with a :class:`PageWalk` and yield their items, so memory holds one
page (plus the small query of each page fetched). A ``next`` URL is never requested as given: only its
query (offset, cursor, ...) is reused, on the configured host and the list's own path, so
``Authorization`` cannot be sent anywhere else. A walk ends at the last page or at an empty one, and
refuses to fetch a page it has already fetched, so a server's cyclic ``next`` links cannot loop forever.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from airflow_provider.api.call import Paging
from airflow_provider.api.errors import PostHogError
from airflow_provider.api.request import encode_params


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
    """The query parameters of the page after ``page``, or ``None`` when it was the last or was empty.

    :param paging: the endpoint's style.
    :param params: the parameters that fetched ``page``.
    :param page: the decoded page.
    """
    received = len(page["results"])
    if not received:
        return None
    if paging is Paging.HAS_NEXT:
        if not page.get("has_next"):
            return None
        return {**params, "offset": int(params.get("offset") or 0) + received}
    next_url = page.get("next")
    if not next_url:
        return None
    if paging is Paging.PAGE_NUMBER:
        return {**params, "page": int(params.get("page") or 1) + 1}
    return {**params, **dict(parse_qsl(urlsplit(str(next_url)).query, keep_blank_values=True))}


class PageWalk:
    """One walk over a paged list: the query of the page to fetch next, until there is none.

    :param paging: the endpoint's style.
    :param path: the list's path, for messages.
    :param first_params: the parameters of the first page.
    """

    def __init__(self, paging: Paging, path: str, first_params: Mapping[str, Any]) -> None:
        self.paging = paging
        self.path = path
        self.params: dict[str, Any] | None = dict(first_params)
        self._fetched = {_query_key(first_params)}

    def advance(self, page: dict[str, Any]) -> None:
        """Move :attr:`params` from the page just fetched to the next one, or to ``None`` when done.

        The walk is done after the last page or an empty one.

        :param page: the page fetched with :attr:`params` (already checked by :func:`page_items`).
        :raises UnexpectedPageError: the next page was already fetched (the server's links loop).
        """
        assert self.params is not None, "the walk is over"
        following = next_params(self.paging, self.params, page)
        if following is not None:
            key = _query_key(following)
            if key in self._fetched:
                raise UnexpectedPageError(
                    f"GET {self.path}: the next page ({_describe(key)}) was already fetched; stopping "
                    f"after {len(self._fetched)} pages to avoid a loop."
                )
            self._fetched.add(key)
        self.params = following


def _query_key(params: Mapping[str, Any]) -> frozenset[tuple[str, str]]:
    # The query as it is sent, so 100 and "100" are the same page.
    return frozenset(encode_params(params))


def _describe(key: frozenset[tuple[str, str]]) -> str:
    return "&".join(f"{name}={value}" for name, value in sorted(key)) or "no parameters"
