"""OpenLineage datasets and facets of the operators, built only when the OpenLineage provider asks.

Everything here imports ``openlineage`` on call, never at import: users without the
``apache-airflow-providers-openlineage`` package pay nothing, and the operators' lineage methods are
only called by its listener.

- A view is the dataset ``namespace=posthog://<host>``, ``name=<project_id>.saved_queries.<view name>``
  (the same as :func:`airflow_provider.assets.convert_asset_to_openlineage` gives its asset), with a
  schema facet from PostHog's ``columns``; the job gets a SQL facet with the view's HogQL.
- Session recordings, which the summaries are made from, are ``<project_id>.session_recordings`` in the
  same namespace; a summaries file follows OpenLineage's naming for files and object stores
  (``namespace=file``, ``name=/abs/path``; ``namespace=s3://bucket``, ``name=key``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider.assets import openlineage_namespace, storage_uri

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import ObjectStoragePath
    from openlineage.client.event_v2 import Dataset

__all__ = ["saved_query_lineage", "session_summaries_lineage"]


def saved_query_lineage(host: str, project_id: str, saved_query: dict[str, Any]) -> OperatorLineage:
    """A view as the task's output: its columns as the schema, its HogQL as the job's SQL.

    :param host: the URI host (:func:`airflow_provider.assets.uri_host`).
    :param project_id: the numeric project id.
    :param saved_query: the saved query as PostHog returns it (``name``, ``columns``, ``query``).
    """
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.event_v2 import Dataset
    from openlineage.client.facet_v2 import schema_dataset, sql_job

    fields = [
        schema_dataset.SchemaDatasetFacetFields(name=str(column["name"]), type=str(column.get("type") or ""))
        for column in saved_query.get("columns") or []
        if isinstance(column, dict) and column.get("name")
    ]
    view = Dataset(
        namespace=openlineage_namespace(host),
        name=f"{project_id}.saved_queries.{saved_query['name']}",
        facets={"schema": schema_dataset.SchemaDatasetFacet(fields=fields)} if fields else {},
    )
    hogql = (saved_query.get("query") or {}).get("query")
    job_facets = {"sql": sql_job.SQLJobFacet(query=hogql)} if isinstance(hogql, str) else {}
    return OperatorLineage(outputs=[view], job_facets=job_facets)


def session_summaries_lineage(
    host: str, project_id: str, output: ObjectStoragePath | None
) -> OperatorLineage:
    """PostHog's session recordings as the input, the summaries file (if any) as the output.

    :param host: the URI host (:func:`airflow_provider.assets.uri_host`).
    :param project_id: the numeric project id.
    :param output: the file written, or ``None`` when the records went to XCom only.
    """
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.event_v2 import Dataset

    recordings = Dataset(namespace=openlineage_namespace(host), name=f"{project_id}.session_recordings")
    outputs = [] if output is None else [_file_dataset(output)]
    return OperatorLineage(inputs=[recordings], outputs=outputs)


def _file_dataset(path: ObjectStoragePath) -> Dataset:
    from openlineage.client.event_v2 import Dataset

    # The asset URI already says which file it is (connection id left out); OpenLineage splits it.
    parts = urlsplit(storage_uri(path))
    if parts.scheme == "file":
        return Dataset(namespace="file", name=parts.path)
    return Dataset(namespace=f"{parts.scheme}://{parts.netloc}", name=parts.path.lstrip("/"))
