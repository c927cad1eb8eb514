"""The Markdown digest of a summaries run: what a product manager reads in a minute.

Counts first (generated, reused, failed; what the selection dropped), then the outcomes, then one line
per session, the sessions with problems first (an unsuccessful outcome, then those PostHog could not
summarize), each with its one-line summary and a link to its replay in PostHog
(``<host>/project/<id>/replay/<session_id>``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from airflow_provider.operators.summary_output import record_succeeded


def outcome_of(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``session_outcome`` of a record's summary (``{}`` when it has none).

    :param record: one JSON Lines record.
    """
    summary = record.get("summary")
    outcome = summary.get("session_outcome") if isinstance(summary, Mapping) else None
    return outcome if isinstance(outcome, Mapping) else {}


def render_digest(
    records: Sequence[Mapping[str, Any]],
    accounting: Mapping[str, Any],
    replay_url: Callable[[str], str],
    *,
    title: str,
) -> str:
    """The digest's Markdown.

    :param records: one record per session, as written to the JSON Lines file.
    :param accounting: the run's counts (``listed``, ``filtered_out``, ``sampled_out``,
        ``reused_stored``, ``reused_progress``, ``generated``, ``failed``, ``summary_requests_sent``).
    :param replay_url: session id -> the link to its replay in PostHog.
    :param title: the heading, e.g. the window covered.
    """
    failed = [record for record in records if not record_succeeded(record)]
    summarized = [record for record in records if record_succeeded(record)]
    problems = [record for record in summarized if outcome_of(record).get("success") is not True]
    fine = [record for record in summarized if outcome_of(record).get("success") is True]
    reused = int(accounting.get("reused_stored", 0)) + int(accounting.get("reused_progress", 0))
    lines = [
        f"# {title}",
        "",
        f"**{len(records)} sessions**: {accounting.get('generated', 0)} summaries generated, {reused} reused "
        f"({accounting.get('reused_stored', 0)} stored in PostHog, {accounting.get('reused_progress', 0)} "
        f"from this task's earlier tries), {len(failed)} failed.",
        "",
        f"Selection: {accounting.get('listed', 0)} recordings listed, {accounting.get('filtered_out', 0)} "
        f"filtered out, {accounting.get('sampled_out', 0)} sampled out. Summary requests sent: "
        f"{accounting.get('summary_requests_sent', 0)}.",
        "",
        "## Outcomes",
        "",
        f"- Successful journeys: {len(fine)}",
        f"- With problems: {len(problems)}",
        f"- Not summarised: {len(failed)}"
        + (
            f" ({', '.join(f'{error}: {count}' for error, count in sorted(_errors(failed).items()))})"
            if failed
            else ""
        ),
    ]
    sections = (
        ("Sessions with problems", problems, _summary_line),
        ("Not summarised", failed, _error_line),
        ("Successful sessions", fine, _summary_line),
    )
    for heading, group, line in sections:
        if group:
            lines += ["", f"## {heading}", ""]
            lines += [line(record, replay_url(str(record["session_id"]))) for record in group]
    return "\n".join(lines) + "\n"


def _errors(failed: Sequence[Mapping[str, Any]]) -> Counter[str]:
    return Counter(str(record.get("error")) for record in failed)


def _summary_line(record: Mapping[str, Any], url: str) -> str:
    description = _one_line(outcome_of(record).get("description") or "(no outcome description)")
    return f"- [{record['session_id']}]({url}): {description} _({record.get('source', 'generated')})_"


def _error_line(record: Mapping[str, Any], url: str) -> str:
    message = _one_line(record.get("error_message") or "")
    return f"- [{record['session_id']}]({url}): `{record.get('error')}`" + (f" {message}" if message else "")


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())
