"""Generate PostHog's AI summaries for the sessions of a run's data interval (or for given sessions)."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import TYPE_CHECKING, Any

from airflow.sdk import ObjectStoragePath
from airflow.sdk.exceptions import AirflowException

from airflow_provider.api.arguments import invalid, require_int
from airflow_provider.api.errors import PostHogConfigError
from airflow_provider.api.limits import (
    CLICKHOUSE_RATES,
    DEFAULT_RATES,
    MAX_SUMMARY_BATCH,
)
from airflow_provider.assets import storage_folder_asset
from airflow_provider.hooks.posthog import MAX_SUMMARY_CONCURRENCY, PostHogHook
from airflow_provider.operators.asset_events import emit_asset_event, folder_outlets
from airflow_provider.operators.base import is_known
from airflow_provider.operators.session_selection import (
    SelectedSessions,
    SessionSelectingOperator,
    select_sessions,
    selection_window,
)
from airflow_provider.operators.storage_paths import require_storage_path
from airflow_provider.operators.summary_digest import render_digest
from airflow_provider.operators.summary_output import SummaryOutput, record_succeeded, write_text_atomically

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context

_EXAMPLE_IDS_IN_LOG = 5
#: Where a record came from: generated now, read from PostHog's stored summaries, or reused from this
#: task's own output or progress folder.
GENERATED, STORED, PROGRESS = "generated", "stored", "progress"
#: Rows per page of PostHog's stored-summaries list (its default page size), for the dry run's count.
_STORED_LIST_PAGE = 100
#: The counts every run reports (XCom, log, asset event), in this order.
ACCOUNTING = (
    "listed",
    "filtered_out",
    "sampled_out",
    "reused_stored",
    "reused_progress",
    "generated",
    "failed",
    "summary_requests_sent",
)


class PostHogSessionSummariesOperator(SessionSelectingOperator):
    """Summarize sessions with PostHog's AI and write one JSON Lines record per session.

    The sessions are ``session_ids`` when given, otherwise the recordings that started in
    ``[date_from, date_to)`` (by default the run's data interval) and match ``recording_filters``,
    then those at least ``min_duration`` long, then a deterministic ``sample_rate`` sample, then at most
    ``limit`` of them (see :mod:`airflow_provider.operators.session_selection`). A run whose data
    interval is empty (Airflow 3's default for cron schedules) fails with a message saying how to fix
    the schedule, unless ``lookback`` is given. So does a run with no data interval at all (triggered
    without a logical date), unless ``lookback`` or both dates are given.

    Nothing is paid for twice. Sessions that already have a summary for the same focus area in the
    existing output or in the progress folder an earlier try left beside it
    (``<output_path>.progress/``) are reused (``source: progress``). Without a focus area, PostHog's
    stored summaries are read next (``reuse_stored_summaries``; ``source: stored``): PostHog keeps
    every summary it makes, but serves only those made without a focus area, so a run with a focus area
    always generates fresh ones. Only the rest are generated (``source: generated``). Errors are asked
    for again.

    Each record is ``{"session_id", "focus_area", "summary", "generated_at", "source"}``, or, for a
    session PostHog could not summarize, ``{"session_id", "focus_area", "error", "error_message",
    "generated_at", "source"}``. With ``output_path`` the records are written there atomically and the
    XCom value is ``{"path", "report_path", "sessions", "summarised", "failed", "reused", "errors"}``
    plus the accounting: ``listed``, ``filtered_out``, ``sampled_out``, ``reused_stored``,
    ``reused_progress``, ``generated``, ``summary_requests_sent``; without it the XCom value is the list
    of records (the accounting is logged).

    :param posthog_conn_id: the PostHog connection (templated).
    :param project_id: the PostHog project (environment) id (templated); default: the connection's.
    :param session_ids: sessions to summarize (templated; a list, or an XCom pull of one). When given,
        no recordings are listed.
    :param date_from: start of the window (templated; datetime or ISO-8601), inclusive; default: the
        run's ``data_interval_start``.
    :param date_to: end of the window (templated; datetime or ISO-8601), exclusive; default: the run's
        ``data_interval_end``, or, with ``lookback`` in a run that has no data interval (triggered
        without a logical date), the run's ``run_after``.
    :param lookback: make the window ``[date_to - lookback, date_to)`` (for runs with an empty or no
        data interval); not together with ``date_from``.
    :param recording_filters: PostHog's recording filters (templated), the fields of its
        ``RecordingsQuery``: ``events``, ``actions``, ``properties``, ``console_log_filters``,
        ``having_predicates``, ``filter_test_accounts``, ``operand``, ``person_uuid``,
        ``distinct_ids``, ``session_ids``, ``comment_text``, ``order``, ``order_direction``. Checked
        before sending.
    :param limit: summarize at most this many recordings of the window (newest first unless
        ``recording_filters`` orders them otherwise), after the sample.
    :param min_duration: skip recordings shorter than this many seconds.
    :param sample_rate: summarize only this fraction of the sessions (0 < rate <= 1), chosen by a hash
        of the session id, so retries, reruns and backfills choose the same ones.
    :param sample_seed: text mixed into the sample's hash, to draw another stable sample.
    :param focus_area: what the summaries should focus on (templated; at most 500 characters).
    :param reuse_stored_summaries: without a focus area, read PostHog's stored summaries of the sessions
        and generate only the missing ones (default ``True``).
    :param dry_run: only list, filter and sample the sessions and tell which would be generated and
        reused: no summary is requested or read, nothing is written. The XCom value says the counts, the
        session ids and the requests a real run would send.
    :param batch_size: sessions per request, 1 to 300.
    :param max_concurrency: requests in flight at once, 1 to 10 (mind PostHog's 240/minute throttle).
    :param output_path: where to write the JSON Lines file (templated), an ``ObjectStoragePath`` URL such
        as ``file:///data/summaries/{{ data_interval_start | ds }}.jsonl`` or ``s3://conn_id@bucket/key``.
    :param report_path: where to write a Markdown digest of the run (templated), e.g. beside the output:
        counts, outcomes, the sessions with problems first, each with a link to its replay in PostHog.
    :param fail_on_session_error: fail the task when any session could not be summarized (by default
        it fails only when every session failed; single failures are warnings).

    Each file written is emitted as an event of its folder's asset (``file:///...``, ``s3://...``)
    with ``path``, ``sha256``, ``date_from``, ``date_to``, ``sessions``, ``summarised``, ``failed`` and
    the accounting in its extra, when the folder is declared: by default when it is not a template; for
    a templated folder, pass ``outlets=[storage_folder_asset(folder)]`` (or an ``AssetAlias``, which
    gets the folder added at run time). ``outlets=[]`` emits nothing.
    """

    template_fields: Sequence[str] = (*SessionSelectingOperator.template_fields, "output_path", "report_path")
    ui_color = "#f9bd2b"

    def __init__(
        self,
        *,
        reuse_stored_summaries: bool = True,
        dry_run: bool = False,
        batch_size: int = 100,
        max_concurrency: int = 1,
        output_path: str | None = None,
        report_path: str | None = None,
        fail_on_session_error: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.reuse_stored_summaries = reuse_stored_summaries
        # Not ``self.dry_run``: that is BaseOperator's method that renders the templates.
        self.dry_run_only = dry_run
        self.batch_size = batch_size
        self.max_concurrency = max_concurrency
        self.output_path = output_path
        self.report_path = report_path
        self.fail_on_session_error = fail_on_session_error
        self.outlets = folder_outlets(kwargs, self.output_path)
        self._lineage_of: tuple[str, str, ObjectStoragePath | None] | None = None

    def check_arguments(self, *, rendered: bool) -> None:
        """Check every argument; before rendering, templated values are left for ``execute``.

        :param rendered: whether templates have been rendered (at ``execute``).
        """

        def known(value: Any) -> bool:
            return value is not None and is_known(value, rendered=rendered)

        require_int("batch_size", self.batch_size, minimum=1, maximum=MAX_SUMMARY_BATCH)
        require_int("max_concurrency", self.max_concurrency, minimum=1, maximum=MAX_SUMMARY_CONCURRENCY)
        flags = {
            "reuse_stored_summaries": self.reuse_stored_summaries,
            "dry_run": self.dry_run_only,
            "fail_on_session_error": self.fail_on_session_error,
        }
        for flag, value in flags.items():
            if not isinstance(value, bool):
                invalid(flag, "True or False", value)
        super().check_arguments(rendered=rendered)
        for field in ("output_path", "report_path"):
            if known(getattr(self, field)):
                _parse_file_path(field, getattr(self, field))
        if (
            known(self.output_path)
            and known(self.report_path)
            and str(self.output_path).strip() == str(self.report_path).strip()
        ):
            raise PostHogConfigError(
                "report_path must differ from output_path: the digest goes beside the records."
            )

    def execute(self, context: Context) -> dict[str, Any] | list[dict[str, Any]]:
        output = (
            SummaryOutput(_parse_file_path("output_path", self.output_path)) if self.output_path else None
        )
        report = _parse_file_path("report_path", self.report_path) if self.report_path else None
        focus_area = self.focus_area or None
        hook = self.hook

        window = selection_window(self.selection, context)
        selected = select_sessions(hook, self.selection, window)
        session_ids = selected.session_ids
        progress = output.completed_summaries(focus_area) if output else {}
        reused = {
            session_id: {**progress[session_id], "source": PROGRESS}
            for session_id in session_ids
            if session_id in progress
        }
        if reused:
            self.log.info(
                "%d of %d sessions already have a summary in %s or its progress folder; not asking again.",
                len(reused),
                len(session_ids),
                output.path if output else "",
            )
        missing = [session_id for session_id in session_ids if session_id not in reused]
        stored_ids = self._stored_session_ids(hook, missing, focus_area)
        if self.dry_run_only:
            return self._dry_run_report(selected, list(reused), stored_ids, window)

        stored = self._read_stored(hook, stored_ids, output)
        to_generate = [session_id for session_id in missing if session_id not in stored]
        records, requests_sent = self._summarize(hook, to_generate, focus_area, output)
        records.update(stored)
        records.update(reused)
        ordered = [records[session_id] for session_id in session_ids]
        failed = [record for record in ordered if not record_succeeded(record)]
        accounting = {
            **selected.counts(),
            "reused_stored": len(stored),
            "reused_progress": len(reused),
            "generated": sum(
                1 for record in ordered if record["source"] == GENERATED and record_succeeded(record)
            ),
            "failed": len(failed),
            "summary_requests_sent": requests_sent,
        }
        self.log.info("Accounting: %s.", ", ".join(f"{key} {accounting[key]}" for key in ACCOUNTING))
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
        if report is not None:
            self._write_digest(hook, report, ordered, accounting, window)
        if output is None:
            return ordered
        sha256 = output.publish(ordered)
        self.log.info("Wrote %d records to %s.", len(ordered), output.path)
        result = {
            "path": str(output.path),
            "report_path": str(report) if report is not None else None,
            "sessions": len(ordered),
            "summarised": len(ordered) - len(failed),
            "reused": len(stored) + len(reused),
            "errors": dict(Counter(str(record["error"]) for record in failed)),
            **accounting,
        }
        emit_asset_event(
            self,
            context,
            storage_folder_asset(output.path.parent),
            {
                "path": str(output.path),
                "sha256": sha256,
                "date_from": window[0].isoformat() if window else None,
                "date_to": window[1].isoformat() if window else None,
                **{key: result[key] for key in ("sessions", "summarised", "failed")},
                **accounting,
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

    def _stored_session_ids(
        self, hook: PostHogHook, session_ids: list[str], focus_area: str | None
    ) -> list[str]:
        """Which of ``session_ids`` PostHog has a stored summary for (made without a focus area).

        PostHog stores and serves only summaries made without a focus area, so with one nothing is asked.
        """
        if focus_area is not None or not self.reuse_stored_summaries or not session_ids:
            return []
        found = {
            str(row["session_id"])
            for row in hook.list_stored_session_summaries(session_ids=session_ids)
            if row.get("extra_summary_context") is None
        }
        self.log.info("PostHog has a stored summary for %d of %d sessions.", len(found), len(session_ids))
        return [session_id for session_id in session_ids if session_id in found]

    def _read_stored(
        self, hook: PostHogHook, session_ids: list[str], output: SummaryOutput | None
    ) -> dict[str, dict[str, Any]]:
        """Read the stored summaries (``max_concurrency`` at a time), saving progress per ``batch_size``.

        A summary deleted since the list was read (404) is left out, to be generated.
        """
        records: dict[str, dict[str, Any]] = {}
        workers = min(int(self.max_concurrency), max(len(session_ids), 1))
        with ThreadPoolExecutor(workers, thread_name_prefix="posthog-stored-summaries") as pool:
            for chunk in _chunks(session_ids, int(self.batch_size)):
                received = [
                    _stored_record(session_id, stored)
                    for session_id, stored in zip(
                        chunk, pool.map(hook.get_stored_session_summary, chunk), strict=True
                    )
                    if isinstance(stored, dict) and isinstance(stored.get("summary"), dict)
                ]
                records.update((record["session_id"], record) for record in received)
                if output is not None and received:
                    output.save_progress(received)
        if len(records) < len(session_ids):
            self.log.info(
                "%d stored summaries were gone when read; generating them.", len(session_ids) - len(records)
            )
        return records

    def _summarize(
        self, hook: PostHogHook, session_ids: list[str], focus_area: str | None, output: SummaryOutput | None
    ) -> tuple[dict[str, dict[str, Any]], int]:
        """Ask PostHog for the summaries, saving progress after each batch when writing an output.

        :returns: one record per session, and the number of summary requests answered (one per batch).
        """
        records: dict[str, dict[str, Any]] = {}
        batches = 0
        if not session_ids:
            return records, batches

        def on_batch(batch: dict[str, dict[str, Any]]) -> None:
            nonlocal batches
            # The hook calls this in the task's thread, after each batch, whatever max_concurrency is.
            batches += 1
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
        return records, batches

    def _dry_run_report(
        self,
        selected: SelectedSessions,
        from_progress: list[str],
        stored_ids: list[str],
        window: tuple[dt.datetime, dt.datetime] | None,
    ) -> dict[str, Any]:
        """What a real run would do, logged and returned; nothing is requested or written."""
        reusable = set(from_progress) | set(stored_ids)
        generate = [session_id for session_id in selected.session_ids if session_id not in reusable]
        summary_requests = math.ceil(len(generate) / int(self.batch_size))
        stored_reads = len(stored_ids)
        result = {
            "dry_run": True,
            "date_from": window[0].isoformat() if window else None,
            "date_to": window[1].isoformat() if window else None,
            "sessions": len(selected.session_ids),
            **selected.counts(),
            "skipped": selected.filtered_out + selected.sampled_out,
            "limit_reached": selected.limit_reached,
            "would_generate": len(generate),
            "would_reuse_stored": len(stored_ids),
            "would_reuse_progress": len(from_progress),
            "requests": {
                "summary_requests": summary_requests,
                "stored_summary_reads": stored_reads + math.ceil(stored_reads / _STORED_LIST_PAGE),
                # PostHog's sliding windows let a full window through at once; each further one waits.
                "summary_seconds_at_rate_limits": _seconds_at(summary_requests, CLICKHOUSE_RATES),
                "stored_read_seconds_at_rate_limits": _seconds_at(stored_reads, DEFAULT_RATES),
            },
            "session_ids": {
                "generate": generate,
                "reuse_stored": stored_ids,
                "reuse_progress": from_progress,
            },
        }
        self.log.info(
            "Dry run: of %d sessions (listed %d, filtered out %d, sampled out %d), %d would be generated "
            "in %d summary requests, %d read from PostHog's stored summaries, %d reused from this task's "
            "progress. Nothing was requested or written.",
            result["sessions"],
            selected.listed,
            selected.filtered_out,
            selected.sampled_out,
            len(generate),
            summary_requests,
            len(stored_ids),
            len(from_progress),
        )
        return result

    def _write_digest(
        self,
        hook: PostHogHook,
        report: ObjectStoragePath,
        records: list[dict[str, Any]],
        accounting: dict[str, int],
        window: tuple[dt.datetime, dt.datetime] | None,
    ) -> None:
        title = (
            f"Session summaries, {window[0].isoformat()} to {window[1].isoformat()}"
            if window
            else f"Session summaries of {len(records)} given sessions"
        )
        text = render_digest(
            records, accounting, lambda session_id: hook.ui_url(f"replay/{session_id}"), title=title
        )
        write_text_atomically(report, text)
        self.log.info("Wrote the digest to %s.", report)

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
    record.update(generated_at=generated_at, source=GENERATED)
    return record


def _stored_record(session_id: str, stored: dict[str, Any]) -> dict[str, Any]:
    """One output record from a summary PostHog stored (always made without a focus area)."""
    return {
        "session_id": session_id,
        "focus_area": None,
        "summary": stored["summary"],
        "generated_at": stored.get("created_at"),
        "source": STORED,
    }


def _seconds_at(requests: int, rates: tuple[tuple[int, float], ...]) -> float:
    """The least time ``requests`` take under PostHog's sliding windows (each full window waits a period)."""
    if requests <= 0:
        return 0.0
    return max((math.ceil(requests / limit) - 1) * period for limit, period in rates)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _error_counts(failed: list[dict[str, Any]]) -> str:
    return ", ".join(
        f"{error}: {count}" for error, count in sorted(Counter(r["error"] for r in failed).items())
    )


def _parse_file_path(field: str, value: Any) -> ObjectStoragePath:
    path = require_storage_path(field, value)
    if not path.name:
        raise PostHogConfigError(f"{field} must name a file, not a directory; got {value!r}.")
    return path
