"""PostHog views as Airflow assets: the ``posthog://`` URI scheme, its checks, and the helpers that build one.

A saved query (view) is the asset ``posthog://<host>/<project_id>/saved_queries/<view name>``:

- ``<host>`` is the PostHog host without scheme, lower-case, without the default port of its scheme
  (``us.posthog.com``, ``eu.posthog.com``, ``posthog.example.com:8443``); a path prefix of a
  self-hosted instance is not part of it;
- ``<project_id>`` is the numeric project (environment) id;
- ``<view name>`` is the name as PostHog keeps it (case kept: PostHog's names are case-sensitive).

Airflow finds :func:`normalize_uri` (checks and canonicalizes), :func:`create_asset` (the factory) and
:func:`convert_asset_to_openlineage` through the provider's ``asset-uris`` entry, so that an
``Asset("posthog://...")`` written by hand is checked when the DAG is parsed and OpenLineage names it
``namespace=posthog://<host>``, ``name=<project_id>.saved_queries.<view name>`` (the database.schema.table
shape OpenLineage uses for warehouse tables). DAG authors use :func:`posthog_saved_query_asset` and never
write the URI themselves.

A DAG file names a view's asset with the host and project given (``posthog_saved_query_asset("v",
host=..., project_id=...)``), so parsing reads no connection. The URI has to be concrete when the DAG is
parsed: Airflow matches an event to a schedule by the asset's name and URI together, and a name reference
(``Asset.ref(name=...)``) resolves only to an active asset, which one that the operators add through their
alias at run time never becomes on Airflow 3.1 (docs/assets.md, "Why the host and project are in the DAG
file").
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, quote, unquote, urlsplit

from airflow.sdk import Asset, ObjectStoragePath

from airflow_provider.api.arguments import invalid
from airflow_provider.api.connection_fields import normalize_host, require_project_id
from airflow_provider.api.errors import PostHogConfigError

if TYPE_CHECKING:
    from openlineage.client.event_v2 import Dataset as OpenLineageDataset

__all__ = [
    "SCHEME",
    "convert_asset_to_openlineage",
    "create_asset",
    "normalize_uri",
    "openlineage_namespace",
    "posthog_saved_query_asset",
    "require_view_name",
    "saved_query_uri",
    "storage_folder_asset",
    "storage_uri",
    "uri_host",
]

SCHEME = "posthog"
_SAVED_QUERIES = "saved_queries"
# PostHog's view-name rule (docs/posthog-api.md, "Saved queries"): letters, digits, '_', '.', '$'.
_VIEW_NAME = re.compile(r"^[A-Za-z_$][A-Za-z0-9_.$]{0,127}$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def uri_host(host: str | None, port: int | None = None) -> str:
    """The ``<host>`` part of a ``posthog://`` URI from a connection's host (and port).

    :param host: the connection's host, with or without scheme; empty means US Cloud.
    :param port: the connection's port, when the host carries none.
    :raises PostHogConfigError: for a host that is not an http(s) URL.
    """
    parts = urlsplit(normalize_host(host, port=port, allow_insecure_http=True))
    hostname = (parts.hostname or "").lower()
    if parts.port is not None and parts.port != _DEFAULT_PORTS[parts.scheme]:
        return f"{hostname}:{parts.port}"
    return hostname


def saved_query_uri(host: str, project_id: int | str, name: str) -> str:
    """The canonical URI of a view.

    :param host: the URI host, as :func:`uri_host` returns it.
    :param project_id: the numeric project id.
    :param name: the view's name.
    :raises PostHogConfigError: naming the part that is not allowed.
    """
    project = _numeric_project_id(project_id)
    require_view_name(name)
    return f"{SCHEME}://{host}/{project}/{_SAVED_QUERIES}/{quote(name, safe='.$_')}"


def normalize_uri(parts: SplitResult) -> SplitResult:
    """Check and canonicalize a ``posthog://`` URI (Airflow calls this for every such asset).

    :param parts: the URI, already split by Airflow.
    :raises ValueError: saying which part is malformed and what the canonical form is.
    """
    form = f"the form {SCHEME}://<host>/<project_id>/{_SAVED_QUERIES}/<view name>"
    if not parts.hostname:
        raise ValueError(f"PostHog asset URI {parts.geturl()!r} has no host; use {form}.")
    segments = [unquote(segment) for segment in parts.path.strip("/").split("/")] if parts.path else []
    if len(segments) != 3 or segments[1] != _SAVED_QUERIES:
        raise ValueError(f"PostHog asset URI {parts.geturl()!r} is not a saved query; use {form}.")
    project, _, name = segments
    if not project.isdigit():
        raise ValueError(
            f"PostHog asset URI {parts.geturl()!r}: the project id must be numeric; got {project!r}."
        )
    if not _VIEW_NAME.match(name):
        raise ValueError(
            f"PostHog asset URI {parts.geturl()!r}: {name!r} is not a PostHog view name (letters, digits, "
            "'_', '.', '$', at most 128 characters, not starting with a digit or '.')."
        )
    host = parts.hostname.lower()
    if parts.port is not None and parts.port not in _DEFAULT_PORTS.values():
        host = f"{host}:{parts.port}"
    return parts._replace(netloc=host, path=f"/{project}/{_SAVED_QUERIES}/{quote(name, safe='.$_')}")


def create_asset(
    *, host: str, project_id: int | str, name: str, extra: dict[str, Any] | None = None
) -> Asset:
    """The asset of a view (the ``asset-uris`` factory).

    :param host: the PostHog host, with or without scheme.
    :param project_id: the numeric project id.
    :param name: the view's name.
    :param extra: the asset's own extra (not an event's).
    """
    return Asset(uri=saved_query_uri(uri_host(host), project_id, name), extra=extra or {})


def posthog_saved_query_asset(
    name: str,
    *,
    conn_id: str = "posthog_default",
    project_id: int | str | None = None,
    host: str | None = None,
) -> Asset:
    """The asset of a PostHog view, for a DAG's ``schedule``, ``inlets``, ``outlets`` or an ``AssetWatcher``.

    Give ``host`` and ``project_id``, the ones of the connection the operators and triggers use, and
    nothing is read: the DAG file parses without a connection, network or database, which is what a DAG
    file should do. The asset is the one the operators emit events for at run time (they build it
    from their connection), so a DAG scheduled on it runs after them.

    Without them the missing parts come from the connection ``conn_id``, read every time the file is
    parsed; the file then fails to import wherever that connection is not defined. This is kept for DAG
    files written that way; new ones pass ``host`` and ``project_id``.

    :param name: the view's name, as in PostHog.
    :param conn_id: the connection read for what is not given.
    :param project_id: the numeric project id; default: the connection's ``project_id`` extra.
    :param host: the PostHog host, e.g. ``https://eu.posthog.com``; default: the connection's.
    :raises PostHogConfigError: for a bad name, host or project id, or a connection that lacks a project id.
    """
    require_view_name(name)
    if host is None or project_id is None:
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(conn_id)
        if host is None:
            host = conn.host or ""
            if conn.port and "://" not in host:
                host = f"{host}:{conn.port}"
        if project_id is None:
            project_id = conn.extra_dejson.get("project_id")
            if project_id is None:
                raise PostHogConfigError(
                    f"posthog_saved_query_asset({name!r}): connection {conn_id!r} has no 'project_id' "
                    "extra; pass project_id=<numeric id>."
                )
    return create_asset(host=host, project_id=project_id, name=name)


def storage_uri(path: ObjectStoragePath) -> str:
    """The URI that names a local or object-store path as an asset: ``file:///abs/dir``, ``s3://bucket/key``.

    A connection id in the path (``s3://aws_default@bucket/key``) is left out: it says how to reach
    the data, not which data it is.

    :param path: the path.
    """
    protocol = path.protocol or "file"
    if protocol == "local":
        protocol = "file"
    location = path.path
    if protocol == "file" and not location.startswith("/"):
        location = f"/{location}"
    return f"{protocol}://{location}"


def storage_folder_asset(folder: str | ObjectStoragePath) -> Asset:
    """The asset of a folder that ``PostHogSessionSummariesOperator`` writes its files to.

    Schedule a DAG on it to run after each file lands; the event's extra names the file (``path``),
    its ``sha256``, the date window and the counts.

    :param folder: the folder, as a path or URL (``file:///data/summaries``, ``s3://bucket/prefix``).
    """
    return Asset(uri=storage_uri(ObjectStoragePath(folder)))


def openlineage_namespace(host: str) -> str:
    """OpenLineage's namespace for one PostHog host: ``posthog://<host>``.

    :param host: the URI host, as :func:`uri_host` returns it.
    """
    return f"{SCHEME}://{host}"


def convert_asset_to_openlineage(asset: Asset, lineage_context: Any) -> OpenLineageDataset:
    """The OpenLineage dataset of a ``posthog://`` asset (the ``asset-uris`` converter).

    :param asset: the asset.
    :param lineage_context: unused; Airflow passes it to every converter.
    """
    from openlineage.client.event_v2 import Dataset as OpenLineageDataset

    parts = normalize_uri(urlsplit(asset.uri))
    project, _, name = (unquote(segment) for segment in parts.path.strip("/").split("/"))
    return OpenLineageDataset(
        namespace=openlineage_namespace(parts.netloc), name=f"{project}.{_SAVED_QUERIES}.{name}"
    )


def _numeric_project_id(project_id: int | str) -> str:
    project = require_project_id("project_id", project_id)
    if not project.isdigit():
        invalid(
            "project_id",
            "the numeric PostHog project id for an asset URI ('@current' names different projects for "
            "different keys)",
            project_id,
            "Set the connection's 'project_id' extra.",
        )
    return project


def require_view_name(name: object) -> str:
    """Return ``name`` if PostHog accepts it as a view's name.

    :param name: the view's name.
    :raises PostHogConfigError: naming the rule.
    """
    if not isinstance(name, str) or not _VIEW_NAME.match(name):
        invalid(
            "name",
            "a PostHog view name (letters, digits, '_', '.', '$', at most 128 characters, not starting "
            "with a digit or '.')",
            name,
        )
    return name
