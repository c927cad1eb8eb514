"""The "View in PostHog" buttons on task instances.

An operator stores the URL of what it created or changed in XCom while it runs (``persist``); the link
reads it back. Airflow 3 calls ``get_link`` on the worker when the task ends and keeps the answer for
the UI, so the URL must be in XCom before the task finishes (or defers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar
from urllib.parse import quote

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context

    from airflow_provider._compat import TaskInstanceKey
    from airflow_provider.hooks.posthog import PostHogHook


class PostHogLink(BaseOperatorLink):
    """Base of the provider's links: the URL is the value of XCom ``url_xcom_key`` of the task instance."""

    name: ClassVar[str] = "View in PostHog"
    url_xcom_key: ClassVar[str]
    ui_page: ClassVar[str]
    """The page's path under ``/project/<id>/``, with ``{id}`` for the object's (URL-quoted) id."""

    @classmethod
    def persist(cls, context: Context, url: str) -> None:
        """Store ``url`` for this link on the running task instance.

        :param context: the task's execution context.
        :param url: the full PostHog UI URL (from ``PostHogHook.ui_url``).
        """
        context["ti"].xcom_push(key=cls.url_xcom_key, value=url)

    @classmethod
    def push(cls, context: Context, hook: PostHogHook, object_id: str | int) -> None:
        """Store the URL of ``object_id`` in the hook's host and project (call it before any deferral).

        :param context: the task's execution context.
        :param hook: the task's hook, which knows the host and project for the URL.
        :param object_id: the PostHog object the link opens.
        """
        cls.persist(context, hook.ui_url(cls.ui_path(object_id)))

    @classmethod
    def ui_path(cls, object_id: str | int) -> str:
        """The path under ``/project/<id>/`` that opens ``object_id`` (for ``PostHogHook.ui_url``).

        :param object_id: the PostHog object the link opens.
        """
        return cls.ui_page.format(id=quote(str(object_id), safe=""))

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """Return the stored URL, or an empty string when the task stored none (e.g. it failed first).

        :param operator: the operator the link belongs to.
        :param ti_key: the task instance to read the URL of.
        """
        from airflow.sdk.execution_time.xcom import XCom

        url = XCom.get_value(ti_key=ti_key, key=self.url_xcom_key)
        return url if isinstance(url, str) else ""


class PostHogSubscriptionLink(PostHogLink):
    """The subscription's page, ``/project/<id>/subscriptions/<subscription id>``.

    The path is PostHog's current one (``docs/posthog-api.md`` §1, "UI pages").
    """

    url_xcom_key: ClassVar[str] = "posthog_subscription_url"
    ui_page: ClassVar[str] = "subscriptions/{id}"


class PostHogSavedQueryLink(PostHogLink):
    """The saved query (view) open in PostHog's SQL editor, ``/project/<id>/sql?open_view=<saved query id>``.

    The path is the one PostHog's own UI builds for a view (``docs/posthog-api.md`` §1, "UI pages").
    """

    url_xcom_key: ClassVar[str] = "posthog_saved_query_url"
    ui_page: ClassVar[str] = "sql?open_view={id}"
