"""PostHog's error answers: the drf-exceptions-hog envelope and the few raw bodies that bypass it.

Rules follow docs/posthog-api.md section 4: ``{"type", "code", "detail", "attr"}``, DRF's ``invalid``
renamed ``invalid_input``, only the first error reported, nested ``attr`` joined with ``__``.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.responses import JSONResponse, Response

#: Error ``type`` for each HTTP status that DRF raises, as drf-exceptions-hog maps them.
_TYPE_BY_STATUS = {
    400: "validation_error",
    401: "authentication_error",
    403: "authentication_error",
    404: "invalid_request",
    405: "invalid_request",
    406: "invalid_request",
    415: "invalid_request",
    429: "throttled_error",
}

#: Gateway answers (PostHog's load balancer, not Django): an HTML page, not the envelope.
GATEWAY_REASONS = {502: "Bad Gateway", 504: "Gateway Time-out"}
_GATEWAY_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
)
DATABASE_UNAVAILABLE = "We couldn't reach the database just now. Please try again in a moment."

#: A DRF ``NotAuthenticated``/``AuthenticationFailed`` answer carries this challenge (newer PostHog).
WWW_AUTHENTICATE = 'Bearer resource_metadata="{site}/.well-known/oauth-protected-resource"'


class APIError(Exception):
    """An answer in PostHog's error envelope.

    :param status: HTTP status code.
    :param code: machine code, e.g. ``required`` (``invalid`` is renamed ``invalid_input``).
    :param detail: human text.
    :param attr: the field the error is about, ``None`` for non-field errors.
    :param headers: extra response headers (``Retry-After``).
    :param error_type: the envelope ``type``; derived from ``status`` when omitted.
    """

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        attr: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        error_type: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = "invalid_input" if code == "invalid" else code
        self.detail = detail
        self.attr = attr
        self.headers = headers or {}
        self.error_type = error_type or _TYPE_BY_STATUS.get(status, "server_error")

    def body(self) -> dict[str, Any]:
        """The envelope as a dict."""
        return {"type": self.error_type, "code": self.code, "detail": self.detail, "attr": self.attr}

    def response(self) -> Response:
        """The envelope as a response."""
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


class RawResponse(Exception):
    """An answer that bypasses the envelope (empty 405, ``{"error": ...}`` bodies of saved-query actions).

    :param response: the response to send as is.
    """

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def validation_error(attr: str | None, code: str, detail: str) -> APIError:
    """A 400 about one field (``attr``) or about the whole body (``attr=None``).

    :param attr: field path, nested parts already joined with ``__``.
    :param code: DRF error code.
    :param detail: human text.
    """
    return APIError(400, code, detail, attr)


def required(attr: str) -> APIError:
    """DRF's answer for a missing required field.

    :param attr: the missing field.
    """
    return validation_error(attr, "required", "This field is required.")


def not_found(detail: str = "Not found.") -> APIError:
    """A 404 with DRF's default text, or a specific one such as ``"Project not found."``.

    :param detail: human text.
    """
    return APIError(404, "not_found", detail)


def permission_denied(detail: str = "You do not have permission to perform this action.") -> APIError:
    """A 403 ``permission_denied``.

    :param detail: human text.
    """
    return APIError(403, "permission_denied", detail)


def method_not_allowed(method: str) -> APIError:
    """DRF's 405 for a method the route does not serve.

    :param method: the HTTP method that was used.
    """
    return APIError(405, "method_not_allowed", f'Method "{method}" not allowed.')


def unsupported_media_type(content_type: str) -> APIError:
    """DRF's 415 for a body the view cannot parse.

    :param content_type: the request's media type.
    """
    return APIError(415, "unsupported_media_type", f'Unsupported media type "{content_type}" in request.')


def throttled(wait: float | None) -> APIError:
    """DRF's 429 with ``Retry-After`` (whole seconds, rounded up).

    :param wait: seconds until a request is allowed again, ``None`` when unknown.
    """
    if wait is None:
        return APIError(429, "throttled", "Request was throttled.")
    seconds = math.ceil(wait)
    return APIError(
        429,
        "throttled",
        f"Request was throttled. Expected available in {seconds} second{'' if seconds == 1 else 's'}.",
        headers={"Retry-After": str(seconds)},
    )


def server_error(detail: str = "A server error occurred.", code: str = "error") -> APIError:
    """A 500 ``server_error``.

    :param detail: human text.
    :param code: machine code.
    """
    return APIError(500, code, detail)


def gateway_response(status: int, headers: dict[str, str] | None = None) -> Response:
    """The load balancer's HTML page for 502/504 (what a client sees when the gateway gives up).

    :param status: 502 or 504.
    :param headers: extra headers (``Retry-After``).
    """
    page = _GATEWAY_PAGE.format(status=status, reason=GATEWAY_REASONS[status])
    return Response(page, status, headers=headers, media_type="text/html")
