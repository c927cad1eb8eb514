"""Client settings, validated once: host, key, project, API prefix, timeouts, retries, TLS, rate limiting.

Every check raises :class:`PostHogConfigError` through :func:`~airflow_provider.api.arguments.invalid`,
so its message has the one format of every argument check (``"<field> must be <what is allowed>; got
<value>."``) and names the connection field or extra to fix, before any request is sent. The
``require_*`` functions here read what a connection gives: extras often arrive as text (from the UI or
a URI), and an empty one means the default.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from airflow_provider.api.arguments import invalid
from airflow_provider.api.limits import US_HOST

DEFAULT_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_MAX_RETRIES = 5
MAX_MAX_RETRIES = 20
#: The URL prefixes of a project's API: PostHog's canonical one first (the default), then the
#: deprecated alias that older self-hosted versions may still need (``docs/posthog-api.md`` §1).
API_PREFIXES = ("projects", "environments")

_PROJECT_ID = re.compile(r"^([0-9]+|@current)$")
_HOST = "The connection's 'host'"
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


def require_project_id(field: str, value: object) -> str:
    """Return a project id as text, or raise if it is not digits or ``@current``.

    :param field: the field or argument name for the message.
    :param value: the id (int or str).
    """
    text = str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if not _PROJECT_ID.match(text):
        invalid(field, "the numeric PostHog project id (Project settings → Project ID) or '@current'", value)
    return text


def require_api_prefix(value: object) -> str:
    """The ``api_prefix`` extra: ``projects`` (default) or ``environments``.

    :param value: the extra's value, ``None`` or ``""`` for the default.
    """
    if value in (None, ""):
        return API_PREFIXES[0]
    text = value.strip().lower() if isinstance(value, str) else value
    if text not in API_PREFIXES:
        invalid(
            "extra 'api_prefix'",
            f"one of {', '.join(repr(p) for p in API_PREFIXES)} (default 'projects', PostHog's canonical "
            "/api/projects/:id/; 'environments' only for an older self-hosted PostHog that needs "
            "/api/environments/:id/)",
            value,
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
        invalid(_HOST, f"an http(s) URL such as {US_HOST}", host)
    if parts.query or parts.fragment or parts.username or parts.password:
        # Not shown: credentials in the URL must not reach a message or a log.
        invalid(
            _HOST,
            f"a plain base URL (no credentials, query or fragment) such as {US_HOST}",
            host,
            shown=f"a URL of {parts.hostname} with credentials, a query or a fragment",
        )
    if parts.scheme == "http" and not allow_insecure_http and not _is_loopback(parts.hostname):
        invalid(
            _HOST,
            "an https:// URL (plain http:// would send the API key unencrypted)",
            host,
            "Use https://, or set the extra 'allow_insecure_http' to true if you must.",
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


def require_store_url(value: object) -> str | None:
    """The ``rate_limit_store`` extra: a ``redis://``, ``rediss://`` or ``unix://`` URL, or nothing.

    :param value: the extra's value.
    """
    if value in (None, ""):
        return None
    scheme = urlsplit(value).scheme if isinstance(value, str) else None
    if scheme not in ("redis", "rediss", "unix"):
        # Not shown: a store URL may carry the store's password.
        invalid(
            "extra 'rate_limit_store'",
            "a Redis URL such as 'redis://redis:6379/0' (redis://, rediss:// or unix://)",
            value,
            shown=f"a URL with scheme {scheme!r}" if scheme else f"a {type(value).__name__}",
        )
    return str(value)


def require_share(value: object) -> float:
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
        invalid(
            "extra 'rate_limit_share'",
            "a fraction above 0 and at most 1 (e.g. 0.25 for four workers on one key)",
            value,
        )
    return share


def require_bool(field: str, value: object, default: bool) -> bool:
    """Read a boolean extra that may arrive as bool or text (UI, URI query).

    :param field: the extra's name for the message.
    :param value: the raw value, ``None`` for the default.
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
    invalid(field, "true or false", value)


def require_timeout(field: str, value: object) -> float:
    """Read a timeout: a number of seconds greater than zero (default :data:`DEFAULT_TIMEOUT`).

    :param field: the setting's name for the message.
    :param value: the raw value (number or numeric text), ``None`` or ``""`` for the default.
    """
    if value is None or value == "":
        return DEFAULT_TIMEOUT
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not number > 0 or number == float("inf"):
        invalid(field, "a number of seconds greater than 0", value)
    return number


def require_max_retries(value: object) -> int:
    """Read ``max_retries``: an integer from 0 to 20.

    :param value: the raw value (int or numeric text), ``None`` or ``""`` for the default.
    """
    if value is None or value == "":
        return DEFAULT_MAX_RETRIES
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or int(text) > MAX_MAX_RETRIES:
        invalid("max_retries", f"an integer from 0 to {MAX_MAX_RETRIES}", value)
    return int(text)


def require_verify(value: object) -> bool | str:
    """Read the ``verify`` extra: true/false, or the path of a CA bundle file.

    :param value: the raw value, ``None`` for true.
    """
    if value is None or isinstance(value, bool):
        return value is not False
    text = str(value).strip()
    if text.lower() in _TRUE | _FALSE:
        return require_bool("extra 'verify'", text, True)
    return text
