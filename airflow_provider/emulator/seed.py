"""Seed data: a project, three personal API keys, insights, dashboards, saved queries and recorded sessions.

Sessions are spread over the last seven days counted back from the moment the seed is built, so a
daily DAG's data interval (yesterday) always finds some. Everything else is fixed, and ids are
derived from hashes, so two emulators built from the same seed agree.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

SEEDS = ("demo", "empty")
PROJECT_ID = 1
ALL_SCOPES_KEY = "phx_demo_all_scopes"
READ_ONLY_KEY = "phx_demo_read_only"
# A least-privilege key made for a summaries job alone: it cannot read the project itself.
RECORDINGS_ONLY_KEY = "phx_demo_recordings_only"
# A key made on the PostHog version that named the user-interview scope "user_interview_DO_NOT_USE".
LEGACY_INTERVIEWS_KEY = "phx_demo_legacy_interviews"
READ_SCOPES = (
    "project:read",
    "query:read",
    "session_recording:read",
    "subscription:read",
    "user_interview:read",
    "warehouse_view:read",
    "insight:read",
    "dashboard:read",
)
SEEDED_DAYS = 7
#: A view PostHog made for an endpoint: hidden from the saved-query list, but its name is taken.
HIDDEN_VIEW = ("signups_endpoint", "SELECT count() AS signups FROM events WHERE event = 'signed_up'")
HOST = "https://app.hogflix.example"
#: What subscriptions deliver (demo seed): insight id -> (short id, name); dashboard id -> (name, the
#: insights on its tiles); integration id -> kind (a subscription to Slack needs a ``slack`` one).
INSIGHTS = {101: ("kpi101Wk", "Weekly active users"), 102: ("sgn102Ch", "Signups by channel"),
            103: ("chk103Fn", "Checkout funnel")}  # fmt: skip
DASHBOARDS = {201: ("Growth", [101, 102]), 202: ("Launch week", [101, 102, 103])}
INTEGRATIONS = {301: "slack", 302: "github"}

USER = {
    "id": 1,
    "uuid": "0192f3a0-0000-7000-8000-000000000001",
    "distinct_id": "demo-user-1",
    "first_name": "Demo",
    "last_name": "User",
    "email": "demo@hogflix.example",
    "is_email_verified": True,
    "hedgehog_config": None,
    "role_at_organization": "engineering",
}

_PEOPLE = ("ana", "ben", "chloe", "dev", "emma", "farid", "grace", "hiro")
#: A colleague trying the product: their email has the organization's domain, so a
#: filter_test_accounts listing leaves their sessions out.
COLLEAGUE = "hiro"
TEST_ACCOUNT_FILTERS = [
    {"key": "email", "operator": "not_icontains", "value": "@hogflix.example", "type": "person"},
    {"key": "$host", "operator": "not_regex", "value": r"^(localhost|127\.0\.0\.1)($|:)", "type": "event"},
]
_REFERRERS = (
    ("$direct", None, "Direct"),
    ("www.google.com", "google", "Paid Search"),
    ("news.ycombinator.com", None, "Referral"),
    ("t.co", "twitter", "Organic Social"),
    ("mail.hogflix.example", "newsletter", "Email"),
)
# (path, what the user does there, DOM text of the element they use)
JOURNEY = (
    ("/", "Browsed the home page", "Start free trial"),
    ("/pricing", "Compared plans", "Choose Pro"),
    ("/signup", "Filled in the sign-up form", "Create account"),
    ("/onboarding", "Went through onboarding", "Next step"),
    ("/movies", "Browsed the catalogue", "Play trailer"),
    ("/checkout", "Entered payment details", "Pay now"),
    ("/account", "Opened account settings", "Save changes"),
)


@dataclasses.dataclass
class Seed:
    """Everything a fresh emulator starts with.

    :param project: the project object served at ``/api/projects/{id}/``.
    :param keys: personal API key -> its scopes.
    :param insights: ids of insights subscriptions may point at.
    :param dashboards: ids of dashboards subscriptions may point at.
    :param sessions: recorded sessions, newest first, each with its events.
    :param saved_queries: ``(name, sql)`` of the seeded warehouse views.
    :param dashboard_tiles: dashboard id -> ids of the insights on its tiles.
    :param integrations: integration id -> kind (``slack``, ...).
    """

    project: dict[str, Any]
    keys: dict[str, list[str]]
    insights: list[int]
    dashboards: list[int]
    sessions: list[dict[str, Any]]
    saved_queries: list[tuple[str, str]]
    dashboard_tiles: dict[int, list[int]] = dataclasses.field(default_factory=dict)
    integrations: dict[int, str] = dataclasses.field(default_factory=dict)


def build_seed(name: str, session_count: int, now: datetime) -> Seed:
    """Build a seed.

    :param name: ``demo`` (the full data set) or ``empty`` (project and keys only).
    :param session_count: number of sessions for the ``demo`` seed.
    :param now: the moment sessions are counted back from.
    :raises ValueError: for an unknown seed name.
    """
    if name not in SEEDS:
        raise ValueError(f"unknown seed {name!r}; allowed: {list(SEEDS)}")
    project = {
        "id": PROJECT_ID,
        "uuid": "0192f3a0-0000-7000-8000-0000000000aa",
        "organization": "0192f3a0-0000-7000-8000-0000000000bb",
        "api_token": "phc_demo_project_token",
        "name": "Hogflix (emulator)",
        "timezone": "UTC",
        "completed_snippet_onboarding": True,
        "ingested_event": True,
        "created_at": "2024-01-01T00:00:00Z",
        # What PostHog sets for a new team (TeamManager.set_test_account_filters in
        # posthog/models/team/team.py): people with the organization's email domain, and localhost.
        "test_account_filters": TEST_ACCOUNT_FILTERS,
    }
    keys = {
        ALL_SCOPES_KEY: ["*"],
        READ_ONLY_KEY: list(READ_SCOPES),
        RECORDINGS_ONLY_KEY: ["session_recording:read"],
        LEGACY_INTERVIEWS_KEY: ["user_interview_DO_NOT_USE:write"],
    }
    if name == "empty":
        return Seed(project, keys, [], [], [], [])
    return Seed(
        project=project,
        keys=keys,
        insights=list(INSIGHTS),
        dashboards=list(DASHBOARDS),
        dashboard_tiles={dashboard: tiles for dashboard, (_, tiles) in DASHBOARDS.items()},
        integrations=dict(INTEGRATIONS),
        sessions=[_session(index, session_count, now) for index in range(session_count)],
        saved_queries=[
            (
                "daily_active_users",
                "SELECT toDate(timestamp) AS day, count(DISTINCT person_id) AS users "
                "FROM events GROUP BY day",
            ),
            (
                "signups_by_channel",
                "SELECT properties.$channel_type AS channel, count() AS signups "
                "FROM events WHERE event = 'signed_up' GROUP BY channel",
            ),
        ],
    )


def stable_uuid(*parts: object) -> str:
    """A UUID (version 7 layout) derived from ``parts``, the same on every run.

    :param parts: anything that names the object.
    """
    digest = bytearray(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x70
    digest[8] = (digest[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(digest)))


def _number(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:4], "big")


def _session(index: int, count: int, now: datetime) -> dict[str, Any]:
    session_id = stable_uuid("session", index)
    spacing = timedelta(days=SEEDED_DAYS) / max(count, 1)
    start = (now - spacing * (index + 0.5)).replace(microsecond=0)
    too_short = index % 7 == 3
    person_name = _PEOPLE[index % len(_PEOPLE)]
    email = f"{person_name}@{'hogflix.example' if person_name == COLLEAGUE else 'example.com'}"
    referrer, utm_source, channel = _REFERRERS[_number("referrer", index) % len(_REFERRERS)]
    events = _events(session_id, index, start, too_short)
    end = events[-1]["timestamp"] + timedelta(seconds=2 if too_short else 20)
    duration = int((end - start).total_seconds())
    clicks = sum(1 for event in events if event["event_type"] == "click")
    return {
        "id": session_id,
        "distinct_id": f"{person_name}-{index % len(_PEOPLE)}",
        "person": {
            "id": index % len(_PEOPLE) + 1,
            "uuid": stable_uuid("person", person_name),
            "name": email,
            "distinct_ids": [f"{person_name}-{index % len(_PEOPLE)}"],
            "properties": {"email": email, "name": person_name.title()},
            "created_at": "2024-03-01T09:00:00Z",
        },
        "start_time": start,
        "end_time": end,
        "duration": duration,
        "active_seconds": max(duration - _number("idle", index) % max(duration // 3, 1), 0),
        "click_count": clicks,
        "keypress_count": 0 if too_short else _number("keys", index) % 60,
        "console_error_count": sum(1 for event in events if event["event"] == "$exception"),
        "too_short": too_short,
        "entry": {
            "$entry_current_url": events[0]["current_url"],
            "$entry_pathname": events[0]["pathname"],
            "$entry_hostname": HOST.removeprefix("https://"),
            "$end_current_url": events[-1]["current_url"],
            "$end_pathname": events[-1]["pathname"],
            "$end_hostname": HOST.removeprefix("https://"),
            "$entry_referring_domain": referrer,
            "$entry_utm_source": utm_source,
            # Google adds a click id unique to each ad click: many distinct values, each seen once.
            "$entry_gclid": f"EAIaIQobChMI{_number('gclid', index):08x}" if utm_source == "google" else None,
            "$channel_type": channel,
            "$pageview_count": sum(1 for event in events if event["event"] == "$pageview"),
            "$autocapture_count": sum(1 for event in events if event["event"] == "$autocapture"),
            "$session_duration": duration,
            "$is_bounce": len(events) < 2,
        },
        "events": events,
    }


def _events(session_id: str, index: int, start: datetime, too_short: bool) -> list[dict[str, Any]]:
    if too_short:
        pages = [JOURNEY[0]]
    else:
        first = _number("journey", index) % 3
        pages = list(JOURNEY[first : first + 2 + _number("length", index) % 4])
    window_id = stable_uuid("window", session_id)
    events: list[dict[str, Any]] = []
    moment = start
    for page_number, (path, _, button) in enumerate(pages):
        url = HOST + path
        kinds: list[tuple[str, str | None]] = (
            [("$pageview", None)] if too_short else [("$pageview", None), ("$autocapture", "click")]
        )
        if not too_short and _number("exception", index, page_number) % 5 == 0:
            kinds.append(("$exception", None))
        elif not too_short and path in ("/signup", "/checkout"):
            kinds.append(("$autocapture", "submit"))
        for event_name, event_type in kinds:
            event_uuid = stable_uuid("event", session_id, len(events))
            events.append(
                {
                    "uuid": event_uuid,
                    "event": event_name,
                    "event_type": event_type,
                    "timestamp": moment,
                    "current_url": url,
                    "pathname": path,
                    "window_id": window_id,
                    "element_text": button,
                }
            )
            moment += timedelta(seconds=5 + _number("gap", session_id, len(events)) % 40)
    return events


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)
