"""A watcher trigger that starts DAGs when PostHog refreshes a view (for ``AssetWatcher``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from airflow_provider.api.errors import PostHogError
from airflow_provider.hooks.posthog import PostHogAsyncHook
from airflow_provider.saved_query_refreshes import RefreshWatermark
from airflow_provider.saved_query_runs.state import SavedQueryRunStatus
from airflow_provider.saved_query_runs.suspension import Suspension, aread_suspension

_JOBS_PAGE = 100


class PostHogSavedQueryRefreshedTrigger(BaseEventTrigger):
    """
    Yield one event for each newly completed data-modeling job of a PostHog view.

    PostHog's scheduled materializations and explicit runs alike: any job of the view that ends
    ``Completed`` after the watcher started. Use it in an ``AssetWatcher`` on the view's asset::

        view = posthog_saved_query_asset("daily_pageviews", host="https://eu.posthog.com", project_id=12345)
        view.watchers = [AssetWatcher(name="daily_pageviews_refreshed",
                                      trigger=PostHogSavedQueryRefreshedTrigger(saved_query_name="daily_pageviews"))]

    Each event's payload (the asset event's extra) holds ``saved_query_id``, ``name``, ``job_id``,
    ``status``, ``rows_materialized``, ``created_at`` and ``last_run_at`` of the job.

    Never twice for one job: on Airflow 3.3 and newer the watermark (see
    :mod:`airflow_provider.saved_query_refreshes`) is kept in the asset's state store, saved before the
    event is yielded, so a restarted triggerer goes on where it stopped and also reports the jobs that
    completed while it was down. Before 3.3 it is kept in memory: a (re)started watcher takes
    everything already completed as seen, so a job that completes while no triggerer runs it is
    missed, never reported twice. Polls go through the shared async session with the same rate limits
    as every other call; PostHog being unreachable, throttling or refusing is logged once per outage
    and polling goes on.

    A view PostHog has suspended (after repeated failed runs its schedule skips it, so no refresh
    comes until it is run or resumed) is logged as a warning once per suspension, with PostHog's
    reason, and watching goes on; its resumption is logged too. While the view's newest job has
    failed (the only time it can be suspended), each poll reads the view as well.

    :param saved_query_name: the view's name, as in PostHog.
    :param poll_interval: seconds between polls (one request each, two while the view is not found).
    :param posthog_conn_id: the Airflow connection id; the key itself never enters the kwargs.
    :param project_id: PostHog project id; defaults to the connection's ``project_id`` extra.
    """

    def __init__(
        self,
        *,
        saved_query_name: str,
        poll_interval: float = 60.0,
        posthog_conn_id: str = "posthog_default",
        project_id: int | str | None = None,
    ) -> None:
        super().__init__()
        self.saved_query_name = saved_query_name
        self.poll_interval = float(poll_interval)
        self.posthog_conn_id = posthog_conn_id
        self.project_id = None if project_id is None else str(project_id)
        self._trouble: str | None = None
        self._suspension: Suspension | None = None  # the one logged, until the view is resumed
        self._store: Any = None  # the asset's state accessor, where the line has one

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The classpath and plain, stable kwargs (Airflow identifies a watcher by their hash)."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "saved_query_name": self.saved_query_name,
                "poll_interval": self.poll_interval,
                "posthog_conn_id": self.posthog_conn_id,
                "project_id": self.project_id,
            },
        )

    @property
    def _state_key(self) -> str:
        return f"posthog_refreshed:{self.posthog_conn_id}:{self.project_id or ''}:{self.saved_query_name}"

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll the view's jobs forever; yield an event per newly completed job, oldest first."""
        async with PostHogAsyncHook(posthog_conn_id=self.posthog_conn_id, project_id=self.project_id) as hook:
            saved_query_id: str | None = None
            watermark = await self._load_watermark()
            while True:
                try:
                    if saved_query_id is None:
                        saved_query_id = await self._find_view(hook)
                        if saved_query_id is None and watermark is None:
                            # No view yet: every job it will ever have comes after the watcher started.
                            watermark = RefreshWatermark()
                    if saved_query_id is not None:
                        fresh, watermark = await self._poll(hook, saved_query_id, watermark)
                        for job in fresh:
                            yield TriggerEvent(self._payload(saved_query_id, job))
                except PostHogError as error:
                    self._note_trouble(f"Cannot read PostHog's jobs of view {self.saved_query_name}: {error}")
                await asyncio.sleep(self.poll_interval)

    async def _poll(
        self, hook: PostHogAsyncHook, saved_query_id: str, watermark: RefreshWatermark | None
    ) -> tuple[list[dict[str, Any]], RefreshWatermark]:
        """Read the jobs the watermark must see again; save the new watermark before reporting."""
        jobs = await self._jobs(hook, saved_query_id, watermark)
        await self._note_suspension(hook, saved_query_id, jobs)
        self._note_recovery()
        fresh: list[dict[str, Any]] = []
        if watermark is None:
            after = RefreshWatermark.starting_from(jobs)
        else:
            fresh, after = watermark.take(jobs)
        if after != watermark:
            await self._save_watermark(after)
        return fresh, after

    async def _jobs(
        self, hook: PostHogAsyncHook, saved_query_id: str, watermark: RefreshWatermark | None
    ) -> list[dict[str, Any]]:
        """The view's jobs created at or after the watermark (newest first, so the walk stops early).

        Without a watermark (a watcher starting afresh) only the newest page is read: older jobs are
        history, not news.
        """
        jobs: list[dict[str, Any]] = []
        async for job in hook.list_data_modeling_jobs(saved_query_id, page_size=_JOBS_PAGE):
            if watermark is None and len(jobs) == _JOBS_PAGE:
                break
            if watermark is not None and not watermark.covers(job):
                break
            jobs.append(job)
        return jobs

    async def _find_view(self, hook: PostHogAsyncHook) -> str | None:
        async for saved_query in hook.list_saved_queries(search=self.saved_query_name):
            if saved_query.get("name") == self.saved_query_name:
                self._note_recovery()
                return str(saved_query["id"])
        self._note_trouble(f"PostHog has no view named {self.saved_query_name} (yet); looking again.")
        return None

    async def _note_suspension(
        self, hook: PostHogAsyncHook, saved_query_id: str, jobs: list[dict[str, Any]]
    ) -> None:
        """Log a suspension of the view once, and its end; the view is read only while its newest
        job (always among ``jobs``: the watermark re-reads it) has failed, or after a suspension."""
        newest = max(jobs, key=lambda job: str(job.get("created_at")), default=None)
        failed = newest is not None and newest.get("status") == SavedQueryRunStatus.FAILED.value
        if not failed and self._suspension is None:
            return
        suspension = await aread_suspension(hook, saved_query_id)
        if suspension is not None and suspension != self._suspension:
            self.log.warning(
                "%s No refresh of it will come until it is run or resumed (PostHogHook.resume_saved_query); "
                "the watcher keeps watching.",
                suspension.describe(self.saved_query_name),
            )
        elif suspension is None and self._suspension is not None:
            self.log.info(
                "PostHog has resumed view %s; its refreshes are watched as before.", self.saved_query_name
            )
        self._suspension = suspension

    def _payload(self, saved_query_id: str, job: dict[str, Any]) -> dict[str, Any]:
        return {
            "saved_query_id": str(saved_query_id),
            "name": self.saved_query_name,
            "job_id": str(job["id"]),
            "status": job.get("status"),
            "rows_materialized": job.get("rows_materialized"),
            "created_at": job.get("created_at"),
            "last_run_at": job.get("last_run_at"),
        }

    async def _load_watermark(self) -> RefreshWatermark | None:
        """The watermark saved in the asset's state (Airflow 3.3+), or ``None`` to start from now."""
        store = getattr(self, "asset_state_store", None)  # set by 3.3+'s triggerer; absent before
        if store is None:
            return None
        try:
            state = await store.aget(self._state_key)
        except ValueError:  # one trigger watching several assets: their states cannot be told apart
            self.log.warning(
                "This watcher serves several assets; its watermark for view %s is kept in memory only.",
                self.saved_query_name,
            )
            self._store = None
            return None
        self._store = store
        watermark = RefreshWatermark.from_state(state)
        if watermark is not None:
            self.log.info(
                "Watching view %s from its saved watermark (%s).", self.saved_query_name, watermark.since
            )
        return watermark

    async def _save_watermark(self, watermark: RefreshWatermark) -> None:
        if self._store is not None:
            await self._store.aset(self._state_key, watermark.to_state())

    def _note_trouble(self, message: str) -> None:
        if message != self._trouble:
            self._trouble = message
            self.log.warning(message)

    def _note_recovery(self) -> None:
        if self._trouble is not None:
            self.log.info("Reading view %s again.", self.saved_query_name)
            self._trouble = None
