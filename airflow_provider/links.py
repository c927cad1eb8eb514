"""The "View in PostHog" buttons on task instances.

An operator stores the URL of what it created or changed in XCom while it runs (``persist``); the link
reads it back. Airflow 3 calls ``get_link`` on the worker when the task ends and keeps the answer for
the UI, so the URL must be in XCom before the task finishes (or defers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context
    from airflow.sdk.types import TaskInstanceKey


class PostHogLink(BaseOperatorLink):
    """Base of the provider's links: the URL is the value of XCom ``url_xcom_key`` of the task instance."""

    name: ClassVar[str] = "View in PostHog"
    url_xcom_key: ClassVar[str]

    @classmethod
    def persist(cls, context: Context, url: str) -> None:
        """Store ``url`` for this link on the running task instance.

        :param context: the task's execution context.
        :param url: the full PostHog UI URL (from ``PostHogHook.ui_url``).
        """
        context["ti"].xcom_push(key=cls.url_xcom_key, value=url)

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

    The path is PostHog's current one (``products/subscriptions/manifest.tsx`` in PostHog/posthog).
    """

    url_xcom_key: ClassVar[str] = "posthog_subscription_url"


class PostHogSavedQueryLink(PostHogLink):
    """The saved query (view) open in PostHog's SQL editor, ``/project/<id>/sql?open_view=<saved query id>``.

    The path is what PostHog's own ``urls.sqlEditor(undefined, view_id)`` builds
    (``frontend/src/scenes/urls.ts`` in PostHog/posthog).
    """

    url_xcom_key: ClassVar[str] = "posthog_saved_query_url"

    @staticmethod
    def ui_path(saved_query_id: str) -> str:
        """The path under ``/project/<id>/`` that opens ``saved_query_id`` (for ``PostHogHook.ui_url``).

        :param saved_query_id: the saved query's UUID.
        """
        from urllib.parse import quote

        return f"sql?open_view={quote(saved_query_id, safe='')}"
