"""``subscriptions/``: scheduled insight, dashboard and AI-prompt deliveries (docs/posthog-api.md 7.3, 9.8).

Integer ids, a newest-first limit/offset listing that hides deleted ones, soft delete by
``PATCH {"deleted": true}``, a hard ``DELETE`` refused with an empty 405, a test delivery and the
delivery history. Rules from PostHog's ``ee/api/subscription.py`` (``SubscriptionSerializer.validate``)
and ``products/exports/backend/models/subscription.py``.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from airflow_provider.emulator import fields
from airflow_provider.emulator.access import admit, emulator_of
from airflow_provider.emulator.bodies import json_object
from airflow_provider.emulator.errors import not_found, validation_error
from airflow_provider.emulator.pagination import limit_offset
from airflow_provider.emulator.routing import api_route
from airflow_provider.emulator.schedule import FREQUENCIES, WEEKDAYS, next_delivery_date, summary
from airflow_provider.emulator.seed import DASHBOARDS, INSIGHTS, Seed, utc_now
from airflow_provider.emulator.throttle import SUBSCRIPTION_TEST_DELIVERY
from airflow_provider.emulator.timefmt import iso, parse_datetime

#: The newest PostHog's ``SubscriptionTarget`` choices the emulator serves (``webhook`` is gone).
TARGET_TYPES = ("email", "slack")
TITLE_MAX_LENGTH = 100
#: ``PROMPT_MAX_LENGTH`` of PostHog's AI subscriptions, and the model's ``summary_prompt_guide`` length.
PROMPT_MAX_LENGTH = 4000
SUMMARY_PROMPT_GUIDE_MAX_LENGTH = 500
#: ``DEFAULT_MAX_ASSET_COUNT``: how many dashboard insights a subscription may select.
MAX_EXPORT_INSIGHTS = 6
DELIVERY_STATUSES = ("starting", "completed", "failed", "skipped")
#: ``SubscriptionDeliveryCursorPagination.page_size``.
DELIVERY_PAGE_SIZE = 50
#: How long the emulator's test-delivery workflow runs; another test delivery meanwhile is a 409.
TEST_DELIVERY_SECONDS = 1.0
_SCHEDULE_FIELDS = ("frequency", "interval", "byweekday", "bysetpos", "count", "start_date", "until_date")
_RESOURCES = ("insight", "dashboard", "prompt")
_ENDED = "Subscription schedule has reached its end date. Extend until_date or remove count"


async def list_subscriptions(request: Request) -> Response:
    """Subscriptions newest first (``ordering = ["-created_at"]``), deleted ones hidden unless
    ``deleted`` is given; filters ``insight``, ``dashboard``, ``resource_type``.

    :param request: the request.
    """
    await admit(request, "subscription:read")
    query = request.query_params
    emulator = emulator_of(request)
    with emulator.state.lock:
        items = sorted(
            emulator.state.objects["subscriptions"].values(),
            key=lambda item: (item["created_at"], item["id"]),
            reverse=True,
        )
    if "deleted" in query:
        wanted = query["deleted"].lower() in ("true", "1")
        items = [item for item in items if item["deleted"] == wanted]
    else:
        items = [item for item in items if not item["deleted"]]
    for name in ("insight", "dashboard"):
        if name in query:
            items = [item for item in items if str(item[name]) == query[name]]
    if query.get("resource_type") in ("insight", "dashboard", "ai_prompt"):
        items = [item for item in items if _resource_type(item) == query["resource_type"]]
    return JSONResponse(limit_offset(request, [_public(item) for item in items]))


async def create_subscription(request: Request) -> Response:
    """Create a subscription (201).

    :param request: the request.
    """
    await admit(request, "subscription:write")
    emulator = emulator_of(request)
    body = await json_object(request)
    values = _validate(emulator.state.seed, body, existing=None, partial=False)
    with emulator.state.lock:
        subscription_id = emulator.state.next_subscription_id
        emulator.state.next_subscription_id += 1
        subscription: dict[str, Any] = {
            "id": subscription_id,
            "dashboard": None,
            "insight": None,
            "dashboard_export_insights": [],
            "prompt": None,
            "byweekday": None,
            "bysetpos": None,
            "count": None,
            "until_date": None,
            "created_at": iso(utc_now()),
            "created_by": emulator.state.user,
            "deleted": False,
            "enabled": True,
            "title": None,
            "integration_id": None,
            "summary_enabled": False,
            "summary_prompt_guide": "",
            "deliveries": [],
            **values,
        }
        subscription["next_delivery_date"] = next_delivery_date(subscription, utc_now())
        emulator.state.objects["subscriptions"][subscription_id] = subscription
    return JSONResponse(_public(subscription), status_code=201)


async def retrieve_subscription(request: Request) -> Response:
    """One subscription, deleted or not.

    :param request: the request.
    """
    await admit(request, "subscription:read")
    return JSONResponse(_public(_find(request)))


async def update_subscription(request: Request) -> Response:
    """``PATCH`` (partial) or ``PUT`` (full) update; ``{"deleted": true}`` is the soft delete.

    :param request: the request.
    """
    await admit(request, "subscription:write")
    emulator = emulator_of(request)
    subscription = _find(request)
    body = await json_object(request)
    values = _validate(emulator.state.seed, body, existing=subscription, partial=request.method == "PATCH")
    with emulator.state.lock:
        re_enabled = values.get("enabled") is True and not subscription["enabled"]
        subscription.update(values)
        if re_enabled or any(name in values for name in _SCHEDULE_FIELDS):
            subscription["next_delivery_date"] = next_delivery_date(subscription, utc_now())
    return JSONResponse(_public(subscription))


async def destroy_subscription(request: Request) -> Response:
    """Hard delete is forbidden: 405 with an empty body (PostHog's ``ForbidDestroyModel``), for any
    id, one that does not exist included: the refusal comes before the lookup.

    :param request: the request.
    """
    await admit(request, "subscription:write")
    return Response(status_code=405)


async def test_delivery(request: Request) -> Response:
    """Start a delivery now (202, no body): PostHog's ``test_delivery`` action.

    Its only throttle is 10/minute per team. A deleted subscription is a bare 404, a disabled one a
    409, and one whose test delivery is still running a 409 (Temporal's workflow id
    ``test-delivery-subscription-<id>`` is taken). The delivery is recorded in the history.

    :param request: the request.
    """
    emulator = emulator_of(request)
    await admit(request, "subscription:write", (SUBSCRIPTION_TEST_DELIVERY,), f"team_{emulator.project_id}")
    subscription = _find(request)
    now = utc_now()
    with emulator.state.lock:
        if subscription["deleted"]:
            return Response(status_code=404)
        if not subscription["enabled"]:
            return JSONResponse(
                {"detail": "Subscription is disabled. Re-enable it before sending a test delivery."},
                status_code=409,
            )
        workflow_id = f"test-delivery-subscription-{subscription['id']}"
        if any(
            delivery["temporal_workflow_id"] == workflow_id and _status(delivery, now) == "starting"
            for delivery in subscription.setdefault("deliveries", [])
        ):
            return JSONResponse({"detail": "Delivery already in progress"}, status_code=409)
        subscription["deliveries"].append(
            {
                "id": str(uuid.uuid4()),
                "subscription": subscription["id"],
                "temporal_workflow_id": workflow_id,
                "idempotency_key": str(uuid.uuid4()),
                "trigger_type": "manual",
                "scheduled_at": None,
                "target_type": subscription["target_type"],
                "target_value": subscription["target_value"],
                "prompt": subscription["prompt"],
                "created_at": iso(now),
                "finished_at": iso(now + timedelta(seconds=TEST_DELIVERY_SECONDS)),
            }
        )
    return Response(status_code=202)


async def list_deliveries(request: Request) -> Response:
    """A subscription's delivery history, newest first, in cursor pages of 50; filter ``status``.

    :param request: the request.
    """
    await admit(request, "subscription:read")
    emulator = emulator_of(request)
    raw = request.path_params["subscription_id"]
    if not raw.isdigit():
        raise not_found()
    status = request.query_params.get("status")
    if status and status not in DELIVERY_STATUSES:
        raise validation_error(
            "status", "invalid", f"Must be one of: {', '.join(sorted(DELIVERY_STATUSES))}."
        )
    now = utc_now()
    with emulator.state.lock:
        # PostHog filters deliveries by the id in the path: an unknown subscription has none.
        subscription = emulator.state.objects["subscriptions"].get(int(raw))
        stored = list(subscription.get("deliveries", [])) if subscription else []
    deliveries = [_public_delivery(delivery, now) for delivery in reversed(stored)]
    if status:
        deliveries = [delivery for delivery in deliveries if delivery["status"] == status]
    return JSONResponse(_cursor_page(request, deliveries))


def _cursor_page(request: Request, items: list[dict[str, Any]]) -> dict[str, Any]:
    """DRF ``CursorPagination``'s answer: ``next``/``previous`` links with an opaque ``cursor``, no count.

    The emulator's cursor encodes an offset (DRF's a position plus an offset); clients only pass it on.
    """
    raw = request.query_params.get("cursor")
    offset = 0
    if raw is not None:
        try:
            offset = int(base64.urlsafe_b64decode(raw.encode()).decode().removeprefix("o="))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise not_found("Invalid cursor") from None
        if offset < 0:
            raise not_found("Invalid cursor")
    end = offset + DELIVERY_PAGE_SIZE

    def link(to: int) -> str:
        if to <= 0:
            return str(request.url.remove_query_params("cursor"))
        cursor = base64.urlsafe_b64encode(f"o={to}".encode()).decode()
        return str(request.url.include_query_params(cursor=cursor))

    return {
        "next": link(end) if end < len(items) else None,
        "previous": link(offset - DELIVERY_PAGE_SIZE) if offset > 0 else None,
        "results": items[offset:end],
    }


def _status(delivery: dict[str, Any], now: Any) -> str:
    finished = parse_datetime(delivery["finished_at"])
    return "completed" if finished is not None and finished <= now else "starting"


def _public_delivery(delivery: dict[str, Any], now: Any) -> dict[str, Any]:
    status = _status(delivery, now)
    finished = delivery["finished_at"] if status == "completed" else None
    return {
        "id": delivery["id"],
        "subscription": delivery["subscription"],
        "temporal_workflow_id": delivery["temporal_workflow_id"],
        "idempotency_key": delivery["idempotency_key"],
        "trigger_type": delivery["trigger_type"],
        "scheduled_at": delivery["scheduled_at"],
        "target_type": delivery["target_type"],
        "target_value": delivery["target_value"],
        "exported_asset_ids": [],
        "content_snapshot": {},
        "recipient_results": [],
        "status": status,
        "error": None,
        "created_at": delivery["created_at"],
        "last_updated_at": finished or delivery["created_at"],
        "finished_at": finished,
        "change_summary": None,
        "ai_report": None,
        "ai_report_diagnostics": None,
        "ai_report_prompt": delivery["prompt"],
    }


def _find(request: Request) -> dict[str, Any]:
    raw = request.path_params["subscription_id"]
    subscriptions = emulator_of(request).state.objects["subscriptions"]
    if not raw.isdigit() or int(raw) not in subscriptions:
        raise not_found()
    subscription: dict[str, Any] = subscriptions[int(raw)]
    return subscription


def _resource_type(subscription: dict[str, Any]) -> str:
    """PostHog's ``derive_resource_type``: insight, then dashboard, then prompt."""
    if subscription.get("insight"):
        return "insight"
    if subscription.get("dashboard"):
        return "dashboard"
    return "ai_prompt"


def _resource_name(subscription: dict[str, Any]) -> str | None:
    """PostHog's ``resource_info.name``."""
    kind = _resource_type(subscription)
    if kind == "insight":
        return INSIGHTS[subscription["insight"]][1] if subscription["insight"] in INSIGHTS else None
    if kind == "dashboard":
        return DASHBOARDS[subscription["dashboard"]][0] if subscription["dashboard"] in DASHBOARDS else None
    return subscription.get("title") or (subscription.get("prompt") or "").strip()[:60] or "AI report"


def _public(subscription: dict[str, Any]) -> dict[str, Any]:
    insight = subscription["insight"]
    return {
        "id": subscription["id"],
        "resource_type": _resource_type(subscription),
        "dashboard": subscription["dashboard"],
        "insight": insight,
        "insight_short_id": INSIGHTS[insight][0] if insight in INSIGHTS else None,
        "resource_name": _resource_name(subscription),
        "dashboard_export_insights": list(subscription.get("dashboard_export_insights", [])),
        "prompt": subscription.get("prompt"),
        "target_type": subscription["target_type"],
        "target_value": subscription["target_value"],
        "frequency": subscription["frequency"],
        "interval": subscription["interval"],
        "byweekday": subscription["byweekday"],
        "bysetpos": subscription["bysetpos"],
        "count": subscription["count"],
        "start_date": subscription["start_date"],
        "until_date": subscription["until_date"],
        "created_at": subscription["created_at"],
        "created_by": subscription["created_by"],
        "deleted": subscription["deleted"],
        "enabled": subscription.get("enabled", True),
        "title": subscription["title"],
        "summary": summary(subscription),
        "next_delivery_date": subscription["next_delivery_date"],
        "integration_id": subscription.get("integration_id"),
        "invite_message": None,
        "summary_enabled": subscription.get("summary_enabled", False),
        "summary_prompt_guide": subscription.get("summary_prompt_guide", ""),
    }


def _validate(
    seed: Seed, body: dict[str, Any], *, existing: dict[str, Any] | None, partial: bool
) -> dict[str, Any]:
    """The fields in the serializer's order (first error reported), then ``validate``'s rules in order."""
    values = _field_values(seed, body, partial=partial)
    _check_resource(values, existing)
    _check_dashboard_export(seed, values, existing)
    _check_schedule(values, existing)
    _check_slack(seed, values, existing)
    return values


def _field_values(seed: Seed, body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}

    def field(name: str, *, required: bool = False, allow_null: bool = False) -> Any:
        return fields.get(body, name, is_required=required and not partial, allow_null=allow_null)

    for name, known in (("dashboard", seed.dashboards), ("insight", seed.insights)):
        raw = field(name, allow_null=True)
        if raw is None or fields.is_missing(raw):
            if raw is None:
                values[name] = None
            continue
        number = fields.integer(name, raw)
        if number not in known:
            raise validation_error(name, "does_not_exist", f'Invalid pk "{number}" - object does not exist.')
        values[name] = number
    raw = field("dashboard_export_insights")
    if not fields.is_missing(raw):
        if not isinstance(raw, list):
            raise validation_error("dashboard_export_insights", "invalid", "Expected a list of insight IDs.")
        if not all(isinstance(item, int) for item in raw):
            raise validation_error("dashboard_export_insights", "invalid", "All items must be integers.")
        values["dashboard_export_insights"] = raw
    raw = field("prompt", allow_null=True)
    if not fields.is_missing(raw):
        values["prompt"] = None if raw is None else fields.string("prompt", raw)
    raw = field("target_type", required=True)
    if not fields.is_missing(raw):
        values["target_type"] = fields.choice("target_type", raw, TARGET_TYPES)
    raw = field("target_value", required=True)
    if not fields.is_missing(raw):
        values["target_value"] = fields.string("target_value", raw, allow_blank=False)
    raw = field("frequency", required=True)
    if not fields.is_missing(raw):
        values["frequency"] = fields.choice("frequency", raw, FREQUENCIES)
    raw = field("interval", required=True)
    if not fields.is_missing(raw):
        values["interval"] = fields.integer("interval", raw, min_value=1)
    raw = field("byweekday", allow_null=True)
    if not fields.is_missing(raw):
        values["byweekday"] = (
            None
            if raw is None
            else [
                fields.choice(f"byweekday__{index}", day, WEEKDAYS)
                for index, day in enumerate(fields.a_list("byweekday", raw))
            ]
        )
    for name in ("bysetpos", "count"):
        raw = field(name, allow_null=True)
        if not fields.is_missing(raw):
            values[name] = None if raw is None else fields.integer(name, raw)
    raw = field("start_date", required=True)
    if not fields.is_missing(raw):
        values["start_date"] = iso(fields.date_time("start_date", raw))
    raw = field("until_date", allow_null=True)
    if not fields.is_missing(raw):
        values["until_date"] = None if raw is None else iso(fields.date_time("until_date", raw))
    for name in ("deleted", "enabled"):
        raw = field(name)
        if not fields.is_missing(raw):
            values[name] = fields.boolean(name, raw)
    raw = field("title", allow_null=True)
    if not fields.is_missing(raw):
        values["title"] = None if raw is None else fields.string("title", raw, max_length=TITLE_MAX_LENGTH)
    raw = field("integration_id", allow_null=True)
    if not fields.is_missing(raw):
        values["integration_id"] = None if raw is None else fields.integer("integration_id", raw)
    raw = field("invite_message", allow_null=True)
    if not fields.is_missing(raw) and raw is not None:
        fields.string("invite_message", raw)
    raw = field("summary_enabled")
    if not fields.is_missing(raw):
        values["summary_enabled"] = fields.boolean("summary_enabled", raw)
    raw = field("summary_prompt_guide")
    if not fields.is_missing(raw):
        values["summary_prompt_guide"] = fields.string(
            "summary_prompt_guide", raw, max_length=SUMMARY_PROMPT_GUIDE_MAX_LENGTH
        )
    return values


def _check_resource(values: dict[str, Any], existing: dict[str, Any] | None) -> None:
    """What the subscription delivers: exactly one of insight, dashboard and prompt."""
    if existing is None and not any(values.get(name) for name in _RESOURCES):
        raise validation_error(
            None, "invalid", "A subscription must have an insight, a dashboard, or a prompt."
        )
    kind = _resource_type(existing if existing is not None else values)
    if kind == "insight" and (values.get("dashboard") or values.get("prompt")):
        raise validation_error(
            "insight", "invalid", "Insight subscriptions cannot also set dashboard or prompt."
        )
    if kind == "dashboard" and (values.get("insight") or values.get("prompt")):
        raise validation_error(
            "dashboard", "invalid", "Dashboard subscriptions cannot also set insight or prompt."
        )
    if kind == "ai_prompt":
        if values.get("insight") or values.get("dashboard"):
            raise validation_error(
                "prompt", "invalid", "AI subscriptions cannot also set insight or dashboard."
            )
        prompt = (values["prompt"] if "prompt" in values else (existing or {}).get("prompt")) or ""
        if not prompt.strip():
            raise validation_error("prompt", "invalid", "Prompt is required for AI subscriptions.")
        if len(prompt) > PROMPT_MAX_LENGTH:
            raise validation_error(
                "prompt", "invalid", f"Prompt cannot exceed {PROMPT_MAX_LENGTH} characters."
            )


def _check_dashboard_export(seed: Seed, values: dict[str, Any], existing: dict[str, Any] | None) -> None:
    """``_validate_dashboard_export_subscription``: 1..6 insights, all on the subscription's dashboard."""
    dashboard = values.get("dashboard") or (existing or {}).get("dashboard")
    selected = values.get("dashboard_export_insights", [])
    attr = "dashboard_export_insights"
    if dashboard is None:
        if selected:
            raise validation_error(attr, "invalid", "Cannot set insights selection without a dashboard.")
        return
    if (existing is None and not selected) or (existing is not None and attr in values and not selected):
        raise validation_error(attr, "invalid", "Select at least one insight for this subscription.")
    chosen = set(selected)
    if len(chosen) > MAX_EXPORT_INSIGHTS:
        raise validation_error(attr, "invalid", f"Cannot select more than {MAX_EXPORT_INSIGHTS} insights.")
    if not chosen <= set(seed.insights):
        raise validation_error(
            attr, "invalid", "Some insights do not belong to your team or do no longer exist."
        )
    off_dashboard = chosen - set(seed.dashboard_tiles.get(dashboard, []))
    if off_dashboard:
        raise validation_error(attr, "invalid", f"{len(off_dashboard)} invalid insight(s) selected.")


def _check_schedule(values: dict[str, Any], existing: dict[str, Any] | None) -> None:
    """A create, a re-enable or a schedule change of an enabled subscription must leave a next delivery."""
    re_enabling = existing is not None and values.get("enabled") is True and not existing.get("enabled", True)
    changes_schedule = any(name in values for name in _SCHEDULE_FIELDS)
    if not (existing is None or re_enabling or (existing.get("enabled", True) and changes_schedule)):
        return
    merged = {"interval": 1, "byweekday": None, "bysetpos": None, "count": None, "until_date": None}
    merged.update({name: existing[name] for name in _SCHEDULE_FIELDS} if existing else {})
    merged.update({name: values[name] for name in _SCHEDULE_FIELDS if name in values})
    if next_delivery_date(merged, utc_now()) is not None:
        return
    if re_enabling:
        raise validation_error("enabled", "invalid", f"{_ENDED} before re-enabling.")
    if existing is None:
        raise validation_error("start_date", "invalid", f"{_ENDED}.")
    raise validation_error(None, "invalid", f"{_ENDED}.")


def _check_slack(seed: Seed, values: dict[str, Any], existing: dict[str, Any] | None) -> None:
    """A Slack subscription needs one of the team's Slack integrations."""
    target_type = values.get("target_type") or (existing or {}).get("target_type")
    if target_type != "slack":
        return
    integration_id = (
        values["integration_id"] if "integration_id" in values else (existing or {}).get("integration_id")
    )
    if not integration_id:
        raise validation_error(
            "integration_id", "invalid", "A Slack integration is required for Slack subscriptions."
        )
    if integration_id not in seed.integrations:
        raise validation_error(
            "integration_id", "invalid", "This integration does not exist or does not belong to your team."
        )
    if seed.integrations[integration_id] != "slack":
        raise validation_error(
            "integration_id", "invalid", "Slack subscriptions require a Slack integration."
        )


routes = [
    api_route("/subscriptions", list_subscriptions, ["GET"]),
    api_route("/subscriptions", create_subscription, ["POST"]),
    api_route("/subscriptions/{subscription_id}", retrieve_subscription, ["GET"]),
    api_route("/subscriptions/{subscription_id}", update_subscription, ["PATCH", "PUT"]),
    api_route("/subscriptions/{subscription_id}", destroy_subscription, ["DELETE"]),
    api_route("/subscriptions/{subscription_id}/test-delivery", test_delivery, ["POST"]),
    api_route("/subscriptions/{subscription_id}/deliveries", list_deliveries, ["GET"]),
]
