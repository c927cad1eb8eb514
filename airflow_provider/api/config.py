"""Client settings, validated once from a connection: :class:`ClientConfig`.

Each field is checked by :mod:`airflow_provider.api.connection_fields`, before any request is sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider.api.arguments import invalid
from airflow_provider.api.connection_fields import (
    API_PREFIXES,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    normalize_host,
    require_api_prefix,
    require_bool,
    require_max_retries,
    require_project_id,
    require_share,
    require_store_url,
    require_timeout,
    require_verify,
)


@dataclass(frozen=True)
class ClientConfig:
    """Validated settings of one PostHog client.

    :param host: base URL without trailing slash, e.g. ``https://eu.posthog.com``.
    :param api_key: the personal API key; never part of ``repr`` or any message.
    :param project_id: default project (environment) id, digits or ``@current``; calls may override it.
    :param api_prefix: the URL prefix of data calls: ``projects`` (``/api/projects/:id/``, PostHog's
        canonical path) or ``environments`` (the deprecated alias, for older self-hosted versions).
    :param timeout: read timeout in seconds for ordinary requests.
    :param connect_timeout: connect timeout in seconds.
    :param max_retries: how many times a retryable failure is retried.
    :param verify: verify TLS certificates (``True``/``False``) or the path of a CA bundle.
    :param rate_limit: wait client-side to stay under PostHog's per-key rate limits.
    :param rate_limit_store: ``redis://`` URL of a store that keeps one budget for every process using
        the key (a deployment-wide limit); ``None`` keeps the budget per process. Never in ``repr``.
    :param rate_limit_share: without a store, the fraction of PostHog's limits this process keeps to
        (``1 / <processes using the key>``); ignored with a store.
    """

    host: str
    api_key: str = field(repr=False)
    project_id: str | None = None
    api_prefix: str = API_PREFIXES[0]
    timeout: float = DEFAULT_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    verify: bool | str = True
    rate_limit: bool = True
    rate_limit_store: str | None = field(default=None, repr=False)
    rate_limit_share: float = 1.0

    @property
    def key_fingerprint(self) -> str:
        """A short hash that identifies the key (for rate-limit buckets) without revealing it."""
        return hashlib.sha256(self.api_key.encode()).hexdigest()[:16]

    @classmethod
    def from_connection_fields(
        cls,
        *,
        host: str | None,
        api_key: str | None,
        extra: Mapping[str, Any],
        port: int | None = None,
        project_id: str | int | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ) -> ClientConfig:
        """Build a config from an Airflow connection's fields and extras (arguments win over extras).

        :param host: the connection's ``host`` (default ``https://us.posthog.com``).
        :param api_key: the connection's ``password``: the personal API key.
        :param extra: the connection's extras: ``project_id``, ``api_prefix``, ``timeout``,
            ``max_retries``, ``verify``, ``allow_insecure_http``, ``rate_limit``, ``rate_limit_store``,
            ``rate_limit_share``.
        :param port: the connection's ``port``, if the host does not carry one.
        :param project_id: overrides the ``project_id`` extra.
        :param timeout: overrides the ``timeout`` extra.
        :param max_retries: overrides the ``max_retries`` extra.
        """
        if not api_key:
            # Shown as "no key": the value is empty, and a key must never reach a message anyway.
            invalid("The connection's 'password'", "the PostHog personal API key (phx_...)", api_key)
        allow_http = require_bool("extra 'allow_insecure_http'", extra.get("allow_insecure_http"), False)
        raw_project = project_id if project_id is not None else extra.get("project_id")
        return cls(
            host=normalize_host(host, port=port, allow_insecure_http=allow_http),
            api_key=api_key,
            project_id=None if raw_project in (None, "") else require_project_id("project_id", raw_project),
            api_prefix=require_api_prefix(extra.get("api_prefix")),
            timeout=require_timeout("timeout", timeout if timeout is not None else extra.get("timeout")),
            max_retries=require_max_retries(
                max_retries if max_retries is not None else extra.get("max_retries")
            ),
            verify=require_verify(extra.get("verify")),
            rate_limit=require_bool("extra 'rate_limit'", extra.get("rate_limit"), True),
            rate_limit_store=require_store_url(extra.get("rate_limit_store")),
            rate_limit_share=require_share(extra.get("rate_limit_share")),
        )
