"""A view given by ``saved_query_id`` or ``saved_query_name``: the checks, and a name turned into an id.

The checks make no request (operators run them when the DAG is parsed, templates once rendered); a
name is looked up once at execute, from a worker (:func:`saved_query_id_of`) or from the triggerer
(:func:`asaved_query_id_named`), never when the DAG is parsed.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterable
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, cast

from airflow_provider.api.arguments import invalid, require_text
from airflow_provider.api.endpoints import SavedQueryId, check_saved_query_id
from airflow_provider.api.errors import PostHogConfigError

if TYPE_CHECKING:
    from airflow_provider.hooks.posthog import PostHogAsyncHook, PostHogHook

#: PostHog's longest view name (``DataWarehouseSavedQuery.name``).
SAVED_QUERY_NAME_MAX_LENGTH = 128


#: Added to the error for a ``saved_query_id`` that is not a UUID: a view's name goes elsewhere.
BY_NAME_HINT = "View names are not accepted here: to give the view by its name, pass saved_query_name=."


def check_saved_query_name(value: object) -> str:
    """Return ``saved_query_name`` if it can be a view's name: a non-empty string of at most 128 characters.

    :param value: the ``saved_query_name`` argument.
    :raises PostHogConfigError: otherwise.
    """
    return require_text("saved_query_name", value, max_length=SAVED_QUERY_NAME_MAX_LENGTH)


def check_saved_query_arguments(
    saved_query_id: object, saved_query_name: object, skip: Callable[[object], bool] = lambda _: False
) -> SavedQueryId | None:
    """Refuse anything but exactly one of ``saved_query_id`` and ``saved_query_name``, each well formed.

    This is where an operator's, the sensor's or the trigger's ``saved_query_id`` is checked, once:
    the :class:`~airflow_provider.api.endpoints.SavedQueryId` it returns goes down to the hook as it
    is, never checked again.

    :param saved_query_id: the ``saved_query_id`` argument, or ``None``.
    :param saved_query_name: the ``saved_query_name`` argument, or ``None``.
    :param skip: values not to check yet (templates, when the DAG is parsed).
    :return: the checked ``saved_query_id``; ``None`` when a name is given or the id is skipped.
    :raises PostHogConfigError: when both or neither are given, or the one given is malformed.
    """
    if (saved_query_id is None) == (saved_query_name is None):
        given = "both" if saved_query_id is not None else "neither"
        raise PostHogConfigError(
            "Give exactly one of saved_query_id (the view's UUID) and saved_query_name (its name in "
            f"PostHog); got {given}."
        )
    if saved_query_name is not None and not skip(saved_query_name):
        check_saved_query_name(saved_query_name)
    if saved_query_id is None or skip(saved_query_id):
        return None
    return check_saved_query_id(saved_query_id, hint=BY_NAME_HINT)


def saved_query_id_of(hook: PostHogHook, saved_query_id: str | None, saved_query_name: str | None) -> str:
    """The view's UUID from arguments :func:`check_saved_query_arguments` checked: ``saved_query_id`` as
    it is, or the id of the one view PostHog lists under exactly ``saved_query_name`` (one listing, at
    execute, never at parse time).

    :param hook: the sync hook of the task's connection and project.
    :param saved_query_id: the ``saved_query_id`` :func:`check_saved_query_arguments` returned (a
        :class:`~airflow_provider.api.endpoints.SavedQueryId`), or ``None`` when a name is given.
    :param saved_query_name: the ``saved_query_name`` argument, or ``None``.
    :raises PostHogConfigError: for a name that no view or several views have.
    """
    if saved_query_id is not None:
        return saved_query_id
    name = str(saved_query_name)
    return _one_named(name, hook.list_saved_queries(search=name))


async def asaved_query_id_named(hook: PostHogAsyncHook, saved_query_name: str) -> SavedQueryId:
    """The id of the one view named exactly ``saved_query_name``, from the triggerer (see
    :func:`saved_query_id_of`).

    :param hook: the async hook of the trigger's connection and project.
    :param saved_query_name: the view's name, checked by the trigger's constructor.
    :raises PostHogConfigError: for a name that no view or several views have.
    """
    listing = cast("AsyncGenerator[dict[str, Any], None]", hook.list_saved_queries(search=saved_query_name))
    async with aclosing(listing):
        views = [view async for view in listing]
    return _one_named(saved_query_name, views)


def _one_named(name: str, listed: Iterable[dict[str, Any]]) -> SavedQueryId:
    """The id of the one view of ``listed`` (PostHog's ``search``: a substring, any case) named ``name``.

    The id enters here, from PostHog: it is checked once, like an id given by the user.
    """
    listed = list(listed)
    named = [view for view in listed if view.get("name") == name]
    if len(named) == 1:
        return check_saved_query_id(str(named[0]["id"]))
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
