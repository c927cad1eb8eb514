"""Numbers that come from PostHog itself: rate limits, batch and body limits, accepted values.

Each constant names the section of ``docs/posthog-api.md`` (the project's API contract, written from
PostHog's code and docs) it comes from. Change them here only when PostHog changes.
"""

from __future__ import annotations

# §5 Rate limits: (requests, period in seconds) pairs that all apply to one bucket. Which endpoint
# counts against which is declared with the endpoint (`api/endpoints.py`, its `throttle`).
# Default for every viewset ("burst" 480/minute + "sustained" 4800/hour), per personal API key.
DEFAULT_RATES: tuple[tuple[int, float], ...] = ((480, 60.0), (4800, 3600.0))
# ClickHouse-backed endpoints (sessions/*, session_summaries/*, recordings): 240/minute + 1200/hour.
# The stored summaries (single_session_summaries/, §7.7) set no throttle of their own: the defaults.
CLICKHOUSE_RATES: tuple[tuple[int, float], ...] = ((240, 60.0), (1200, 3600.0))
# Saved-query `run`: only 10/minute, per (project, saved query); replaces the defaults.
SAVED_QUERY_RUN_RATES: tuple[tuple[int, float], ...] = ((10, 60.0),)
# Saved-query `materialize` and `revert_materialization`: only 5/hour per (project, saved query).
MATERIALIZATION_RATES: tuple[tuple[int, float], ...] = ((5, 3600.0),)
# Subscription test delivery: only 10/minute per team (project), whatever the key or subscription;
# replaces the defaults (`SubscriptionTestDeliveryThrottle`).
SUBSCRIPTION_TEST_DELIVERY_RATES: tuple[tuple[int, float], ...] = ((10, 60.0),)

# §7.1: session_ids takes 1..300 ids a request; focus_area at most 500 characters.
MAX_SUMMARY_BATCH = 300
MAX_FOCUS_AREA_LENGTH = 500
# §7.1 / Decisions: summaries are synchronous and can take minutes; PostHog's gateway answers 504
# after about 120 s while the work goes on and is cached, so the read timeout must exceed that.
SUMMARY_READ_TIMEOUT = 300.0
# §7.7: the stored summaries list's `outcome` filter and the fields its `order` accepts (a leading
# "-" for descending); any other `order` is a 400.
STORED_SUMMARY_OUTCOMES = ("success", "failure", "unknown")
STORED_SUMMARY_ORDERS = tuple(
    f"{prefix}{field}"
    for field in ("created_at", "session_start_time", "session_duration")
    for prefix in ("", "-")
)
# §7.4: an interview create transcribes the recording (ElevenLabs) and asks an LLM twice before it
# answers; for an hour-long call that takes minutes. A lost answer is never re-sent (a create), so
# the read timeout must outlast the work.
USER_INTERVIEW_CREATE_READ_TIMEOUT = 600.0

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

# §7.3: subscription fields PostHog accepts. target_type differs by version: email and slack in
# every current one, webhook in 2025 versions (gone since), teams in the newest (a Microsoft Teams
# webhook URL as target_value). All four are let through; PostHog refuses what its version lacks.
SUBSCRIPTION_TARGET_TYPES = ("email", "slack", "webhook", "teams")
SUBSCRIPTION_FREQUENCIES = ("daily", "weekly", "monthly", "yearly")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_SUBSCRIPTION_TITLE_LENGTH = 100
# §7.3: an AI-prompt subscription's prompt, and the guidance for the AI summary of a delivery.
MAX_SUBSCRIPTION_PROMPT_LENGTH = 4000
MAX_SUBSCRIPTION_SUMMARY_PROMPT_GUIDE_LENGTH = 500
# §7.3: the `status` filter of a subscription's delivery history.
SUBSCRIPTION_DELIVERY_STATUSES = ("starting", "completed", "failed", "skipped")

# §1: cloud hosts for the private API, used in error messages that point at the region.
US_HOST = "https://us.posthog.com"
EU_HOST = "https://eu.posthog.com"
