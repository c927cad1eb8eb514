"""The connection arguments and the hook every PostHog operator and sensor shares.

It lives outside the ``operators`` package so that a sensor can use it without importing every operator.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

from airflow.sdk import BaseOperator

from airflow_provider.hooks.posthog import PostHogHook


class PostHogBaseOperator(BaseOperator):
    """Base of the PostHog operators: the connection arguments and a hook built from them.

    Subclasses extend :attr:`template_fields`, e.g. ``(*PostHogBaseOperator.template_fields, "audio")``.
    A sensor gets the same by listing it before the sensor base:
    ``class MySensor(PostHogBaseOperator, BaseSensorOperator)``.

    :param posthog_conn_id: the PostHog connection (templated).
    :param project_id: the PostHog project (environment) id (templated); default: the connection's.
    """

    template_fields: Sequence[str] = ("posthog_conn_id", "project_id")

    def __init__(
        self, *, posthog_conn_id: str = "posthog_default", project_id: int | str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.posthog_conn_id = posthog_conn_id
        self.project_id = project_id

    @cached_property
    def hook(self) -> PostHogHook:
        """The sync hook for this task's connection and project.

        Built on first use, which must be in ``execute`` (after the templates are rendered), so that a
        templated connection id or project id is used with its rendered value.
        """
        return PostHogHook(posthog_conn_id=self.posthog_conn_id, project_id=self.project_id)
