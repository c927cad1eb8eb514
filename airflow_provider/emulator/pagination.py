"""The three DRF pagination styles PostHog uses (docs/posthog-api.md section 6), with absolute links.

Links are built from the request's own scheme and ``Host``, as DRF's ``build_absolute_uri`` does.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any

from starlette.datastructures import URL
from starlette.requests import Request

from .errors import not_found

DEFAULT_LIMIT = 100


def limit_offset(request: Request, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """DRF ``LimitOffsetPagination``: default 100, no maximum; bad values fall back to the defaults.

    :param request: the request (its ``limit``/``offset`` and URL).
    :param items: every matching item, in order.
    """
    limit = _positive_int(request.query_params.get("limit"), DEFAULT_LIMIT, strict=True)
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


def cursor(
    request: Request,
    items: Sequence[dict[str, Any]],
    position: Callable[[dict[str, Any]], list[Any]],
    default_limit: int = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """DRF ``CursorPagination``: ``{"next", "previous", "results"}`` with opaque cursors, no count.

    :param request: the request (its ``cursor``/``limit`` and URL).
    :param items: every matching item, already in the listing order.
    :param position: an item's sort position (unique and comparable, following the order).
    :param default_limit: page size when ``limit`` is absent.
    """
    limit = _positive_int(request.query_params.get("limit"), default_limit, strict=True)
    direction, anchor = _decode_cursor(request.query_params.get("cursor"))
    positions = [position(item) for item in items]
    if anchor is None:
        start = 0
    elif direction == "after":
        start = positions.index(anchor) + 1 if anchor in positions else len(items)
    else:
        start = max((positions.index(anchor) if anchor in positions else 0) - limit, 0)
    page = list(items[start : start + limit])
    url = request.url
    next_url = _cursor_url(url, "after", positions[start + limit - 1]) if start + limit < len(items) else None
    previous_url = _cursor_url(url, "before", positions[start]) if start > 0 and page else None
    return {"next": next_url, "previous": previous_url, "results": page}


def _cursor_url(url: URL, direction: str, anchor: list[Any]) -> str:
    token = base64.urlsafe_b64encode(json.dumps({"d": direction, "p": anchor}).encode()).decode()
    return str(url.include_query_params(cursor=token))


def _decode_cursor(token: str | None) -> tuple[str, list[Any] | None]:
    if not token:
        return "after", None
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return str(data["d"]), list(data["p"])
    except (ValueError, KeyError, TypeError) as error:
        raise not_found("Invalid cursor") from error


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
