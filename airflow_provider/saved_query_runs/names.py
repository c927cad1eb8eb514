"""A view given by ``saved_query_id`` or ``saved_query_name``: the checks, and a name turned into an id.

The checks make no request (operators run them when the DAG is parsed, templates once rendered); a
name is looked up once at execute, from a worker (:func:`saved_query_id_of`) or from the triggerer
(:func:`asaved_query_id_named`), never when the DAG is parsed.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterable
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, cast

from airflow_provider.api.arguments import invalid, require_text, require_uuid
from airflow_provider.api.errors import PostHogConfigError

if TYPE_CHECKING:
    from airflow_provider.hooks.posthog import PostHogAsyncHook, PostHogHook

#: PostHog's longest view name (``DataWarehouseSavedQuery.name``).
SAVED_QUERY_NAME_MAX_LENGTH = 128


def check_saved_query_id(value: object) -> str:
    """Return ``saved_query_id`` as a canonical UUID string, or raise naming the argument.

    :param value: the ``saved_query_id`` argument.
    :raises PostHogConfigError: for anything but a string holding a UUID.
    """
    return require_uuid(
        "saved_query_id",
        value,
        hint="View names are not accepted here: to give the view by its name, pass saved_query_name=.",
    )


def check_saved_query_name(value: object) -> str:
    """Return ``saved_query_name`` if it can be a view's name: a non-empty string of at most 128 characters.

    :param value: the ``saved_query_name`` argument.
    :raises PostHogConfigError: otherwise.
    """
    return require_text("saved_query_name", value, max_length=SAVED_QUERY_NAME_MAX_LENGTH)


def check_saved_query_arguments(
    saved_query_id: object, saved_query_name: object, skip: Callable[[object], bool] = lambda _: False
) -> None:
    """Refuse anything but exactly one of ``saved_query_id`` and ``saved_query_name``, each well formed.

    :param saved_query_id: the ``saved_query_id`` argument, or ``None``.
    :param saved_query_name: the ``saved_query_name`` argument, or ``None``.
    :param skip: values not to check yet (templates, when the DAG is parsed).
    :raises PostHogConfigError: when both or neither are given, or the one given is malformed.
    """
    if (saved_query_id is None) == (saved_query_name is None):
        given = "both" if saved_query_id is not None else "neither"
        raise PostHogConfigError(
            "Give exactly one of saved_query_id (the view's UUID) and saved_query_name (its name in "
            f"PostHog); got {given}."
        )
    if saved_query_id is not None and not skip(saved_query_id):
        check_saved_query_id(saved_query_id)
    if saved_query_name is not None and not skip(saved_query_name):
        check_saved_query_name(saved_query_name)


def saved_query_id_of(hook: PostHogHook, saved_query_id: object, saved_query_name: object) -> str:
    """The view's UUID from the rendered arguments: ``saved_query_id`` as given, or the id of the one
    view PostHog lists under exactly ``saved_query_name`` (one listing, at execute, never at parse time).

    :param hook: the sync hook of the task's connection and project.
    :param saved_query_id: the ``saved_query_id`` argument, or ``None``.
    :param saved_query_name: the ``saved_query_name`` argument, or ``None``.
    :raises PostHogConfigError: for bad arguments, or a name that no view or several views have.
    """
    check_saved_query_arguments(saved_query_id, saved_query_name)
    if saved_query_name is None:
        return check_saved_query_id(saved_query_id)
    name = check_saved_query_name(saved_query_name)
    return _one_named(name, hook.list_saved_queries(search=name))


async def asaved_query_id_named(hook: PostHogAsyncHook, saved_query_name: str) -> str:
    """The id of the one view named exactly ``saved_query_name``, from the triggerer (see
    :func:`saved_query_id_of`).

    :param hook: the async hook of the trigger's connection and project.
    :param saved_query_name: the view's name.
    :raises PostHogConfigError: for a name that no view or several views have.
    """
    name = check_saved_query_name(saved_query_name)
    listing = cast("AsyncGenerator[dict[str, Any], None]", hook.list_saved_queries(search=name))
    async with aclosing(listing):
        views = [view async for view in listing]
    return _one_named(name, views)


def _one_named(name: str, listed: Iterable[dict[str, Any]]) -> str:
    """The id of the one view of ``listed`` (PostHog's ``search``: a substring, any case) named ``name``."""
    listed = list(listed)
    named = [view for view in listed if view.get("name") == name]
    if len(named) == 1:
        return str(named[0]["id"])
    if not named:
        similar = ", ".join(repr(view.get("name")) for view in listed[:5])
        invalid(
            "saved_query_name",
            "the exact name of a saved query PostHog lists",
            name,
            "No view has this name (names match exactly, case included; PostHog does not list the "
            "views it makes for endpoints)" + (f"; views with similar names: {similar}." if similar else "."),
        )
    invalid(
        "saved_query_name",
        "the name of exactly one saved query",
        name,
        f"{len(named)} views have it ({', '.join(str(view.get('id')) for view in named)}): pass "
        "saved_query_id instead.",
    )
