"""Whether PostHog has suspended a saved query, and what to tell the user.

After :data:`CONSECUTIVE_FAILURES_TO_SUSPEND` failed runs of a view's own making in a row, PostHog
suspends the view: its scheduled refreshes skip it until an explicit ``run`` (which resumes it first)
or a ``resume``. The view's ``suspended`` field says so (``{engine: {"at", "reason", "job_id"}}``,
``{}`` when not suspended; older PostHog versions have no such field), and the job that tripped it
has PostHog's words in its error. A task waiting for a refresh someone else starts would wait for
nothing: the sensor stops at once, the refresh watcher logs it once. See docs/posthog-api.md,
"Suspended views".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider.hooks.posthog import PostHogAsyncHook, PostHogHook

#: PostHog's number of failed runs in a row that suspends a view.
CONSECUTIVE_FAILURES_TO_SUSPEND = 5
#: PostHog's words in the error of the job that tripped a suspension ("This model has been
#: suspended after 5 consecutive failed materializations. Error: ...").
SUSPENDED_WORDS = "has been suspended after"
#: What a user can do about a suspended view.
WHAT_TO_DO = (
    "Run it (PostHogRunSavedQueryOperator: PostHog resumes a view it is asked to run), resume it "
    "without running (PostHogHook.resume_saved_query), or first fix its query if that is what fails."
)
_SUSPENDED_FIELD = "suspended"


@dataclass(frozen=True)
class Suspension:
    """PostHog's suspension of a view's materialization on one engine.

    :param engine: the engine it is suspended for (``clickhouse``).
    :param at: when PostHog suspended it, as PostHog sent it.
    :param reason: the error of the run that tripped it.
    :param job_id: the data-modeling job that tripped it.
    """

    engine: str
    at: str | None
    reason: str | None
    job_id: str | None

    def describe(self, label: str) -> str:
        """One sentence with PostHog's reason, for logs and failures.

        :param label: the view's id or name.
        """
        job = f" (data-modeling job {self.job_id})" if self.job_id else ""
        return (
            f"PostHog has suspended saved query {label} since {self.at or 'an unknown time'} after "
            f"{CONSECUTIVE_FAILURES_TO_SUSPEND} failed runs in a row{job}: "
            f"{self.reason or 'PostHog gave no error text'}. PostHog's scheduled refreshes skip a "
            "suspended view."
        )

    def waiting_in_vain(self, label: str) -> str:
        """Why a wait for a refresh someone else starts would never end, and what to do.

        :param label: the view's id or name.
        """
        return f"{self.describe(label)} No refresh will come until it is resumed. {WHAT_TO_DO}"


def read_suspension(hook: PostHogHook, saved_query_id: str) -> Suspension | None:
    """Read the view's suspension from a worker (one GET of the saved query).

    :param hook: the task's sync hook.
    :param saved_query_id: the view's UUID.
    """
    return suspension_of(hook.get_saved_query(saved_query_id))


async def aread_suspension(hook: PostHogAsyncHook, saved_query_id: str) -> Suspension | None:
    """Read the view's suspension in the triggerer (one GET of the saved query).

    :param hook: the trigger's async hook.
    :param saved_query_id: the view's UUID.
    """
    return suspension_of(await hook.get_saved_query(saved_query_id))


def suspension_of(saved_query: Mapping[str, Any]) -> Suspension | None:
    """The view's suspension, from ``GET warehouse_saved_queries/{id}/``; ``None`` when it is not
    suspended or PostHog does not say (older versions, the list's minimal items).

    With several engines suspended, the earliest suspension is the one reported (when the view
    stopped being refreshed).

    :param saved_query: the saved query as PostHog answered it.
    """
    markers = saved_query.get(_SUSPENDED_FIELD)
    if not isinstance(markers, Mapping):
        return None
    found = [
        Suspension(
            str(engine), _text(marker.get("at")), _text(marker.get("reason")), _text(marker.get("job_id"))
        )
        for engine, marker in markers.items()
        if isinstance(marker, Mapping)
    ]
    return min(found, key=lambda suspension: suspension.at or "", default=None)


def is_suspension_error(error: str | None) -> bool:
    """Whether a job's error is the one PostHog writes when that job suspended its view.

    :param error: a job's or view's error text.
    """
    return SUSPENDED_WORDS in (error or "")


def log_if_suspended(hook: PostHogHook, saved_query_id: str, log: Any) -> None:
    """Say, before a run is asked for, that the view was suspended and that the run resumes it
    (one GET of the saved query).

    :param hook: the task's sync hook.
    :param saved_query_id: the view's UUID.
    :param log: the task's logger.
    """
    suspension = read_suspension(hook, saved_query_id)
    if suspension is not None:
        log.warning(
            "%s This run resumes it: PostHog takes an explicit run as a request to try again, and "
            "counts failures afresh from it.",
            suspension.describe(saved_query_id),
        )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
