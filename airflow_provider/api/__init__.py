"""PostHog API client: knows HTTP and PostHog, nothing of Airflow.

A sans-I/O core decides: what to send (:mod:`.request`, built by :mod:`.endpoints`), how to read
the answer (:mod:`.response`), when to retry (:mod:`.retry`, driven by :mod:`.exchange`), how lists
page (:mod:`.pagination`) and how fast to send (:mod:`.ratelimit`); the sync (``requests``) and
async (aiohttp) transports only send and sleep.

DAG files import this package constantly, so only the errors load eagerly; the other names load
on first use, and neither HTTP library is imported before the first request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider.api.errors import (
    PostHogAPIError,
    PostHogAuthenticationError,
    PostHogConfigError,
    PostHogConnectionError,
    PostHogError,
    PostHogNotFoundError,
    PostHogPaymentRequiredError,
    PostHogPermissionError,
    PostHogRateLimitError,
    PostHogResponseLostError,
    PostHogServerError,
    PostHogValidationError,
)
from airflow_provider.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from airflow_provider.api.client import AsyncPostHogClient, PostHogClient
    from airflow_provider.api.config import ClientConfig
    from airflow_provider.api.request import ApiCall, Paging
    from airflow_provider.api.retry import RetryPolicy

_LAZY = {
    "ApiCall": "request",
    "AsyncPostHogClient": "client",
    "ClientConfig": "config",
    "Paging": "request",
    "PostHogClient": "client",
    "RetryPolicy": "retry",
}

__all__ = [
    "ApiCall",
    "AsyncPostHogClient",
    "ClientConfig",
    "Paging",
    "PostHogAPIError",
    "PostHogAuthenticationError",
    "PostHogClient",
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
    "RetryPolicy",
]

__getattr__ = lazy_getattr(__name__, _LAZY)
