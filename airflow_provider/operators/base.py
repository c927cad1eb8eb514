"""What every PostHog operator and sensor has: the connection arguments, the hook, argument errors.

Subclasses extend :attr:`PostHogBaseOperator.template_fields`, e.g.
``(*PostHogBaseOperator.template_fields, "audio")``. A sensor gets the same by listing this class
before the sensor base: ``class MySensor(PostHogBaseOperator, BaseSensorOperator)``.

Every operator checks its arguments in one method, :meth:`PostHogBaseOperator.check_arguments`, with
the checks of :mod:`airflow_provider.api.arguments`. The base runs it twice: once the operator is
built, with ``rendered=False`` (values that are still templates, :func:`is_unrendered`, are skipped;
:func:`is_known` and :func:`check_when_known` say so once), so a bad literal fails when the DAG is
parsed; and at the start of ``execute``, with ``rendered=True``, after Airflow rendered the templates,
so a bad rendered value fails the task before any request, without retries (:func:`checked_at_execute`).
An operator or sensor overrides ``check_arguments`` and defines no other check method, and checks
nothing in ``__init__``;
``execute`` then reads values known to be good. With ``rendered=True`` it may keep a value's checked
form (a canonical id, a time as epoch seconds) on the operator, so that nothing below checks it again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cached_property, wraps
from typing import Any, TypeVar

from airflow.sdk import BaseOperator, XComArg
from airflow.sdk.bases.operator import BaseOperatorMeta

from airflow_provider._compat import AirflowFailException
from airflow_provider.hooks.posthog import PostHogHook

T = TypeVar("T")


def is_unrendered(value: Any) -> bool:
    """Tell whether ``value`` is still a Jinja template or an XCom reference (known only at run time).

    :param value: an operator argument as given to the constructor.
    """
    return isinstance(value, XComArg) or (isinstance(value, str) and "{{" in value)


def is_known(value: Any, *, rendered: bool) -> bool:
    """Tell whether ``check_arguments`` can check ``value``: templates are rendered, or it is no template.

    :param value: an operator argument.
    :param rendered: whether Airflow has rendered the templates.
    """
    return rendered or not is_unrendered(value)


def check_when_known(value: Any, check: Callable[[Any], T], *, rendered: bool) -> Any:
    """Check ``value`` once it is known; after rendering return the checked form, which execute sends.

    Before rendering a literal is checked and returned as given, and a template is returned unchecked.

    :param value: an operator argument.
    :param check: the check (``require_*``), returning the checked value or raising ``ValueError``.
    :param rendered: whether Airflow has rendered the templates.
    """
    if rendered:
        return check(value)
    if not is_unrendered(value):
        check(value)
    return value


def checked_at_execute(check: Callable[[], T]) -> T:
    """Run a check of the task's input in ``execute``, failing the task for good on bad input.

    Used by the base for :meth:`PostHogBaseOperator.check_arguments` (before any request), and by the
    saved-query operators and sensor around looking up ``saved_query_name`` (a name no view has).
    Bad input cannot get better on a retry, so the check's ``ValueError`` (which names the argument
    and what is allowed) fails the task at once, without retries.

    :param check: the check; returns the checked value or raises ``ValueError``.
    :raises AirflowFailException: with the check's message, when it raises ``ValueError``.
    """
    try:
        return check()
    except ValueError as error:
        raise AirflowFailException(str(error)) from None


def _checks_first(execute: Callable[..., Any]) -> Callable[..., Any]:
    """``execute`` that first runs ``check_arguments(rendered=True)``, failing the task on bad input."""

    @wraps(execute)
    def checked_execute(self: PostHogBaseOperator, *args: Any, **kwargs: Any) -> Any:
        checked_at_execute(lambda: self.check_arguments(rendered=True))
        return execute(self, *args, **kwargs)

    return checked_execute


class PostHogOperatorMeta(BaseOperatorMeta):
    """Runs :meth:`PostHogBaseOperator.check_arguments` when an operator is built and before it executes.

    A metaclass because "built" means after the ``__init__`` of the most derived class (a subclass sets
    its attributes after calling ``super().__init__``), which only ``__call__`` sees; and ``execute`` is
    wrapped the way Airflow's own metaclass wraps it, so every subclass checks first without calling
    anything itself. ``execute_complete`` (after a deferral) is not checked again.
    """

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> Any:
        if callable(namespace.get("execute")):
            namespace["execute"] = _checks_first(namespace["execute"])
        return super().__new__(mcs, name, bases, namespace, **kwargs)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        operator = super().__call__(*args, **kwargs)
        operator.check_arguments(rendered=False)
        return operator


class PostHogBaseOperator(BaseOperator, metaclass=PostHogOperatorMeta):
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

    def check_arguments(self, *, rendered: bool) -> None:
        """Refuse bad arguments before any request; the one check method an operator overrides.

        Called once the operator is built (``rendered=False``: skip the values that are still templates,
        :func:`is_unrendered`) and at the start of ``execute`` (``rendered=True``: every value is final).
        It sends nothing and reads no connection.

        :param rendered: whether Airflow has rendered the templates.
        :raises PostHogConfigError: naming the argument and what is allowed
            (:mod:`airflow_provider.api.arguments`).
        """

    @cached_property
    def hook(self) -> PostHogHook:
        """The sync hook for this task's connection and project.

        Built on first use, which must be in ``execute`` (after the templates are rendered), so that a
        templated connection id or project id is used with its rendered value.
        """
        return PostHogHook(
            posthog_conn_id=self.posthog_conn_id, project_id=self.project_id, **self.hook_params
        )
