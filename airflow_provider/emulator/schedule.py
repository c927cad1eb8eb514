"""Subscription schedules: PostHog's ``summary`` text and ``next_delivery_date`` from a dateutil rrule.

Follows docs/posthog-api.md section 7.3: the ``summary`` property, ``_build_rrule`` and
``_compute_next_delivery_date`` of PostHog's subscription model
(``products/exports/backend/models/subscription.py``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from dateutil import rrule  # type: ignore[import-untyped]

from .timefmt import iso, parse_datetime

FREQUENCIES = ("daily", "weekly", "monthly", "yearly")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RRULE_FREQUENCY = {
    "daily": rrule.DAILY,
    "weekly": rrule.WEEKLY,
    "monthly": rrule.MONTHLY,
    "yearly": rrule.YEARLY,
}
_RRULE_WEEKDAY = dict(
    zip(WEEKDAYS, (rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA, rrule.SU), strict=True)
)
_HUMAN_FREQUENCY = {"daily": "day", "weekly": "week", "monthly": "month", "yearly": "year"}
_HUMAN_SETPOS = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
#: PostHog's ``WEEKDAY_SET``: exactly these days are summarised as "weekday".
_WORKING_DAYS = frozenset(WEEKDAYS[:5])
#: PostHog never schedules a delivery closer than this to now (it may run a bit early).
DELIVERY_BUFFER = timedelta(minutes=15)


def summary(subscription: dict[str, Any]) -> str:
    """``"sent every week"``, ``"sent every 2 weeks"``, ``"sent every month on the first Monday"``.

    :param subscription: the stored subscription.
    """
    interval = subscription["interval"]
    human = _HUMAN_FREQUENCY[subscription["frequency"]] + ("s" if interval > 1 else "")
    text = f"sent every {f'{interval} ' if interval > 1 else ''}{human}"
    byweekday, bysetpos = subscription["byweekday"], subscription["bysetpos"]
    if byweekday and bysetpos:
        if bysetpos not in _HUMAN_SETPOS:
            return "sent on a schedule"
        if len(byweekday) == 1:
            day = byweekday[0].capitalize()
        else:
            day = "weekday" if set(byweekday) == _WORKING_DAYS else "day"
        text += f" on the {_HUMAN_SETPOS[bysetpos]} {day}"
    return text


def next_delivery_date(subscription: dict[str, Any], now: datetime) -> str | None:
    """The first occurrence after ``now + 15 min`` (exclusive); ``None`` once the schedule has ended.

    The rule has no ``wkst``, as PostHog's ``_build_rrule`` has none: with ``wkst`` a schedule every 2+
    weeks on several weekdays would fall on other dates.

    :param subscription: the stored subscription.
    :param now: the current time.
    """
    start = parse_datetime(subscription["start_date"])
    until = parse_datetime(subscription["until_date"]) if subscription["until_date"] else None
    byweekday = subscription["byweekday"]
    rule = rrule.rrule(
        freq=_RRULE_FREQUENCY[subscription["frequency"]],
        count=subscription["count"],
        interval=subscription["interval"],
        dtstart=start,
        until=until,
        byweekday=[_RRULE_WEEKDAY[day] for day in byweekday] if byweekday else None,
        bysetpos=subscription["bysetpos"] if byweekday else None,
    )
    return iso(rule.after(now + DELIVERY_BUFFER, inc=False))
