"""PostHog views as Airflow assets: the ``posthog://`` URI scheme, its checks, and the helpers that build one.

A saved query (view) is the asset ``posthog://<host>/<project_id>/saved_queries/<view name>``:

- ``<host>`` is the PostHog host without scheme, lower-case, without the default port of its scheme
  (``us.posthog.com``, ``eu.posthog.com``, ``posthog.example.com:8443``); a path prefix of a
  self-hosted instance is not part of it;
- ``<project_id>`` is the numeric project (environment) id;
- ``<view name>`` is the name as PostHog keeps it (case kept: PostHog's names are case-sensitive).

Airflow finds :func:`normalize_uri` (checks and canonicalises), :func:`create_asset` (the factory) and
:func:`convert_asset_to_openlineage` through the provider's ``asset-uris`` entry, so that an
``Asset("posthog://...")`` written by hand is checked when the DAG is parsed and OpenLineage names it
``namespace=posthog://<host>``, ``name=<project_id>.saved_queries.<view name>`` (the database.schema.table
shape OpenLineage uses for warehouse tables). DAG authors use :func:`posthog_saved_query_asset` and never
write the URI themselves.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, quote, unquote, urlsplit

from airflow.sdk import Asset, AssetAlias, ObjectStoragePath

from airflow_provider.api.config import normalise_host, validate_project_id
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
    "saved_query_alias",
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
    parts = urlsplit(normalise_host(host, port=port, allow_insecure_http=True))
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
    _check_view_name(name)
    return f"{SCHEME}://{host}/{project}/{_SAVED_QUERIES}/{quote(name, safe='.$_')}"


def normalize_uri(parts: SplitResult) -> SplitResult:
    """Check and canonicalise a ``posthog://`` URI (Airflow calls this for every such asset).

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
            f"PostHog asset URI {parts.geturl()!r}: the project id must be numeric, got {project!r}."
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
    """The asset of a PostHog view, for a DAG's ``schedule``, ``inlets`` or ``outlets``.

    The host and project come from the connection (read when the DAG file is parsed: Airflow caches it
    in the DAG processor; environment variables and secrets backends work too). Give both ``host`` and
    ``project_id`` to read no connection at all.

    :param name: the view's name, as in PostHog.
    :param conn_id: the PostHog connection whose host and ``project_id`` extra are used.
    :param project_id: the numeric project id; default: the connection's ``project_id`` extra.
    :param host: the PostHog host, e.g. ``https://eu.posthog.com``; default: the connection's.
    :raises PostHogConfigError: for a bad name or project id, or a connection that lacks a project id.
    """
    _check_view_name(name)
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


def saved_query_alias(conn_id: str, project_id: int | str | None, view: str) -> AssetAlias:
    """The alias an operator declares when the view's asset is known only at run time.

    At run time the operator adds the view's ``posthog://`` asset to it, so a DAG scheduled on that
    asset runs as if the asset had been declared.

    :param conn_id: the operator's connection id (may be a template).
    :param project_id: the operator's project id, if given.
    :param view: what names the view in the operator: its name or its saved-query id (may be a template).
    """
    project = "" if project_id is None else f"/{project_id}"
    return AssetAlias(name=f"{SCHEME}-saved-query:{conn_id}{project}/{view}")


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
    project = validate_project_id(project_id, "project_id")
    if not project.isdigit():
        raise PostHogConfigError(
            "project_id must be the numeric PostHog project id for an asset URI ('@current' names "
            "different projects for different keys); set the connection's 'project_id' extra."
        )
    return project


def _check_view_name(name: object) -> None:
    if not isinstance(name, str) or not _VIEW_NAME.match(name):
        raise PostHogConfigError(
            f"name must be a PostHog view name (letters, digits, '_', '.', '$', at most 128 characters, "
            f"not starting with a digit or '.'); got {name!r}."
        )
