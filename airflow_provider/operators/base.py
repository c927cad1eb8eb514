"""What every PostHog operator and sensor has: the connection arguments, the hook, argument errors.

Subclasses extend :attr:`PostHogBaseOperator.template_fields`, e.g.
``(*PostHogBaseOperator.template_fields, "audio")``. A sensor gets the same by listing this class
before the sensor base: ``class MySensor(PostHogBaseOperator, BaseSensorOperator)``.

Argument checks come from :mod:`airflow_provider.api.arguments`. An operator runs them in
``__init__`` on the values that are not templates (:func:`is_unrendered`), so a bad literal fails
when the DAG is parsed, and again on the rendered values at the start of ``execute`` through
:func:`checked_at_execute`, so a bad rendered value fails the task before any request, without
retries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import Any, TypeVar

from airflow.sdk import BaseOperator, XComArg

from airflow_provider._compat import AirflowFailException
from airflow_provider.hooks.posthog import PostHogHook

T = TypeVar("T")


def is_unrendered(value: Any) -> bool:
    """Tell whether ``value`` is still a Jinja template or an XCom reference (known only at run time).

    :param value: an operator argument as given to the constructor.
    """
    return isinstance(value, XComArg) or (isinstance(value, str) and "{{" in value)


def checked_at_execute(check: Callable[[], T]) -> T:
    """Run an argument check on rendered values at the start of ``execute``, before any request.

    Bad input cannot get better on a retry, so the check's ``ValueError`` (which names the argument
    and what is allowed) fails the task at once, without retries.

    :param check: the check; returns the checked value or raises ``ValueError``.
    :raises AirflowFailException: with the check's message, when it raises ``ValueError``.
    """
    try:
        return check()
    except ValueError as error:
        raise AirflowFailException(str(error)) from None


class PostHogBaseOperator(BaseOperator):
    """Base of the PostHog operators and sensor: the connection arguments and a hook built from them.

    :param posthog_conn_id: the PostHog connection (templated).
    :param project_id: the PostHog project (environment) id (templated); default: the connection's.
    :param hook_params: further keyword arguments for :class:`~airflow_provider.hooks.posthog.PostHogHook`,
        e.g. ``{"timeout": 60, "max_retries": 2}``; they override the connection's extras.
    """

    template_fields: Sequence[str] = ("posthog_conn_id", "project_id")

    def __init__(
        self,
        *,
        posthog_conn_id: str = PostHogHook.default_conn_name,
        project_id: int | str | None = None,
        hook_params: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.posthog_conn_id = posthog_conn_id
        self.project_id = project_id
        self.hook_params = dict(hook_params or {})

    @cached_property
    def hook(self) -> PostHogHook:
        """The sync hook for this task's connection and project.

        Built on first use, which must be in ``execute`` (after the templates are rendered), so that a
        templated connection id or project id is used with its rendered value.
        """
        return PostHogHook(
            posthog_conn_id=self.posthog_conn_id, project_id=self.project_id, **self.hook_params
        )
