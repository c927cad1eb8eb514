"""Each paging style, as data: a page in, the next page's query out; ``next`` links never leave the host.

A whole walk is driven over a dict of pages keyed by query, the way a client fetches them.
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider.api.call import ApiCall, Paging
from airflow_provider.api.config import ClientConfig
from airflow_provider.api.pagination import PageWalk, UnexpectedPageError, next_params, page_items
from airflow_provider.api.request import build_request


def test_next_url_paging_reuses_the_query_of_next() -> None:
    page = {
        "count": 250,
        "next": "https://us.posthog.com/api/projects/1/subscriptions/?deleted=true&limit=100&offset=100",
        "results": [{}] * 100,
    }
    assert next_params(Paging.NEXT_URL, {"deleted": True}, page) == {
        "deleted": "true",
        "limit": "100",
        "offset": "100",
    }


def test_next_url_paging_stops_when_next_is_null() -> None:
    assert next_params(Paging.NEXT_URL, {"offset": "200"}, {"next": None, "results": [{}]}) is None


def test_cursor_paging_carries_the_cursor_and_filters() -> None:
    page = {
        "next": "https://us.posthog.com/api/projects/1/data_modeling_jobs/?cursor=cD0yMDI2&limit=1&saved_query_id=abc",
        "previous": None,
        "results": [{"id": "job"}],
    }
    assert next_params(Paging.NEXT_URL, {"saved_query_id": "abc", "limit": 1}, page) == {
        "saved_query_id": "abc",
        "limit": "1",
        "cursor": "cD0yMDI2",
    }


HOST = "https://us.posthog.com/api/projects/1/data_modeling_jobs/"


class WalkStopped(UnexpectedPageError):
    """The walk's :class:`UnexpectedPageError`, with the items and pages it had when it stopped."""

    def __init__(self, error: UnexpectedPageError, walked: tuple[list[Any], list[str]]) -> None:
        super().__init__(str(error))
        self.walked = walked


def walk(
    paging: Paging, first: dict[str, Any], pages: dict[str, dict[str, Any]]
) -> tuple[list[Any], list[str]]:
    """Walk ``pages`` (keyed by sorted query string) like a client; return the items and queries fetched.

    Stops with what it has on an :class:`UnexpectedPageError`, which it re-raises with them attached.
    """
    pager = PageWalk(paging, "data_modeling_jobs", first)
    items: list[Any] = []
    fetched: list[str] = []
    while pager.params is not None:
        query = "&".join(f"{name}={value}" for name, value in sorted(pager.params.items()))
        fetched.append(query)
        page = pages[query]
        items.extend(page_items(page, pager.path))
        try:
            pager.advance(page)
        except UnexpectedPageError as exc:
            raise WalkStopped(exc, (items, fetched)) from exc
    return items, fetched


def test_a_walk_follows_next_links_to_the_last_page() -> None:
    pages = {
        "limit=2": {"next": f"{HOST}?cursor=b&limit=2", "results": [1, 2]},
        "cursor=b&limit=2": {"next": f"{HOST}?cursor=c&limit=2", "results": [3, 4]},
        "cursor=c&limit=2": {"next": None, "results": [5]},
    }
    assert walk(Paging.NEXT_URL, {"limit": 2}, pages) == (
        [1, 2, 3, 4, 5],
        ["limit=2", "cursor=b&limit=2", "cursor=c&limit=2"],
    )


def test_next_url_that_repeats_the_page_is_refused() -> None:
    pages = {"offset=100": {"next": "https://us.posthog.com/x/?offset=100", "results": [{}]}}
    with pytest.raises(UnexpectedPageError, match=r"next page \(offset=100\) was already fetched"):
        walk(Paging.NEXT_URL, {"offset": 100}, pages)


def test_cursor_links_that_cycle_between_pages_are_refused_after_each_page_once() -> None:
    pages = {
        "cursor=a&limit=2": {"next": f"{HOST}?cursor=b&limit=2", "results": [1, 2]},
        "cursor=b&limit=2": {"next": f"{HOST}?cursor=a&limit=2", "results": [3, 4]},
    }
    with pytest.raises(
        UnexpectedPageError, match=r"cursor=a&limit=2\) was already fetched.*after 2 pages"
    ) as e:
        walk(Paging.NEXT_URL, {"cursor": "a", "limit": 2}, pages)
    assert e.value.walked == ([1, 2, 3, 4], ["cursor=a&limit=2", "cursor=b&limit=2"])


def test_a_cycle_back_to_the_first_page_is_caught_although_its_params_were_not_strings() -> None:
    pages = {
        "deleted=True&limit=1&offset=0": {"next": f"{HOST}?deleted=true&limit=1&offset=1", "results": [1]},
        "deleted=true&limit=1&offset=1": {"next": f"{HOST}?deleted=true&limit=1&offset=0", "results": [2]},
    }
    with pytest.raises(UnexpectedPageError, match=r"\(deleted=true&limit=1&offset=0\).*after 2 pages"):
        walk(Paging.NEXT_URL, {"deleted": True, "limit": 1, "offset": 0}, pages)


@pytest.mark.parametrize("paging", [Paging.NEXT_URL, Paging.PAGE_NUMBER])
def test_an_empty_page_ends_the_walk_even_if_next_is_set(paging: Paging) -> None:
    empty = {"count": 9, "next": f"{HOST}?page=3&cursor=z", "results": []}
    assert next_params(paging, {"page": 2}, empty) is None
    pages = {"page=1": {"next": f"{HOST}?page=2", "results": ["a"]}, "page=2": empty}
    assert walk(paging, {"page": 1}, pages) == (["a"], ["page=1", "page=2"])


def test_page_number_paging_counts_pages_while_next_is_set() -> None:
    assert next_params(Paging.PAGE_NUMBER, {"search": "v"}, {"next": "…?page=2", "results": [{}]}) == {
        "search": "v",
        "page": 2,
    }
    assert next_params(Paging.PAGE_NUMBER, {"page": 2}, {"next": "…?page=3", "results": [{}]}) == {"page": 3}
    assert next_params(Paging.PAGE_NUMBER, {"page": 3}, {"next": None, "results": [{}]}) is None


@pytest.mark.parametrize(
    ("params", "page", "expected"),
    [
        ({"date_from": "-3d"}, {"results": [{}] * 50, "has_next": True}, {"date_from": "-3d", "offset": 50}),
        ({"offset": 50}, {"results": [{}] * 50, "has_next": True}, {"offset": 100}),
        ({"offset": 100}, {"results": [{}] * 7, "has_next": False}, None),
        ({"offset": 100}, {"results": [], "has_next": True}, None),
    ],
)
def test_has_next_paging_advances_offset_by_what_was_received(
    params: dict[str, Any], page: dict[str, Any], expected: dict[str, Any] | None
) -> None:
    assert next_params(Paging.HAS_NEXT, params, page) == expected


def test_a_next_link_to_another_host_is_followed_on_the_configured_host_only() -> None:
    config = ClientConfig(host="https://eu.posthog.com", api_key="phx_demo_all_scopes", project_id="1")
    page = {"next": "https://evil.example.com/steal/?offset=100&limit=100", "results": [{}]}
    following = next_params(Paging.NEXT_URL, {}, page)
    assert following is not None
    sent = build_request(config, ApiCall("GET", "subscriptions", params=following))
    assert sent.url == "https://eu.posthog.com/api/projects/1/subscriptions/"
    assert dict(sent.params) == {"offset": "100", "limit": "100"}


@pytest.mark.parametrize("page", [[1, 2], {"results": "x"}, {"count": 1}, None])
def test_a_page_without_results_list_is_an_error(page: Any) -> None:
    with pytest.raises(UnexpectedPageError, match="GET subscriptions"):
        page_items(page, "subscriptions")
