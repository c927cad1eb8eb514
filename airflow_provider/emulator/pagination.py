"""The DRF pagination styles PostHog uses (docs/posthog-api.md §6), with absolute links.

Links are built from the request's own scheme and ``Host``, as DRF's ``build_absolute_uri`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request

from .errors import not_found

DEFAULT_LIMIT = 100


def limit_offset(
    request: Request,
    items: Sequence[dict[str, Any]],
    *,
    default_limit: int = DEFAULT_LIMIT,
    max_limit: int | None = None,
) -> dict[str, Any]:
    """DRF ``LimitOffsetPagination``; bad values fall back to the defaults.

    :param request: the request (its ``limit``/``offset`` and URL).
    :param items: every matching item, in order.
    :param default_limit: page size without ``limit`` (PostHog's default: 100).
    :param max_limit: the largest ``limit`` served (larger ones are cut to it); ``None``: no maximum.
    """
    limit = _positive_int(request.query_params.get("limit"), default_limit, strict=True)
    if max_limit is not None:
        limit = min(limit, max_limit)
    offset = _positive_int(request.query_params.get("offset"), 0, strict=False)
    count = len(items)
    url = request.url
    next_url = None
    if offset + limit < count:
        next_url = str(url.include_query_params(limit=limit, offset=offset + limit))
    previous_url = None
    if offset > 0:
        if offset - limit <= 0:
            previous_url = str(url.include_query_params(limit=limit).remove_query_params("offset"))
        else:
            previous_url = str(url.include_query_params(limit=limit, offset=offset - limit))
    return {
        "count": count,
        "next": next_url,
        "previous": previous_url,
        "results": list(items[offset : offset + limit]),
    }


def page_number(request: Request, items: Sequence[dict[str, Any]], page_size: int) -> dict[str, Any]:
    """DRF ``PageNumberPagination`` with a fixed page size; an out-of-range page is 404 ``Invalid page.``.

    :param request: the request (its ``page`` and URL).
    :param items: every matching item, in order.
    :param page_size: items a page.
    """
    raw = request.query_params.get("page", "1")
    pages = max(1, -(-len(items) // page_size))
    number = pages if raw == "last" else _positive_int(raw, 0, strict=True)
    if not 1 <= number <= pages:
        raise not_found("Invalid page.")
    url = request.url
    next_url = str(url.include_query_params(page=number + 1)) if number < pages else None
    previous_url = None
    if number > 1:
        previous_url = (
            str(url.remove_query_params("page"))
            if number == 2
            else str(url.include_query_params(page=number - 1))
        )
    start = (number - 1) * page_size
    return {
        "count": len(items),
        "next": next_url,
        "previous": previous_url,
        "results": list(items[start : start + page_size]),
    }


def _positive_int(raw: str | None, default: int, *, strict: bool) -> int:
    """DRF's ``_positive_int``: a bad or (when strict) zero value gives the default."""
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        return default
    if value < 0 or (strict and value == 0):
        return default
    return value
