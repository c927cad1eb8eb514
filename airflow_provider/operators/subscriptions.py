"""Keep PostHog report subscriptions (scheduled insight/dashboard deliveries) in the state a DAG declares."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider._compat import AirflowFailException
from airflow_provider.api import PostHogResponseLostError, endpoints
from airflow_provider.api.arguments import (
    require_choice,
    require_datetime,
    require_int,
    require_text,
)
from airflow_provider.api.errors import PostHogConfigError
from airflow_provider.hooks.posthog import PostHogHook
from airflow_provider.links import PostHogSubscriptionLink
from airflow_provider.operators.base import PostHogBaseOperator, checked_at_execute, is_unrendered

if TYPE_CHECKING:
    from airflow.sdk import Context, XComArg

IF_EXISTS = ("update", "skip", "fail", "create")


class _SubscriptionFieldsOperator(PostHogBaseOperator):
    """Holds, validates and sends the subscription fields shared by the create and update operators.

    Every field is optional here; ``None`` means "not given" (not sent).

    :param posthog_conn_id: the PostHog connection (templated).
    :param project_id: the PostHog project (environment) id (templated); default: the connection's.
    :param target_type: where deliveries go: ``email``, ``slack``, ``webhook`` or ``teams`` (which of
        them a PostHog version accepts differs: ``webhook`` is gone from the newest, ``teams`` is new).
    :param target_value: the recipients: comma-separated emails, a Slack channel or a URL.
    :param frequency: ``daily``, ``weekly``, ``monthly`` or ``yearly``.
    :param interval: every how many ``frequency`` periods, at least 1.
    :param byweekday: days for weekly/monthly schedules, ``monday`` .. ``sunday``.
    :param bysetpos: which of the ``byweekday`` days in a month (1..4, -1 for the last).
    :param count: total number of deliveries.
    :param delivery_start: PostHog's ``start_date``, the first delivery (datetime or ISO-8601; naive values
        are UTC). Not named ``start_date`` because that is the task's own argument (and DAG
        ``default_args`` would fill it).
    :param delivery_until: PostHog's ``until_date``, the last delivery (datetime or ISO-8601).
    :param title: the subscription's name, at most 100 characters.
    :param extra_fields: other fields sent as given (e.g. ``{"integration_id": 5}`` for Slack).
    """

    template_fields: Sequence[str] = (
        *PostHogBaseOperator.template_fields,
        "target_type",
        "target_value",
        "frequency",
        "interval",
        "byweekday",
        "bysetpos",
        "count",
        "delivery_start",
        "delivery_until",
        "title",
        "extra_fields",
    )

    def __init__(
        self,
        *,
        target_type: str | None = None,
        target_value: str | None = None,
        frequency: str | None = None,
        interval: int | str | None = None,
        byweekday: Sequence[str] | None = None,
        bysetpos: int | None = None,
        count: int | None = None,
        delivery_start: dt.datetime | str | None = None,
        delivery_until: dt.datetime | str | None = None,
        title: str | None = None,
        extra_fields: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.target_type = target_type
        self.target_value = target_value
        self.frequency = frequency
        self.interval = interval
        self.byweekday = byweekday
        self.bysetpos = bysetpos
        self.count = count
        self.delivery_start = delivery_start
        self.delivery_until = delivery_until
        self.title = title
        self.extra_fields = extra_fields

    @property
    def _field_values(self) -> dict[str, Any]:
        return {
            "target_type": self.target_type,
            "target_value": self.target_value,
            "frequency": self.frequency,
            "interval": self.interval,
            "byweekday": self.byweekday,
            "bysetpos": self.bysetpos,
            "count": self.count,
            "start_date": self.delivery_start,
            "until_date": self.delivery_until,
            "title": self.title,
        }

    def _subscription_fields(self, *, rendered: bool) -> dict[str, Any]:
        """The given fields, validated and converted to what PostHog expects.

        :param rendered: whether templates have been rendered; before, templated values are skipped.
        :raises ValueError: naming the field and what is allowed.
        """
        fields: dict[str, Any] = {}
        for name, value in self._field_values.items():
            if value is None or (not rendered and is_unrendered(value)):
                continue
            fields[name] = endpoints.check_subscription_field(name, value)
        if self.extra_fields is not None and (rendered or not is_unrendered(self.extra_fields)):
            if not isinstance(self.extra_fields, dict):
                raise PostHogConfigError(
                    f"extra_fields must be a dict of PostHog field names to values; got {self.extra_fields!r}"
                )
            clashes = sorted(set(self.extra_fields) & (set(self._field_values) | {"insight", "dashboard"}))
            if clashes:
                raise PostHogConfigError(
                    f"extra_fields must not repeat fields that have their own argument: {clashes}."
                )
            fields.update(self.extra_fields)
        return fields

    def _validated_for_execute(self) -> dict[str, Any]:
        return checked_at_execute(lambda: self._subscription_fields(rendered=True))

    def _finish(self, hook: PostHogHook, context: Context, subscription_id: int) -> int:
        """Store the "View in PostHog" URL and return the id as the XCom value."""
        PostHogSubscriptionLink.push(context, hook, subscription_id)
        return subscription_id


class PostHogCreateSubscriptionOperator(_SubscriptionFieldsOperator):
    """Create a subscription, or bring an existing one for the same resource and target up to date.

    An existing subscription is a non-deleted one for the same ``insight`` or ``dashboard`` with the same
    ``target_type`` and ``target_value``. ``if_exists`` decides what happens to it:

    - ``"update"`` (default): change the fields that differ (no request when none do);
    - ``"skip"``: leave it as it is;
    - ``"fail"``: fail the task;
    - ``"create"``: create another one regardless (no lookup; a retry after a lost answer may then
      duplicate).

    If PostHog's answer to the create is lost (a 502/504 or a dropped connection after sending), the
    operator looks the subscription up instead of sending the create again, so a retry never duplicates.
    The XCom value is the subscription id; the "View in PostHog" link opens it.

    :param insight: the insight id to deliver; exactly one of ``insight`` and ``dashboard``.
    :param dashboard: the dashboard id to deliver.
    :param target_type: where deliveries go, passed through (``email``, ``slack``, ``webhook``, ...).
    :param target_value: the recipients: comma-separated emails, a Slack channel or a URL.
    :param frequency: ``daily``, ``weekly``, ``monthly`` or ``yearly``.
    :param delivery_start: first delivery (PostHog's ``start_date``); default: now, when creating (an
        existing subscription keeps its own).
    :param if_exists: ``"update"``, ``"skip"``, ``"fail"`` or ``"create"``.
    :param invite_message: text of the email sent to new recipients (sent on create only).

    The schedule and other fields are those of :class:`PostHogUpdateSubscriptionOperator`: ``interval``
    (default 1), ``byweekday``, ``bysetpos``, ``count``, ``delivery_until``, ``title``, ``extra_fields``,
    plus ``posthog_conn_id`` and ``project_id``.
    """

    template_fields: Sequence[str] = (
        *_SubscriptionFieldsOperator.template_fields,
        "insight",
        "dashboard",
        "invite_message",
    )
    operator_extra_links = (PostHogSubscriptionLink(),)

    def __init__(
        self,
        *,
        target_type: str,
        target_value: str,
        frequency: str,
        insight: int | str | None = None,
        dashboard: int | str | None = None,
        interval: int | str = 1,
        if_exists: str = "update",
        invite_message: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            target_type=target_type,
            target_value=target_value,
            frequency=frequency,
            interval=interval,
            **kwargs,
        )
        self.insight = insight
        self.dashboard = dashboard
        self.if_exists = require_choice("if_exists", if_exists, IF_EXISTS)
        self.invite_message = invite_message
        self._resource(rendered=False)
        self._subscription_fields(rendered=False)

    def _resource(self, *, rendered: bool) -> dict[str, int]:
        """``{"insight": id}`` or ``{"dashboard": id}``; ``{}`` before rendering if templated."""
        given = {
            name: value for name, value in (("insight", self.insight), ("dashboard", self.dashboard)) if value
        }
        if len(given) != 1:
            raise PostHogConfigError(
                "Pass exactly one of insight and dashboard (the id of what to deliver); "
                f"got insight={self.insight!r}, dashboard={self.dashboard!r}."
            )
        ((name, value),) = given.items()
        if not rendered and is_unrendered(value):
            return {}
        return {name: require_int(name, value, minimum=1)}

    def execute(self, context: Context) -> int:
        resource = checked_at_execute(lambda: self._resource(rendered=True))
        fields = self._validated_for_execute()
        if self.invite_message is not None:
            fields["invite_message"] = checked_at_execute(
                lambda: require_text("invite_message", self.invite_message)
            )
        hook = self.hook
        if self.if_exists != "create":
            existing = self._find_existing(hook, resource)
            if existing is not None:
                return self._finish(hook, context, self._handle_existing(hook, existing, fields))
        fields.setdefault("start_date", dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat())
        try:
            created = hook.create_subscription(**resource, **fields)
        except PostHogResponseLostError:
            if self.if_exists == "create":
                raise
            self.log.warning("The answer to the create was lost; looking for the subscription it made.")
            found = self._find_existing(hook, resource)
            if found is None:
                raise
            self.log.info("Found subscription %s: the create had gone through.", found["id"])
            return self._finish(hook, context, _apply_update(hook, found, fields, self.log))
        self.log.info("Created subscription %s.", created["id"])
        return self._finish(hook, context, int(created["id"]))

    def _find_existing(self, hook: PostHogHook, resource: dict[str, int]) -> dict[str, Any] | None:
        """The oldest non-deleted subscription of the same insight/dashboard, target type and value."""
        ((resource_field, resource_id),) = resource.items()
        # Compared as PostHog stores it (trimmed), or a padded value would never match and duplicate.
        target_value = endpoints.check_subscription_field("target_value", self.target_value)
        matches = [
            subscription
            for subscription in hook.list_subscriptions(**resource)
            if not subscription.get("deleted")
            and subscription.get(resource_field) == resource_id
            and subscription.get("target_type") == self.target_type
            and subscription.get("target_value") == target_value
        ]
        if not matches:
            return None
        matches.sort(key=lambda subscription: int(subscription["id"]))
        if len(matches) > 1:
            self.log.warning(
                "%d subscriptions match (ids %s); using the oldest, %s.",
                len(matches),
                ", ".join(str(match["id"]) for match in matches),
                matches[0]["id"],
            )
        return matches[0]

    def _handle_existing(self, hook: PostHogHook, existing: dict[str, Any], fields: dict[str, Any]) -> int:
        subscription_id = int(existing["id"])
        if self.if_exists == "fail":
            raise AirflowFailException(
                f"Subscription {subscription_id} already delivers this {self.target_type} target; "
                "if_exists='fail'. Use if_exists='update' to bring it up to date or 'skip' to keep it."
            )
        if self.if_exists == "skip":
            self.log.info(
                "Subscription %s already exists; if_exists='skip', leaving it as it is.", subscription_id
            )
            return subscription_id
        return _apply_update(hook, existing, fields, self.log)


class PostHogUpdateSubscriptionOperator(_SubscriptionFieldsOperator):
    """Change fields of a subscription (PATCH); only the fields given are sent.

    The XCom value is the subscription id; the "View in PostHog" link opens it.

    :param subscription_id: the subscription to change (templated).
    :param posthog_conn_id: the PostHog connection (templated).
    :param project_id: the PostHog project (environment) id (templated); default: the connection's.
    :param target_type: where deliveries go, passed through as given.
    :param target_value: the recipients.
    :param frequency: ``daily``, ``weekly``, ``monthly`` or ``yearly``.
    :param interval: every how many periods, at least 1.
    :param byweekday: ``monday`` .. ``sunday``.
    :param bysetpos: which of the ``byweekday`` days in a month.
    :param count: total number of deliveries.
    :param delivery_start: first delivery (PostHog's ``start_date``).
    :param delivery_until: last delivery (PostHog's ``until_date``).
    :param title: at most 100 characters.
    :param extra_fields: other fields sent as given.
    """

    template_fields: Sequence[str] = (*_SubscriptionFieldsOperator.template_fields, "subscription_id")
    operator_extra_links = (PostHogSubscriptionLink(),)

    def __init__(self, *, subscription_id: int | str | XComArg, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.subscription_id = subscription_id
        if not is_unrendered(subscription_id):
            require_int("subscription_id", subscription_id, minimum=1)
        if not any(value is not None for value in self._field_values.values()) and self.extra_fields is None:
            raise PostHogConfigError(
                "Pass at least one field to change (e.g. frequency, target_value or title)."
            )
        self._subscription_fields(rendered=False)

    def execute(self, context: Context) -> int:
        fields = self._validated_for_execute()
        subscription_id = checked_at_execute(
            lambda: require_int("subscription_id", self.subscription_id, minimum=1)
        )
        hook = self.hook
        hook.update_subscription(subscription_id, **fields)
        self.log.info("Updated subscription %s: %s.", subscription_id, ", ".join(sorted(fields)))
        return self._finish(hook, context, subscription_id)


class PostHogDeleteSubscriptionOperator(PostHogBaseOperator):
    """Delete a subscription the way PostHog allows: a soft delete (PATCH ``deleted=true``).

    Deleting an already deleted subscription succeeds (a retry is harmless). The XCom value is the id.

    :param subscription_id: the subscription to delete (templated).
    :param posthog_conn_id: the PostHog connection (templated).
    :param project_id: the PostHog project (environment) id (templated); default: the connection's.
    """

    template_fields: Sequence[str] = (*PostHogBaseOperator.template_fields, "subscription_id")

    def __init__(
        self,
        *,
        subscription_id: int | str | XComArg,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.subscription_id = subscription_id
        if not is_unrendered(subscription_id):
            require_int("subscription_id", subscription_id, minimum=1)

    def execute(self, context: Context) -> int:
        subscription_id = checked_at_execute(
            lambda: require_int("subscription_id", self.subscription_id, minimum=1)
        )
        self.hook.delete_subscription(subscription_id)
        self.log.info(
            "Deleted subscription %s (soft delete: PostHog keeps it with deleted=true).", subscription_id
        )
        return subscription_id


def _apply_update(hook: PostHogHook, existing: dict[str, Any], fields: dict[str, Any], log: Any) -> int:
    """PATCH the fields of ``existing`` that differ from ``fields``; return its id."""
    subscription_id = int(existing["id"])
    changes = {
        name: value
        for name, value in fields.items()
        if name != "invite_message" and not _same_value(name, existing.get(name), value)
    }
    if not changes:
        log.info("Subscription %s is already up to date.", subscription_id)
        return subscription_id
    hook.update_subscription(subscription_id, **changes)
    log.info("Updated subscription %s: %s.", subscription_id, ", ".join(sorted(changes)))
    return subscription_id


def _same_value(name: str, current: Any, wanted: Any) -> bool:
    if name in ("start_date", "until_date") and current is not None and wanted is not None:
        try:
            return require_datetime(name, current) == require_datetime(name, wanted)
        except ValueError:
            return False
    return bool(current == wanted)
