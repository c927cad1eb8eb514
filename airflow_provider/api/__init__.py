"""PostHog API client: knows HTTP and PostHog, nothing of Airflow.

A sans-I/O core decides (requests in :mod:`.calls` and :mod:`.endpoints`, retries in :mod:`.retry`,
errors in :mod:`.responses`, pages in :mod:`.pagination`, rate limits in :mod:`.ratelimit`); the sync
(``requests``) and async (aiohttp) transports only send and sleep. Neither HTTP library is imported
until the first request.
"""

from __future__ import annotations

from airflow_provider.api.calls import ApiCall
from airflow_provider.api.client import AsyncPostHogClient, PostHogClient
from airflow_provider.api.config import ClientConfig
from airflow_provider.api.errors import (
    PostHogAPIError,
    PostHogAuthenticationError,
    PostHogConfigError,
    PostHogConnectionError,
    PostHogError,
    PostHogNotFoundError,
    PostHogPermissionError,
    PostHogRateLimitError,
    PostHogResponseLostError,
    PostHogServerError,
    PostHogValidationError,
)
from airflow_provider.api.pagination import Paging
from airflow_provider.api.retry import RetryPolicy

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
    "PostHogPermissionError",
    "PostHogRateLimitError",
    "PostHogResponseLostError",
    "PostHogServerError",
    "PostHogValidationError",
    "RetryPolicy",
]
