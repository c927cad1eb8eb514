"""Numbers that come from PostHog itself: rate limits, batch and body limits, accepted values.

Each constant names the section of ``docs/posthog-api.md`` (the project's API contract, written from
PostHog's code and docs) it comes from. Change them here only when PostHog changes.
"""

from __future__ import annotations

# §5 Rate limits: (requests, period in seconds) pairs that all apply to one bucket.
# Default for every viewset ("burst" 480/minute + "sustained" 4800/hour), per personal API key.
DEFAULT_RATES: tuple[tuple[int, float], ...] = ((480, 60.0), (4800, 3600.0))
# ClickHouse-backed endpoints (sessions/*, session_summaries/*, recordings): 240/minute + 1200/hour.
CLICKHOUSE_RATES: tuple[tuple[int, float], ...] = ((240, 60.0), (1200, 3600.0))
# Saved-query `run`: only 10/minute, per (project, saved query); replaces the defaults.
SAVED_QUERY_RUN_RATES: tuple[tuple[int, float], ...] = ((10, 60.0),)
# Saved-query `materialize` and `revert_materialization`: only 5/hour per (project, saved query).
MATERIALIZATION_RATES: tuple[tuple[int, float], ...] = ((5, 3600.0),)

# §5: which paths (relative to /api/environments/:id/) use which throttle. Patterns are kept as
# text (compiled and cached by `re` on first use) so importing this module stays cheap.
CLICKHOUSE_PATH = r"^(sessions|session_summaries|session_recordings)/"
SAVED_QUERY_RUN_PATH = r"^warehouse_saved_queries/(?P<id>[^/]+)/run/?$"
MATERIALIZATION_PATH = r"^warehouse_saved_queries/(?P<id>[^/]+)/(materialize|revert_materialization)/?$"

# §7.1: session_ids takes 1..300 ids a request; focus_area at most 500 characters.
MAX_SUMMARY_BATCH = 300
MAX_FOCUS_AREA_LENGTH = 500
# §7.1 / Decisions: summaries are synchronous and can take minutes; PostHog's gateway answers 504
# after about 120 s while the work goes on and is cached, so the read timeout must exceed that.
SUMMARY_READ_TIMEOUT = 300.0

# §1: the request body limit (DATA_UPLOAD_MAX_MEMORY_SIZE).
MAX_BODY_BYTES = 20 * 1024 * 1024

# §7.5: saved-query names (view names) PostHog accepts.
SAVED_QUERY_NAME = r"^[A-Za-z_$][A-Za-z0-9_.$]*$"
MAX_SAVED_QUERY_NAME_LENGTH = 128
# §7.5: the sync_frequency values PostHog's materialize accepts. It refuses "never" (400) and
# silently raises 1min and 5min to its 15-minute floor.
SYNC_FREQUENCIES = ("1min", "5min", "15min", "30min", "1hour", "6hour", "12hour", "24hour", "7day", "30day")
SYNC_FREQUENCIES_RAISED = frozenset({"1min", "5min"})
SYNC_FREQUENCY_FLOOR = "15min"

# §7.3: subscription fields PostHog accepts. target_type across versions: email, slack and webhook
# (2025), teams (added later; webhook dropped in the newest code).
SUBSCRIPTION_TARGET_TYPES = ("email", "slack", "webhook", "teams")
SUBSCRIPTION_FREQUENCIES = ("daily", "weekly", "monthly", "yearly")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_SUBSCRIPTION_TITLE_LENGTH = 100

# §1: cloud hosts for the private API, used in error messages that point at the region.
US_HOST = "https://us.posthog.com"
EU_HOST = "https://eu.posthog.com"
