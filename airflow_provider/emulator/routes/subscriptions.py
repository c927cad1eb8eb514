"""``subscriptions/``: scheduled insight/dashboard deliveries (docs/posthog-api.md sections 7.3 and 9.8).

Integer ids, limit/offset listing that hides deleted ones, soft delete by ``PATCH {"deleted": true}``
and a hard ``DELETE`` refused with an empty 405.
"""

from __future__ import annotations

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
from airflow_provider.emulator.seed import utc_now
from airflow_provider.emulator.timefmt import iso

TARGET_TYPES = ("email", "slack", "webhook", "teams")
TITLE_MAX_LENGTH = 100
_SCHEDULE_FIELDS = ("frequency", "interval", "byweekday", "bysetpos", "count", "start_date", "until_date")


async def list_subscriptions(request: Request) -> Response:
    """Subscriptions, deleted ones hidden unless ``deleted`` is given; filters ``insight``, ``dashboard``.

    :param request: the request.
    """
    await admit(request, "subscription:read")
    query = request.query_params
    emulator = emulator_of(request)
    with emulator.state.lock:
        items = sorted(emulator.state.objects["subscriptions"].values(), key=lambda item: item["id"])
    if "deleted" in query:
        wanted = query["deleted"].lower() in ("true", "1")
        items = [item for item in items if item["deleted"] == wanted]
    else:
        items = [item for item in items if not item["deleted"]]
    for name in ("insight", "dashboard"):
        if name in query:
            items = [item for item in items if str(item[name]) == query[name]]
    return JSONResponse(limit_offset(request, [_public(item) for item in items]))


async def create_subscription(request: Request) -> Response:
    """Create a subscription (201).

    :param request: the request.
    """
    await admit(request, "subscription:write")
    emulator = emulator_of(request)
    body = await json_object(request)
    values = _validate(emulator.state.seed.insights, emulator.state.seed.dashboards, body, partial=False)
    with emulator.state.lock:
        subscription_id = emulator.state.next_subscription_id
        emulator.state.next_subscription_id += 1
        subscription: dict[str, Any] = {
            "id": subscription_id,
            "dashboard": None,
            "insight": None,
            "interval": 1,
            "byweekday": None,
            "bysetpos": None,
            "count": None,
            "until_date": None,
            "created_at": iso(utc_now()),
            "created_by": emulator.state.user,
            "deleted": False,
            "title": None,
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
    values = _validate(
        emulator.state.seed.insights, emulator.state.seed.dashboards, body, partial=request.method == "PATCH"
    )
    with emulator.state.lock:
        subscription.update(values)
        if any(name in values for name in _SCHEDULE_FIELDS):
            subscription["next_delivery_date"] = next_delivery_date(subscription, utc_now())
    return JSONResponse(_public(subscription))


async def destroy_subscription(request: Request) -> Response:
    """Hard delete is forbidden: 405 with an empty body (PostHog's ``ForbidDestroyModel``), for any
    id, one that does not exist included: the refusal comes before the lookup.

    :param request: the request.
    """
    await admit(request, "subscription:write")
    return Response(status_code=405)


def _find(request: Request) -> dict[str, Any]:
    raw = request.path_params["subscription_id"]
    subscriptions = emulator_of(request).state.objects["subscriptions"]
    if not raw.isdigit() or int(raw) not in subscriptions:
        raise not_found()
    subscription: dict[str, Any] = subscriptions[int(raw)]
    return subscription


def _public(subscription: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": subscription["id"],
        "dashboard": subscription["dashboard"],
        "insight": subscription["insight"],
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
        "title": subscription["title"],
        "summary": summary(subscription),
        "next_delivery_date": subscription["next_delivery_date"],
        "invite_message": None,
    }


def _validate(
    insights: list[int], dashboards: list[int], body: dict[str, Any], *, partial: bool
) -> dict[str, Any]:
    """Validate in the serializer's field order; the first error is the one reported."""
    values: dict[str, Any] = {}

    def field(name: str, *, required: bool = False, allow_null: bool = False) -> Any:
        return fields.get(body, name, is_required=required and not partial, allow_null=allow_null)

    for name, known in (("dashboard", dashboards), ("insight", insights)):
        raw = field(name, allow_null=True)
        if raw is None or fields.is_missing(raw):
            if raw is None:
                values[name] = None
            continue
        number = fields.integer(name, raw)
        if number not in known:
            raise validation_error(name, "does_not_exist", f'Invalid pk "{number}" - object does not exist.')
        values[name] = number
    raw = field("target_type", required=True)
    if not fields.is_missing(raw):
        values["target_type"] = fields.choice("target_type", raw, TARGET_TYPES)
    raw = field("target_value", required=True)
    if not fields.is_missing(raw):
        values["target_value"] = fields.string("target_value", raw, allow_blank=False)
    raw = field("frequency", required=True)
    if not fields.is_missing(raw):
        values["frequency"] = fields.choice("frequency", raw, FREQUENCIES)
    raw = field("interval")
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
    raw = field("deleted")
    if not fields.is_missing(raw):
        values["deleted"] = fields.boolean("deleted", raw)
    raw = field("title", allow_null=True)
    if not fields.is_missing(raw):
        values["title"] = None if raw is None else fields.string("title", raw, max_length=TITLE_MAX_LENGTH)
    raw = field("invite_message", allow_null=True)
    if not fields.is_missing(raw) and raw is not None:
        fields.string("invite_message", raw)
    return values


routes = [
    api_route("/subscriptions", list_subscriptions, ["GET"]),
    api_route("/subscriptions", create_subscription, ["POST"]),
    api_route("/subscriptions/{subscription_id}", retrieve_subscription, ["GET"]),
    api_route("/subscriptions/{subscription_id}", update_subscription, ["PATCH", "PUT"]),
    api_route("/subscriptions/{subscription_id}", destroy_subscription, ["DELETE"]),
]
