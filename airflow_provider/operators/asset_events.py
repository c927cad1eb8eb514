"""How the operators tell DAGs what they changed: their default outlet and the asset event they emit.

An operator whose asset is known only at run time (a view's URI needs the connection's host and
project, a summaries folder may be a template) declares an :class:`~airflow.sdk.AssetAlias` named after
its DAG and task, and adds the concrete asset to it when it succeeds; Airflow then records an event for
that asset, and DAGs scheduled on it run as if the asset had been declared. A DAG author who declares
the asset itself (``outlets=[posthog_saved_query_asset("my_view", host=..., project_id=...)]``) gets the
same event with the same extra. ``outlets=[]`` turns the events off. A task that fails emits nothing
(Airflow's rule).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, AssetAlias

from airflow_provider.assets import storage_folder_asset
from airflow_provider.operators.base import is_unrendered

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context


def default_outlets(kwargs: Mapping[str, Any], alias: str) -> list[Any]:
    """The outlets an operator declares: the caller's when given (even ``[]``), else one alias.

    :param kwargs: the operator's keyword arguments.
    :param alias: the alias's name.
    """
    if kwargs.get("outlets") is not None:
        return list(kwargs["outlets"])
    return [AssetAlias(name=alias)]


def folder_outlets(kwargs: Mapping[str, Any], output_path: Any) -> list[Any]:
    """The outlets of a task that writes files: the caller's when given (even ``[]``), else the output
    folder's asset when the folder is known now, else none.

    No alias for a templated folder: Airflow records an alias's first asset with a plain insert, and
    concurrent first runs (a backfill) collide on it in PostgreSQL and fail. Declare the folder's asset
    (:func:`~airflow_provider.assets.storage_folder_asset`) or an alias yourself.

    :param kwargs: the operator's keyword arguments.
    :param output_path: the file the task writes (may be a template).
    """
    if kwargs.get("outlets") is not None:
        return list(kwargs["outlets"])
    folder = str(output_path or "").rpartition("/")[0]
    if not folder or is_unrendered(folder):
        return []
    try:
        return [storage_folder_asset(folder)]
    except ValueError:  # not a usable path: the operator's check_arguments refuses it, naming it
        return []


def task_alias(kind: str, operator: BaseOperator) -> str:
    """An alias name unique to one task: ``<kind>:<dag_id>.<task_id>``.

    :param kind: what the task writes, e.g. ``posthog-saved-query``.
    :param operator: the task, after ``BaseOperator.__init__`` (which knows its DAG when it is made
        inside one; a task given its DAG later has an alias named after the task alone).
    """
    owner = f"{operator.dag_id}." if operator.has_dag() else ""
    return f"{kind}:{owner}{operator.task_id}"


def emit_asset_event(operator: BaseOperator, context: Context, asset: Asset, extra: dict[str, Any]) -> bool:
    """Put ``extra`` on the event of ``asset``: through each alias outlet, or on the declared asset.

    :param operator: the succeeding task.
    :param context: its context (``outlet_events``).
    :param asset: the concrete asset the task changed.
    :param extra: the event's extra (plain JSON values).
    :returns: whether an event will be emitted for ``asset``.
    """
    emitted = False
    for outlet in operator.outlets:
        if isinstance(outlet, AssetAlias):
            context["outlet_events"][outlet].add(asset, extra=extra)
            emitted = True
        elif isinstance(outlet, Asset) and outlet.uri == asset.uri:
            context["outlet_events"][outlet].extra.update(extra)
            emitted = True
    if emitted:
        # A DAG scheduled on a view names the asset's URI itself; this line shows the URI to compare.
        operator.log.info("Asset event for %s.", asset.uri)
    elif operator.outlets:
        operator.log.warning(
            "None of this task's outlets is %s, so no event carries what it did; declare that asset "
            "or an AssetAlias as an outlet.",
            asset.uri,
        )
    return emitted
