"""What the live suite checks, how it names what it creates, and how it removes it again.

Plain functions of a :class:`~airflow_provider.hooks.posthog.PostHogHook`, so the same code runs
against a real PostHog project (``make live``, ``tests/live/test_live.py``) and against the emulator
in ``make test`` (``tests/integration/test_live_checks_against_emulator.py``): the live suite cannot
rot unnoticed between releases. The DAGs that run them are in :mod:`live.live_dags`.

Every object the write checks create is named ``airflow_provider_live_<UTC time>_<random>`` (a
"run name"; saved-query names allow no ``-``), so a cleanup finds them by name, and leftovers of
earlier runs (a run killed before its teardown) are recognised by the time in their name.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import islice
from typing import Any

from airflow_provider.api.errors import PostHogNotFoundError, PostHogPermissionError
from airflow_provider.hooks.posthog import PostHogHook

#: The start of every name the live suite gives an object.
FAMILY = "airflow_provider_live_"
#: Leftovers of other runs older than this are removed by every run's cleanup; younger ones may
#: belong to a run still going (another maintainer's), so they are left alone.
STALE_AFTER = timedelta(days=1)
#: At most this many items are read of each listing: the first page, however big the project is.
LISTED = 20
#: The session property whose values are read: PostHog offers its default channel types for it
#: whatever the project's data holds, so it has values on every project.
VALUES_KEY = "$channel_type"
#: The query of the saved query the write checks create: no table read, the least warehouse work.
LIVE_QUERY = "select 1 as one"

_TIME_FORMAT = "%Y%m%dt%H%M%Sz"
_RUN_NAME = re.compile(rf"^{FAMILY}(\d{{8}}t\d{{6}}z)_[0-9a-f]{{6}}")


def new_run_name(now: datetime | None = None) -> str:
    """A fresh run name: :data:`FAMILY`, the UTC time and 6 random hex digits.

    :param now: the time to put in the name (default: now).
    """
    when = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return f"{FAMILY}{when.strftime(_TIME_FORMAT)}_{secrets.token_hex(3)}"


def started_at(name: str | None) -> datetime | None:
    """When the run that named an object started, or ``None`` for a name not made by :func:`new_run_name`.

    :param name: a saved query's name or a subscription's title.
    """
    match = _RUN_NAME.match(name or "")
    if match is None:
        return None
    return datetime.strptime(match.group(1), _TIME_FORMAT).replace(tzinfo=timezone.utc)


# The read-only checks. Each reads one area and returns what it saw (the task's XCom).


def check_connection(hook: PostHogHook) -> dict[str, Any]:
    """The connection test the Airflow UI runs: one authenticated GET of the project."""
    connected, message = hook.test_connection()
    assert connected, message
    return {"message": message}


def check_subscriptions(hook: PostHogHook) -> dict[str, Any]:
    """The first subscriptions, each with the fields the operators compare."""
    subscriptions = list(islice(hook.list_subscriptions(), LISTED))
    for subscription in subscriptions:
        assert {"id", "target_type", "target_value", "frequency"} <= subscription.keys(), subscription
    return {"subscriptions": len(subscriptions)}


def check_saved_queries(hook: PostHogHook) -> dict[str, Any]:
    """The first saved queries, and the newest data-modeling jobs of one of them (the run poller's read)."""
    saved_queries = list(islice(hook.list_saved_queries(), LISTED))
    for saved_query in saved_queries:
        assert {"id", "name"} <= saved_query.keys(), saved_query
    if not saved_queries:
        return {"saved_queries": 0, "jobs_of": None, "jobs": 0}
    view = saved_queries[0]
    jobs = list(islice(hook.list_data_modeling_jobs(saved_query_id=str(view["id"]), page_size=5), 5))
    for job in jobs:
        assert {"id", "status"} <= job.keys(), job
    return {"saved_queries": len(saved_queries), "jobs_of": view["name"], "jobs": len(jobs)}


def check_user_interviews(hook: PostHogHook) -> dict[str, Any]:
    """The first user interviews; a 404 or 403 means the product is not available on this PostHog."""
    try:
        interviews = list(islice(hook.list_user_interviews(), LISTED))
    except (PostHogNotFoundError, PostHogPermissionError) as error:
        return {"available": False, "status": error.status, "detail": error.detail}
    for interview in interviews:
        assert "id" in interview, interview
    return {"available": True, "user_interviews": len(interviews)}


def check_session_properties(hook: PostHogHook) -> dict[str, Any]:
    """Session property definitions, and the values of :data:`VALUES_KEY`."""
    definitions = hook.get_session_property_definitions()
    assert definitions, "PostHog listed no session property definitions."
    assert all("name" in definition for definition in definitions), definitions[:3]
    values = hook.get_session_property_values(VALUES_KEY)
    assert values, f"PostHog listed no values of {VALUES_KEY}."
    assert all("name" in value for value in values), values[:3]
    return {"definitions": len(definitions), "values_of": VALUES_KEY, "values": len(values)}


def check_session_recordings(hook: PostHogHook) -> dict[str, Any]:
    """Session recordings of the last day (the first page of them)."""
    recordings = list(islice(hook.list_session_recordings(date_from="-1d"), LISTED))
    for recording in recordings:
        assert "id" in recording, recording
    return {"recordings": len(recordings)}


READ_ONLY_CHECKS: tuple[Callable[[PostHogHook], dict[str, Any]], ...] = (
    check_subscriptions,
    check_saved_queries,
    check_user_interviews,
    check_session_properties,
    check_session_recordings,
)


# The write checks' own assertions (the operators do the writing), and the cleanup.


def check_subscription(
    hook: PostHogHook, subscription_id: int, run_name: str, insight_id: int
) -> dict[str, Any]:
    """Read back the subscription the create operator made: PostHog kept what was sent, and lists it.

    :param subscription_id: what the create operator returned.
    :param run_name: the run's name, its title.
    :param insight_id: the insight it delivers.
    """
    subscription = hook.get_subscription(subscription_id)
    sent = {
        "title": run_name,
        "insight": insight_id,
        "target_type": "email",
        "frequency": "daily",
        "interval": 1,
        "deleted": False,
    }
    assert {name: subscription.get(name) for name in sent} == sent, subscription
    # Created paused, so PostHog sends nothing (older versions have no such field).
    assert subscription.get("enabled", False) is False, subscription
    listed = [item["id"] for item in hook.list_subscriptions(insight=insight_id)]
    assert subscription_id in listed, (
        f"Subscription {subscription_id} is not listed for insight {insight_id}."
    )
    return {"subscription": subscription_id, "next_delivery_date": subscription.get("next_delivery_date")}


@dataclass(frozen=True)
class LiveObject:
    """An object the live suite made, found by its name.

    :param kind: ``saved query`` or ``subscription``.
    :param id: its id.
    :param name: its name (a subscription's title).
    """

    kind: str
    id: str
    name: str

    def remove(self, hook: PostHogHook) -> None:
        """Delete it (a subscription: PostHog's soft delete, the only one it allows).

        A saved query already gone (another run's cleanup got there first) counts as deleted.
        """
        if self.kind == "saved query":
            with contextlib.suppress(PostHogNotFoundError):
                hook.delete_saved_query(self.id)
        else:
            hook.delete_subscription(self.id)

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.name})"


def live_objects(hook: PostHogHook) -> Iterator[LiveObject]:
    """Every saved query and (not deleted) subscription with a name of the live suite's family."""
    for saved_query in hook.list_saved_queries(search=FAMILY):
        if started_at(saved_query["name"]) is not None:
            yield LiveObject("saved query", str(saved_query["id"]), saved_query["name"])
    # ``search`` narrows the list where PostHog supports it; the title is checked here either way.
    for subscription in hook.list_subscriptions(search=FAMILY):
        if started_at(subscription.get("title")) is not None:
            yield LiveObject("subscription", str(subscription["id"]), subscription["title"])


def remove_run_objects(hook: PostHogHook, run_name: str, now: datetime | None = None) -> list[str]:
    """Remove this run's objects and the family's leftovers older than :data:`STALE_AFTER`.

    :param run_name: this run's name.
    :param now: the time leftovers' ages are measured at (default: now).
    :returns: what was removed.
    """
    stale_before = (now or datetime.now(timezone.utc)) - STALE_AFTER
    removed = []
    for found in list(live_objects(hook)):
        started = started_at(found.name)
        if found.name.startswith(run_name) or (started is not None and started < stale_before):
            found.remove(hook)
            removed.append(str(found))
    return removed


def remove_leftovers(hook: PostHogHook, run_name: str) -> list[str]:
    """After a run: remove whatever of this run is still there, and say what that was.

    The DAG's teardown tasks should have left nothing; anything found here means one of them did not
    run or failed, which the caller reports as a failure.

    :param run_name: the run's name.
    """
    left = [found for found in live_objects(hook) if found.name.startswith(run_name)]
    for found in left:
        found.remove(hook)
    return [str(found) for found in left]
