"""Client settings, validated once: host, key, project, API prefix, timeouts, retries, TLS, rate limiting.

Every check raises :class:`PostHogConfigError` naming the connection field or extra to fix, before
any request is sent.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from airflow_provider.api.errors import PostHogConfigError
from airflow_provider.api.limits import US_HOST

DEFAULT_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_MAX_RETRIES = 5
MAX_MAX_RETRIES = 20
#: The URL prefixes of a project's API: PostHog's canonical one first (the default), then the
#: deprecated alias that older self-hosted versions may still need (``docs/posthog-api.md`` §1).
API_PREFIXES = ("projects", "environments")

_PROJECT_ID = re.compile(r"^([0-9]+|@current)$")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


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
    :param rate_limit_store: ``redis://`` URL of a store that holds one budget for every process using
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
            raise PostHogConfigError(
                "The connection's 'password' is empty: it must hold the PostHog personal API key (phx_...)."
            )
        allow_http = parse_bool(extra.get("allow_insecure_http"), "extra 'allow_insecure_http'", False)
        raw_project = project_id if project_id is not None else extra.get("project_id")
        return cls(
            host=normalize_host(host, port=port, allow_insecure_http=allow_http),
            api_key=api_key,
            project_id=None if raw_project in (None, "") else validate_project_id(raw_project, "project_id"),
            api_prefix=parse_api_prefix(extra.get("api_prefix")),
            timeout=parse_positive_number(
                timeout if timeout is not None else extra.get("timeout"), "timeout", DEFAULT_TIMEOUT
            ),
            max_retries=parse_max_retries(
                max_retries if max_retries is not None else extra.get("max_retries")
            ),
            verify=parse_verify(extra.get("verify")),
            rate_limit=parse_bool(extra.get("rate_limit"), "extra 'rate_limit'", True),
            rate_limit_store=parse_store_url(extra.get("rate_limit_store")),
            rate_limit_share=parse_share(extra.get("rate_limit_share")),
        )


def validate_project_id(value: object, name: str) -> str:
    """Return a project id as text, or raise if it is not digits or ``@current``.

    :param value: the id (int or str).
    :param name: the field or argument name for the message.
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PostHogConfigError(f"{name} must be a numeric PostHog project id, got {type(value).__name__}.")
    text = str(value).strip()
    if not _PROJECT_ID.match(text):
        raise PostHogConfigError(
            f"{name} must be the numeric PostHog project id (Project settings → Project ID) or "
            f"'@current', got {text!r}."
        )
    return text


def parse_api_prefix(value: object) -> str:
    """The ``api_prefix`` extra: ``projects`` (default) or ``environments``.

    :param value: the extra's value, ``None`` or ``""`` for the default.
    """
    if value in (None, ""):
        return API_PREFIXES[0]
    text = value.strip().lower() if isinstance(value, str) else value
    if text not in API_PREFIXES:
        raise PostHogConfigError(
            f"extra 'api_prefix' must be one of {', '.join(repr(p) for p in API_PREFIXES)} (default "
            f"'projects', PostHog's canonical /api/projects/:id/; 'environments' only for an older "
            f"self-hosted PostHog that needs /api/environments/:id/), got {value!r}."
        )
    return str(text)


def normalize_host(host: str | None, *, port: int | None = None, allow_insecure_http: bool = False) -> str:
    """Return ``scheme://host[:port][/prefix]`` without trailing slash; https unless loopback or allowed.

    :param host: the connection's host; a bare name gets ``https://``; empty means US Cloud.
    :param port: a port to add when ``host`` has none.
    :param allow_insecure_http: accept ``http://`` for a host that is not loopback.
    """
    text = (host or "").strip()
    if not text:
        return US_HOST
    if "://" not in text:
        text = f"https://{text}"
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PostHogConfigError(
            f"The connection's 'host' must be an http(s) URL such as {US_HOST}, got {host!r}."
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise PostHogConfigError(
            "The connection's 'host' must be a plain base URL (no credentials, query or fragment), "
            f"such as {US_HOST}."
        )
    if parts.scheme == "http" and not allow_insecure_http and not _is_loopback(parts.hostname):
        raise PostHogConfigError(
            f"The connection's 'host' uses plain http:// for {parts.hostname}, which would send the API key "
            "unencrypted. Use https://, or set the extra 'allow_insecure_http' to true if you must."
        )
    netloc = parts.netloc
    if port and parts.port is None:
        netloc = f"{netloc}:{port}"
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def parse_store_url(value: object) -> str | None:
    """The ``rate_limit_store`` extra: a ``redis://``, ``rediss://`` or ``unix://`` URL, or nothing.

    :param value: the extra's value.
    """
    if value in (None, ""):
        return None
    if not isinstance(value, str) or urlsplit(value).scheme not in ("redis", "rediss", "unix"):
        raise PostHogConfigError(
            "extra 'rate_limit_store' must be a Redis URL such as 'redis://redis:6379/0' "
            "(redis://, rediss:// or unix://)."
        )
    return value


def parse_share(value: object) -> float:
    """The ``rate_limit_share`` extra: a fraction above 0 and at most 1 (default 1).

    :param value: the extra's value.
    """
    if value in (None, ""):
        return 1.0
    try:
        share = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        share = -1.0
    if isinstance(value, bool) or not 0 < share <= 1:
        raise PostHogConfigError(
            f"extra 'rate_limit_share' must be a fraction above 0 and at most 1 (e.g. 0.25 for four "
            f"workers on one key); got {value!r}."
        )
    return share


def parse_bool(value: object, name: str, default: bool) -> bool:
    """Read a boolean extra that may arrive as bool or text (UI, URI query).

    :param value: the raw value, ``None`` for the default.
    :param name: the extra's name for the message.
    :param default: used when ``value`` is ``None``.
    """
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise PostHogConfigError(f"{name} must be true or false, got {value!r}.")


def parse_positive_number(value: object, name: str, default: float) -> float:
    """Read a number of seconds that must be greater than zero.

    :param value: the raw value (number or numeric text), ``None`` or ``""`` for the default.
    :param name: the setting's name for the message.
    :param default: used when ``value`` is empty.
    """
    if value is None or value == "":
        return default
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not number > 0 or number == float("inf"):
        raise PostHogConfigError(f"{name} must be a number of seconds greater than 0, got {value!r}.")
    return number


def parse_max_retries(value: object) -> int:
    """Read ``max_retries``: an integer from 0 to 20.

    :param value: the raw value (int or numeric text), ``None`` or ``""`` for the default.
    """
    if value is None or value == "":
        return DEFAULT_MAX_RETRIES
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or int(text) > MAX_MAX_RETRIES:
        raise PostHogConfigError(
            f"max_retries must be an integer from 0 to {MAX_MAX_RETRIES}, got {value!r}."
        )
    return int(text)


def parse_verify(value: object) -> bool | str:
    """Read the ``verify`` extra: true/false, or the path of a CA bundle file.

    :param value: the raw value, ``None`` for true.
    """
    if value is None or isinstance(value, bool):
        return value is not False
    text = str(value).strip()
    if text.lower() in _TRUE | _FALSE:
        return parse_bool(text, "extra 'verify'", True)
    return text
