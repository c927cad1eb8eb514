"""Generate PostHog's AI summaries for the sessions of a run's data interval (or for given sessions)."""

from __future__ import annotations

import ast
import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import ObjectStoragePath
from airflow.sdk.exceptions import AirflowException

from airflow_provider._compat import AirflowFailException
from airflow_provider.api.arguments import require_datetime, require_int, require_str_list, require_text
from airflow_provider.api.errors import PostHogConfigError
from airflow_provider.api.limits import MAX_FOCUS_AREA_LENGTH, MAX_SUMMARY_BATCH
from airflow_provider.assets import storage_folder_asset
from airflow_provider.hooks.posthog import MAX_SUMMARY_CONCURRENCY, PostHogHook
from airflow_provider.operators.asset_events import announce
from airflow_provider.operators.base import PostHogBaseOperator, checked_at_execute, is_unrendered
from airflow_provider.operators.storage_paths import require_storage_path
from airflow_provider.operators.summary_output import SummaryOutput, record_succeeded

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context, XComArg

EMPTY_INTERVAL_HELP = (
    "Airflow 3 runs a cron schedule such as '@daily' with CronTriggerTimetable, whose runs cover no "
    "interval. Either schedule the DAG with CronDataIntervalTimetable (e.g. "
    "schedule=CronDataIntervalTimetable('0 0 * * *', timezone='UTC'), so each run covers the day "
    "before it), or pass lookback=timedelta(days=1) to summarise the sessions that started in the "
    "day before each run, or pass date_from and date_to."
)
NO_INTERVAL_HELP = (
    "This run has no data interval: a run triggered without a logical date (Airflow 3's default when "
    "triggering through the REST API or the UI, and for asset-triggered runs) has none. Trigger it with "
    "a logical date, or set lookback (e.g. lookback=timedelta(days=1)) to summarise the sessions that "
    "started in that time before the run's run_after, or pass date_from and date_to."
)
_EXAMPLE_IDS_IN_LOG = 5


class PostHogSessionSummariesOperator(PostHogBaseOperator):
    """Summarise sessions with PostHog's AI and write one JSON Lines record per session.

    The sessions are ``session_ids`` when given, otherwise the recordings that started in
    ``[date_from, date_to)``, which default to the run's data interval. A run whose data interval is
    empty (Airflow 3's default for cron schedules) fails with a message saying how to fix the schedule,
    unless ``lookback`` is given. So does a run with no data interval at all (triggered without a
    logical date), unless ``lookback`` or both dates are given.

    Each record is ``{"session_id", "focus_area", "summary", "generated_at"}``, or, for a session PostHog
    could not summarise, ``{"session_id", "focus_area", "error", "error_message", "generated_at"}``.
    With ``output_path`` the records are written there atomically and the XCom value is
    ``{"path", "sessions", "summarised", "failed", "reused", "errors"}``; without it the XCom value is the
    list of records.

    A retry does not pay twice: sessions that already have a summary for the same focus area in the
    existing output or in the progress folder an earlier try left beside it (``<output_path>.progress/``)
    are not sent again. Errors are asked for again.

    :param posthog_conn_id: the PostHog connection (templated).
    :param project_id: the PostHog project (environment) id (templated); default: the connection's.
    :param session_ids: sessions to summarise (templated; a list, or an XCom pull of one). When given,
        no recordings are listed.
    :param date_from: start of the window (templated; datetime or ISO-8601), inclusive; default: the
        run's ``data_interval_start``.
    :param date_to: end of the window (templated; datetime or ISO-8601), exclusive; default: the run's
        ``data_interval_end``, or, with ``lookback`` in a run that has no data interval (triggered
        without a logical date), the run's ``run_after``.
    :param lookback: make the window ``[date_to - lookback, date_to)`` (for runs with an empty or no
        data interval); not together with ``date_from``.
    :param limit: summarise at most this many recordings of the window (newest first).
    :param min_duration: skip recordings shorter than this many seconds.
    :param focus_area: what the summaries should focus on (templated; at most 500 characters).
    :param batch_size: sessions per request, 1 to 300.
    :param max_concurrency: requests in flight at once, 1 to 10 (mind PostHog's 240/minute throttle).
    :param output_path: where to write the JSON Lines file (templated), an ``ObjectStoragePath`` URL such
        as ``file:///data/summaries/{{ data_interval_start | ds }}.jsonl`` or ``s3://conn_id@bucket/key``.
    :param fail_on_session_error: fail the task when any session could not be summarised (by default
        it fails only when every session failed; single failures are warnings).

    Each file written is announced as an event of its folder's asset (``file:///...``, ``s3://...``)
    with ``path``, ``sha256``, ``date_from``, ``date_to``, ``sessions``, ``summarised`` and ``failed``
    in its extra, when the folder is declared: by default when it is not a template; for a templated
    folder, pass ``outlets=[storage_folder_asset(folder)]`` (or an ``AssetAlias``, which gets the folder
    added at run time). ``outlets=[]`` emits nothing.
    """

    template_fields: Sequence[str] = (
        *PostHogBaseOperator.template_fields,
        "session_ids",
        "date_from",
        "date_to",
        "focus_area",
        "output_path",
    )
    ui_color = "#f9bd2b"

    def __init__(
        self,
        *,
        session_ids: Sequence[str] | str | XComArg | None = None,
        date_from: dt.datetime | str | None = None,
        date_to: dt.datetime | str | None = None,
        lookback: dt.timedelta | None = None,
        limit: int | None = None,
        min_duration: float | None = None,
        focus_area: str | None = None,
        batch_size: int = 100,
        max_concurrency: int = 1,
        output_path: str | None = None,
        fail_on_session_error: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.session_ids = session_ids
        self.date_from = date_from
        self.date_to = date_to
        self.lookback = lookback
        self.limit = limit
        self.min_duration = min_duration
        self.focus_area = focus_area
        self.batch_size = batch_size
        self.max_concurrency = max_concurrency
        self.output_path = output_path
        self.fail_on_session_error = fail_on_session_error
        self._validate_arguments(rendered=False)
        self.outlets = self._default_outlets(kwargs)
        self._lineage_of: tuple[str, str, ObjectStoragePath | None] | None = None

    def _default_outlets(self, kwargs: dict[str, Any]) -> list[Any]:
        """The output folder's asset when the folder is known now; otherwise only what the caller gave.

        No alias for a templated folder: Airflow records an alias's first asset with a plain insert, and
        concurrent first runs (a backfill) collide on it in PostgreSQL and fail. Declare the folder's
        asset (:func:`~airflow_provider.assets.storage_folder_asset`) or an alias yourself.
        """
        if kwargs.get("outlets") is not None:
            return list(kwargs["outlets"])
        folder = str(self.output_path or "").rpartition("/")[0]
        return [storage_folder_asset(folder)] if folder and not is_unrendered(folder) else []

    def _validate_arguments(self, *, rendered: bool) -> None:
        """Check every argument; before rendering, templated values are left for ``execute``.

        :param rendered: whether templates have been rendered (at ``execute``).
        """

        def known(value: Any) -> bool:
            return value is not None and (rendered or not is_unrendered(value))

        require_int("batch_size", self.batch_size, minimum=1, maximum=MAX_SUMMARY_BATCH)
        require_int("max_concurrency", self.max_concurrency, minimum=1, maximum=MAX_SUMMARY_CONCURRENCY)
        if self.limit is not None:
            require_int("limit", self.limit, minimum=1)
        if self.min_duration is not None and (
            isinstance(self.min_duration, bool)
            or not isinstance(self.min_duration, (int, float))
            or self.min_duration < 0
        ):
            raise PostHogConfigError(
                f"min_duration must be a number of seconds >= 0; got {self.min_duration!r}."
            )
        if self.lookback is not None and (
            not isinstance(self.lookback, dt.timedelta) or self.lookback <= dt.timedelta(0)
        ):
            raise PostHogConfigError(
                f"lookback must be a positive datetime.timedelta; got {self.lookback!r}."
            )
        if self.lookback is not None and self.date_from is not None:
            raise PostHogConfigError(
                "Pass either date_from or lookback, not both: lookback sets the window's start."
            )
        window_given = any(value is not None for value in (self.date_from, self.date_to, self.lookback))
        if self.session_ids is not None and window_given:
            raise PostHogConfigError(
                "session_ids names the sessions to summarise; date_from, date_to and lookback select "
                "recordings instead. Pass one or the other."
            )
        if known(self.focus_area) and self.focus_area != "":
            require_text("focus_area", self.focus_area, max_length=MAX_FOCUS_AREA_LENGTH)
        for field in ("date_from", "date_to"):
            if known(getattr(self, field)):
                require_datetime(field, getattr(self, field))
        if known(self.session_ids):
            _parse_session_ids(self.session_ids)
        if known(self.output_path):
            _parse_output_path(self.output_path)

    def execute(self, context: Context) -> dict[str, Any] | list[dict[str, Any]]:
        checked_at_execute(lambda: self._validate_arguments(rendered=True))
        output = SummaryOutput(_parse_output_path(self.output_path)) if self.output_path else None
        focus_area = self.focus_area or None
        hook = self.hook

        window = None if self.session_ids is not None else self._window(context)
        session_ids = (
            _parse_session_ids(self.session_ids) if window is None else self._sessions_in(hook, *window)
        )
        reused = output.completed_summaries(focus_area) if output else {}
        reused = {session_id: reused[session_id] for session_id in session_ids if session_id in reused}
        if reused:
            self.log.info(
                "%d of %d sessions already have a summary in %s or its progress folder; not asking again.",
                len(reused),
                len(session_ids),
                output.path if output else "",
            )
        records = self._summarise(
            hook, [session_id for session_id in session_ids if session_id not in reused], focus_area, output
        )
        records.update(reused)
        ordered = [records[session_id] for session_id in session_ids]
        failed = [record for record in ordered if not record_succeeded(record)]
        self._report_failures(failed, len(ordered))
        if ordered and (len(failed) == len(ordered) or (failed and self.fail_on_session_error)):
            raise AirflowException(
                f"{len(failed)} of {len(ordered)} sessions could not be summarised "
                f"({_error_counts(failed)}); "
                + (
                    "every session failed."
                    if len(failed) == len(ordered)
                    else "fail_on_session_error is set."
                )
                + (
                    f" Summaries already received are kept in {output.progress_dir} and reused on retry."
                    if output
                    else ""
                )
            )
        host, project = hook.asset_location()
        self._lineage_of = (host, project, output.path if output else None)
        if output is None:
            return ordered
        sha256 = output.publish(ordered)
        self.log.info("Wrote %d records to %s.", len(ordered), output.path)
        result = {
            "path": str(output.path),
            "sessions": len(ordered),
            "summarised": len(ordered) - len(failed),
            "failed": len(failed),
            "reused": len(reused),
            "errors": dict(Counter(str(record["error"]) for record in failed)),
        }
        announce(
            self,
            context,
            storage_folder_asset(output.path.parent),
            {
                "path": str(output.path),
                "sha256": sha256,
                "date_from": window[0].isoformat() if window else None,
                "date_to": window[1].isoformat() if window else None,
                **{key: result[key] for key in ("sessions", "summarised", "failed")},
            },
        )
        return result

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage | None:
        """PostHog's session recordings as input, the summaries file as output.

        :param task_instance: the finished task instance (unused: the operator kept what it wrote).
        """
        if self._lineage_of is None:
            return None
        from airflow_provider.lineage import session_summaries_lineage

        return session_summaries_lineage(*self._lineage_of)

    def _sessions_in(self, hook: PostHogHook, start: dt.datetime, end: dt.datetime) -> list[str]:
        """The ids of the recordings that started in the window, newest first, after limit/min_duration."""
        self.log.info("Listing recordings that started in [%s, %s).", start.isoformat(), end.isoformat())
        session_ids: list[str] = []
        # PostHog's bounds are both inclusive; the window is half-open like Airflow's data intervals.
        for recording in hook.list_session_recordings(date_from=start, date_to=end):
            started = require_datetime("start_time", recording.get("start_time"))
            if not start <= started < end:
                continue
            if (
                self.min_duration is not None
                and float(recording.get("recording_duration") or 0) < self.min_duration
            ):
                continue
            session_ids.append(str(recording["id"]))
            if self.limit is not None and len(session_ids) >= int(self.limit):
                break
        self.log.info("Found %d sessions to summarise.", len(session_ids))
        return list(dict.fromkeys(session_ids))

    def _window(self, context: Context) -> tuple[dt.datetime, dt.datetime]:
        interval_start = context.get("data_interval_start")
        interval_end = context.get("data_interval_end")
        end_value = self.date_to if self.date_to is not None else interval_end
        if end_value is None and self.lookback is not None:
            end_value = context["dag_run"].run_after
            self.log.info("This run has no data interval; the window ends at its run_after.")
        if end_value is None:
            raise AirflowFailException(NO_INTERVAL_HELP)
        end = require_datetime("date_to", end_value)
        if self.lookback is not None:
            return end - self.lookback, end
        start_value = self.date_from if self.date_from is not None else interval_start
        start = require_datetime("date_from", start_value) if start_value is not None else end
        if start >= end:
            raise AirflowFailException(
                f"The window to summarise is empty: it starts at {start.isoformat()} and ends at "
                f"{end.isoformat()}. {EMPTY_INTERVAL_HELP}"
            )
        return start, end

    def _summarise(
        self, hook: PostHogHook, session_ids: list[str], focus_area: str | None, output: SummaryOutput | None
    ) -> dict[str, dict[str, Any]]:
        """Ask PostHog for the summaries, saving progress after each batch when writing an output."""
        records: dict[str, dict[str, Any]] = {}
        if not session_ids:
            return records

        def on_batch(batch: dict[str, dict[str, Any]]) -> None:
            # The hook calls this in the task's thread, after each batch, whatever max_concurrency is.
            generated_at = dt.datetime.now(dt.timezone.utc).isoformat()
            received = [
                _record(session_id, focus_area, result, generated_at) for session_id, result in batch.items()
            ]
            records.update((record["session_id"], record) for record in received)
            if output is not None:
                output.save_progress(received)

        # Every batch goes through on_batch, so ``records`` ends with one entry per session.
        hook.create_session_summaries(
            session_ids,
            focus_area=focus_area,
            batch_size=int(self.batch_size),
            max_concurrency=int(self.max_concurrency),
            on_batch=on_batch,
        )
        return records

    def _report_failures(self, failed: list[dict[str, Any]], total: int) -> None:
        by_error: dict[str, list[str]] = {}
        for record in failed:
            by_error.setdefault(str(record["error"]), []).append(str(record["session_id"]))
        for error, ids in sorted(by_error.items()):
            example = next(record for record in failed if record["error"] == error)
            self.log.warning(
                "%d of %d sessions not summarised: %s (%s). Sessions: %s%s",
                len(ids),
                total,
                error,
                example.get("error_message", ""),
                ", ".join(ids[:_EXAMPLE_IDS_IN_LOG]),
                f" and {len(ids) - _EXAMPLE_IDS_IN_LOG} more" if len(ids) > _EXAMPLE_IDS_IN_LOG else "",
            )


def _record(
    session_id: str, focus_area: str | None, result: dict[str, Any], generated_at: str
) -> dict[str, Any]:
    """One output record from PostHog's per-session result."""
    record: dict[str, Any] = {"session_id": session_id, "focus_area": focus_area}
    if "error" in result:
        record.update(error=str(result["error"]), error_message=str(result.get("error_message", "")))
    else:
        record["summary"] = result
    record["generated_at"] = generated_at
    return record


def _error_counts(failed: list[dict[str, Any]]) -> str:
    return ", ".join(
        f"{error}: {count}" for error, count in sorted(Counter(r["error"] for r in failed).items())
    )


def _parse_session_ids(value: Any) -> list[str]:
    """Session ids from a list, or from the string a template renders a list to (``"['a', 'b']"``)."""
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            raise PostHogConfigError(
                "session_ids must be a list of session ids (or a template or XCom value that gives one); "
                f"got the string {value!r:.80}."
            ) from None
    return list(dict.fromkeys(require_str_list("session_ids", value)))


def _parse_output_path(value: Any) -> ObjectStoragePath:
    path = require_storage_path("output_path", value)
    if not path.name:
        raise PostHogConfigError(f"output_path must name a file, not a directory; got {value!r}.")
    return path
