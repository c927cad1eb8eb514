"""Checks of a PostHog connection's fields and extras: host, project, API prefix, timeouts, retries, TLS.

:class:`~airflow_provider.api.config.ClientConfig` is built from them, and asset URIs use the host
and project checks without building a client. Every check raises :class:`PostHogConfigError` through
:func:`~airflow_provider.api.arguments.invalid`, so its message has the one format of every argument
check (``"<field> must be <what is allowed>; got <value>."``) and names the connection field or extra
to fix, before any request is sent. The ``require_*`` functions read what a connection gives: extras
often arrive as text (from the UI or a URI), and an empty one means the default.
"""

from __future__ import annotations

import ipaddress
import re
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
