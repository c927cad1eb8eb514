"""The exceptions every PostHog call can raise; each carries data and a message a user can act on."""

from __future__ import annotations

__all__ = [
    "PostHogAPIError",
    "PostHogAuthenticationError",
    "PostHogConfigError",
    "PostHogConnectionError",
    "PostHogError",
    "PostHogNotFoundError",
    "PostHogPaymentRequiredError",
    "PostHogPermissionError",
    "PostHogRateLimitError",
    "PostHogResponseLostError",
    "PostHogServerError",
    "PostHogValidationError",
]


class PostHogError(Exception):
    """Base class of every error raised by this provider's PostHog client."""


class PostHogConfigError(PostHogError, ValueError):
    """A connection setting or an argument is invalid; raised before any request is sent."""


class PostHogConnectionError(PostHogError):
    """PostHog could not be reached (connection error or timeout), also after the allowed retries."""


class PostHogResponseLostError(PostHogError):
    """A request that creates something was sent, but its answer was lost; it was not re-sent.

    :param method: HTTP method of the request.
    :param path: URL path of the request (no host, no query).
    :param cause: what happened after sending, e.g. ``"PostHog answered 502"`` or ``"read timed out"``.
    :param status: the HTTP status if PostHog (or a proxy) answered, else ``None``.
    """

    def __init__(self, method: str, path: str, cause: str, status: int | None = None) -> None:
        self.method = method
        self.path = path
        self.cause = cause
        self.status = status
        super().__init__(
            f"{method} {path}: {cause} after the request was sent, so the object may have been "
            "created anyway. It was not re-sent, to avoid creating a duplicate. Before creating it "
            f"again, list the existing objects (GET {path}) or look in the PostHog UI."
        )


class PostHogAPIError(PostHogError):
    """PostHog answered with an error status.

    :param message: the full, actionable message.
    :param status: HTTP status code.
    :param type: PostHog's error ``type`` (e.g. ``validation_error``), if the body had one.
    :param code: PostHog's error ``code`` (e.g. ``required``, ``permission_denied``).
    :param detail: PostHog's human-readable ``detail``, or a description of a non-PostHog body.
    :param attr: the request field the error is about, if any (nested fields joined with ``__``).
    :param method: HTTP method of the request.
    :param path: URL path of the request (no host, no query).
    :param retry_after: seconds PostHog asked the client to wait (``Retry-After``), if it did.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        type: str | None = None,
        code: str | None = None,
        detail: str = "",
        attr: str | None = None,
        method: str = "",
        path: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.code = code
        self.detail = detail
        self.attr = attr
        self.method = method
        self.path = path
        self.retry_after = retry_after


class PostHogAuthenticationError(PostHogAPIError):
    """401: the personal API key is missing, invalid, revoked or from another PostHog region."""


class PostHogPermissionError(PostHogAPIError):
    """403: the key lacks a scope or project access, or the action is not allowed for personal keys."""


class PostHogNotFoundError(PostHogAPIError):
    """404: the project or the object does not exist (or is not visible to this key)."""


class PostHogValidationError(PostHogAPIError):
    """400 and other client errors (405, 415, ...): the request itself must change."""


class PostHogPaymentRequiredError(PostHogAPIError):
    """402: the feature is limited by the organisation's plan or quota (AI summaries, the warehouse,
    subscriptions). Never retried: only a billing change in PostHog helps."""


class PostHogRateLimitError(PostHogAPIError):
    """429: PostHog throttled the key; ``retry_after`` says how long it asked to wait."""


class PostHogServerError(PostHogAPIError):
    """5xx: PostHog (or a proxy in front of it) failed, also after the allowed retries."""
