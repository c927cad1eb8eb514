"""A patterns report: PostHog's group summary of a run's sessions, written as JSON and Markdown."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import ObjectStoragePath

from airflow_provider.api.errors import PostHogConfigError
from airflow_provider.api.limits import MAX_SUMMARY_BATCH
from airflow_provider.assets import storage_folder_asset
from airflow_provider.operators.asset_events import emit_asset_event, folder_outlets
from airflow_provider.operators.base import is_known
from airflow_provider.operators.session_selection import (
    SessionSelectingOperator,
    sample_rank,
    select_sessions,
    selection_window,
)
from airflow_provider.operators.storage_paths import require_storage_path
from airflow_provider.operators.summary_output import write_text_atomically

if TYPE_CHECKING:
    from airflow.sdk import Context

SEVERITIES = ("critical", "high", "medium", "low")
_EXAMPLES_IN_MARKDOWN = 5


class PostHogSessionPatternsOperator(SessionSelectingOperator):
    """Ask PostHog for the patterns across a set of sessions and write them as a report.

    The sessions are chosen as
    :class:`~airflow_provider.operators.session_summaries.PostHogSessionSummariesOperator` chooses
    them (``session_ids``, or the recordings of the window with ``recording_filters``,
    ``min_duration``, ``sample_rate`` and ``limit``). PostHog's group summary
    (``session_summaries/create_session_summaries``) takes at most 300 sessions: when more are chosen,
    a deterministic sample of 300 is sent (the sessions with the lowest SHA-256 of
    ``"<sample_seed>:<session_id>"``, the same hash as ``sample_rate``'s, so a rerun sends the same
    ones), and the log, the XCom value and the report say so.

    The report is written atomically to ``output_path`` (JSON: PostHog's patterns with their stats and
    example events, each example session with a link to its replay in PostHog, the sessions PostHog
    skipped, the counts) and beside it as Markdown (``.md`` instead of ``.json``), patterns by severity.
    The group summary is not re-sent after a lost answer: PostHog starts new work for every request.

    :param posthog_conn_id: the PostHog connection (templated).
    :param project_id: the PostHog project id (templated); default: the connection's.
    :param session_ids: the sessions (templated; a list, or an XCom pull of one); then nothing is listed.
    :param date_from: start of the window (templated), inclusive; default: the run's ``data_interval_start``.
    :param date_to: end of the window (templated), exclusive; default: the run's ``data_interval_end``.
    :param lookback: make the window ``[date_to - lookback, date_to)``; not together with ``date_from``.
    :param limit: take at most this many sessions (after the sample).
    :param min_duration: skip recordings shorter than this many seconds.
    :param recording_filters: PostHog's recording filters for the listing (templated).
    :param sample_rate: keep this fraction of the sessions (0 < rate <= 1), stable across reruns.
    :param sample_seed: text mixed into the sample's hash.
    :param focus_area: what the patterns should focus on (templated; at most 500 characters).
    :param output_path: the JSON report (templated), an ``ObjectStoragePath`` URL such as
        ``file:///data/patterns/{{ ds }}.json``; the Markdown report is written beside it.

    The XCom value is ``{"path", "markdown_path", "selected", "sessions", "capped", "listed",
    "filtered_out", "sampled_out", "skipped", "patterns", "severities"}`` (``capped``: more than 300
    sessions were chosen and a sample of 300 was sent). Each report is emitted as an
    event of its folder's asset when the folder is declared (by default when it is not a template).
    """

    template_fields: Sequence[str] = (*SessionSelectingOperator.template_fields, "output_path")
    ui_color = "#f9bd2b"

    def __init__(self, *, output_path: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.output_path = output_path
        self.outlets = folder_outlets(kwargs, output_path)

    def check_arguments(self, *, rendered: bool) -> None:
        super().check_arguments(rendered=rendered)
        if is_known(self.output_path, rendered=rendered):
            _report_paths(self.output_path)

    def execute(self, context: Context) -> dict[str, Any]:
        json_path, markdown_path = _report_paths(self.output_path)
        hook = self.hook
        window = selection_window(self.selection, context)
        selected = select_sessions(hook, self.selection, window)
        session_ids = cap_sessions(selected.session_ids, self.sample_seed)
        note = None
        if len(session_ids) < len(selected.session_ids):
            note = (
                f"{len(selected.session_ids)} sessions were chosen; PostHog's group summary takes at most "
                f"{MAX_SUMMARY_BATCH}, so a deterministic sample of {len(session_ids)} was sent (the lowest "
                "hashes of the session ids, the same on every rerun)."
            )
            self.log.warning(note)
        answer: Mapping[str, Any] = {"patterns": [], "failed_sessions": []}
        if session_ids:
            self.log.info("Asking PostHog for the patterns across %d sessions.", len(session_ids))
            answer = hook.create_session_group_summary(session_ids, focus_area=self.focus_area or None)
        else:
            note = "No sessions were chosen, so no group summary was requested."
            self.log.info(note)

        def replay_url(session_id: str) -> str:
            return hook.ui_url(f"replay/{session_id}")

        report = build_report(
            answer,
            session_ids,
            replay_url,
            window=window,
            focus_area=self.focus_area or None,
            counts={**selected.counts(), "selected": len(selected.session_ids)},
            note=note,
        )
        sha256 = write_text_atomically(json_path, json.dumps(report, ensure_ascii=False, indent=2) + "\n")
        write_text_atomically(markdown_path, render_markdown(report))
        self.log.info("Wrote the patterns report to %s and %s.", json_path, markdown_path)
        result = {
            "path": str(json_path),
            "markdown_path": str(markdown_path),
            **report["counts"],
            "patterns": len(report["patterns"]),
            "severities": report["severities"],
        }
        emit_asset_event(
            self,
            context,
            storage_folder_asset(json_path.parent),
            {
                "path": str(json_path),
                "sha256": sha256,
                "date_from": report["date_from"],
                "date_to": report["date_to"],
                **{key: result[key] for key in ("sessions", "patterns")},
            },
        )
        return result


def cap_sessions(session_ids: list[str], sample_seed: str | int | None = None) -> list[str]:
    """At most :data:`~airflow_provider.api.limits.MAX_SUMMARY_BATCH` sessions: all of them when they fit,
    else those with the lowest SHA-256 of ``"<sample_seed>:<session_id>"``, in their original order.

    :param session_ids: the chosen sessions.
    :param sample_seed: the selection's seed (so the cap and ``sample_rate`` rank sessions alike).
    """
    if len(session_ids) <= MAX_SUMMARY_BATCH:
        return list(session_ids)
    ranked = sorted(session_ids, key=lambda session_id: sample_rank(session_id, sample_seed))
    kept = set(ranked[:MAX_SUMMARY_BATCH])
    return [session_id for session_id in session_ids if session_id in kept]


def build_report(
    answer: Mapping[str, Any],
    session_ids: list[str],
    replay_url: Callable[[str], str],
    *,
    window: tuple[dt.datetime, dt.datetime] | None,
    focus_area: str | None,
    counts: Mapping[str, int],
    note: str | None,
) -> dict[str, Any]:
    """The JSON report: PostHog's answer, with each example session's replay link and the counts.

    :param answer: PostHog's group summary (``patterns``, ``failed_sessions``).
    :param session_ids: the sessions sent.
    :param replay_url: session id -> its replay in PostHog.
    :param window: the window the sessions were listed from, if any.
    :param focus_area: the focus area sent.
    :param counts: the selection's counts (``listed``, ``filtered_out``, ``sampled_out``, ``selected``).
    :param note: what the reader must know (a sample of 300 was sent, no session was chosen).
    """
    patterns = []
    for pattern in answer.get("patterns", []):
        examples = dict.fromkeys(
            str(event["target_event"]["session_id"]) for event in pattern.get("events", [])
        )
        patterns.append(
            {
                **pattern,
                "example_sessions": [
                    {"session_id": session_id, "replay_url": replay_url(session_id)}
                    for session_id in examples
                ],
            }
        )
    skipped = [
        {**failure, "replay_url": replay_url(str(failure["session_id"]))}
        for failure in answer.get("failed_sessions", [])
    ]
    return {
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "date_from": window[0].isoformat() if window else None,
        "date_to": window[1].isoformat() if window else None,
        "focus_area": focus_area,
        "note": note,
        "counts": {
            **counts,
            "sessions": len(session_ids),
            "capped": counts.get("selected", len(session_ids)) > len(session_ids),
            "skipped": len(skipped),
        },
        "severities": dict(Counter(str(pattern["severity"]) for pattern in patterns)),
        "patterns": patterns,
        "failed_sessions": skipped,
        "session_ids": session_ids,
    }


def render_markdown(report: Mapping[str, Any]) -> str:
    """The Markdown report: counts, then each pattern (critical first) with example sessions linked.

    :param report: from :func:`build_report`.
    """
    counts = report["counts"]
    window = f"{report['date_from']} to {report['date_to']}" if report["date_from"] else "the sessions given"
    lines = [
        f"# Session patterns: {window}",
        "",
        f"**{len(report['patterns'])} patterns** across {counts['sessions']} sessions "
        f"({counts['selected']} chosen, {counts['skipped']} skipped by PostHog).",
    ]
    if report["focus_area"]:
        lines += ["", f"Focus: {report['focus_area']}"]
    if report["note"]:
        lines += ["", f"> {report['note']}"]
    order = {severity: position for position, severity in enumerate(SEVERITIES)}
    for pattern in sorted(report["patterns"], key=lambda item: order.get(item["severity"], len(SEVERITIES))):
        stats = pattern["stats"]
        lines += [
            "",
            f"## {pattern['pattern_name']} ({pattern['severity']})",
            "",
            str(pattern["pattern_description"]),
            "",
            f"Sessions affected: {stats['sessions_affected']} ({stats['sessions_affected_ratio']:.0%}); "
            f"occurrences: {stats['occurences']}; segments that still succeeded: "
            f"{stats['segments_success_ratio']:.0%}.",
            "",
        ]
        descriptions = {
            str(event["target_event"]["session_id"]): str(event["target_event"]["description"])
            for event in reversed(pattern.get("events", []))
        }
        examples = pattern["example_sessions"]
        for example in examples[:_EXAMPLES_IN_MARKDOWN]:
            session_id = example["session_id"]
            lines.append(f"- [{session_id}]({example['replay_url']}): {descriptions.get(session_id, '')}")
        if len(examples) > _EXAMPLES_IN_MARKDOWN:
            lines.append(f"- and {len(examples) - _EXAMPLES_IN_MARKDOWN} more sessions (see the JSON report)")
    if report["failed_sessions"]:
        lines += ["", "## Sessions PostHog skipped", ""]
        lines += [
            f"- [{failure['session_id']}]({failure['replay_url']}): {failure.get('reason', '')}"
            for failure in report["failed_sessions"]
        ]
    return "\n".join(lines) + "\n"


def _report_paths(value: Any) -> tuple[ObjectStoragePath, ObjectStoragePath]:
    """The JSON report's path and the Markdown report's beside it."""
    path = require_storage_path("output_path", value)
    if not path.name or not path.name.endswith(".json"):
        raise PostHogConfigError(
            f"output_path must name a .json file, such as 'file:///data/patterns.json'; got {value!r}."
        )
    return path, path.parent / (path.name.removesuffix(".json") + ".md")
