"""Keep PostHog report subscriptions (scheduled insight, dashboard and AI-report deliveries) in the state a
DAG declares."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from airflow_provider._compat import AirflowFailException
from airflow_provider.api import endpoints
from airflow_provider.api.arguments import (
    invalid,
    require_choice,
    require_datetime,
    require_int,
    require_text,
)
from airflow_provider.api.errors import PostHogAPIError, PostHogConfigError, PostHogResponseLostError
from airflow_provider.hooks.posthog import PostHogHook
from airflow_provider.links import PostHogSubscriptionLink
from airflow_provider.operators.base import PostHogBaseOperator, check_when_known, is_known, is_unrendered

if TYPE_CHECKING:
    from airflow.sdk import Context, XComArg

IF_EXISTS = ("update", "skip", "fail", "create")


class _SubscriptionFieldsOperator(PostHogBaseOperator):
    """Keeps, checks and sends the subscription fields shared by the create and update operators.

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
    :param dashboard_export_insights: for a dashboard subscription, the ids of the dashboard's insights
        to deliver (at least one; PostHog caps how many by version and plan: 6 on the free plan).
    :param prompt: for an AI-report subscription, the prompt of the report (at most 4000 characters).
    :param integration_id: the id of the project's Slack integration; needed when ``target_type`` is
        ``slack``.
    :param enabled: ``False`` pauses deliveries without deleting the subscription.
    :param summary_enabled: attach an AI summary to each delivery (PostHog checks the organization's AI
        approval and quota).
    :param summary_prompt_guide: guidance for that summary, at most 500 characters (``""`` clears it).
    :param extra_fields: other PostHog fields sent as given.
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
        "dashboard_export_insights",
        "prompt",
        "integration_id",
        "enabled",
        "summary_enabled",
        "summary_prompt_guide",
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
        dashboard_export_insights: Sequence[int | str] | str | None = None,
        prompt: str | None = None,
        integration_id: int | str | None = None,
        enabled: bool | str | None = None,
        summary_enabled: bool | str | None = None,
        summary_prompt_guide: str | None = None,
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
        self.dashboard_export_insights = dashboard_export_insights
        self.prompt = prompt
        self.integration_id = integration_id
        self.enabled = enabled
        self.summary_enabled = summary_enabled
        self.summary_prompt_guide = summary_prompt_guide
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
            "dashboard_export_insights": self.dashboard_export_insights,
            "prompt": self.prompt,
            "integration_id": self.integration_id,
            "enabled": self.enabled,
            "summary_enabled": self.summary_enabled,
            "summary_prompt_guide": self.summary_prompt_guide,
        }

    def check_arguments(self, *, rendered: bool) -> None:
        self._subscription_fields(rendered=rendered)

    def _subscription_fields(self, *, rendered: bool) -> dict[str, Any]:
        """The given fields, checked and converted to what PostHog expects.

        :param rendered: whether templates have been rendered; before, templated values are skipped.
        :raises ValueError: naming the field and what is allowed.
        """
        fields: dict[str, Any] = {}
        for name, value in self._field_values.items():
            if value is None or (not rendered and _has_template(value)):
                continue
            fields[name] = endpoints.check_subscription_field(name, value)
        if self.extra_fields is not None and is_known(self.extra_fields, rendered=rendered):
            if not isinstance(self.extra_fields, dict):
                invalid("extra_fields", "a dict of PostHog field names to values", self.extra_fields)
            clashes = sorted(set(self.extra_fields) & (set(self._field_values) | {"insight", "dashboard"}))
            if clashes:
                raise PostHogConfigError(
                    f"extra_fields must not repeat fields that have their own argument: {clashes}."
                )
            fields.update(self.extra_fields)
        return fields

    def _finish(self, hook: PostHogHook, context: Context, subscription_id: int) -> int:
        """Store the "View in PostHog" URL and return the id as the XCom value."""
        PostHogSubscriptionLink.push(context, hook, subscription_id)
        return subscription_id


class PostHogCreateSubscriptionOperator(_SubscriptionFieldsOperator):
    """Create a subscription, or bring an existing one for the same resource and target up to date.

    What it delivers is exactly one of ``insight``, ``dashboard`` (with ``dashboard_export_insights``)
    and ``prompt`` (an AI report). An existing subscription is a non-deleted one for the same insight,
    dashboard or prompt with the same ``target_type`` and ``target_value``; the other fields (the
    dashboard's insight selection included) are settings that ``if_exists="update"`` brings up to
    date. ``if_exists`` decides what happens to it:

    - ``"update"`` (default): change the fields that differ (no request when none do);
    - ``"skip"``: leave it as it is;
    - ``"fail"``: fail the task;
    - ``"create"``: create another one regardless (no lookup; a retry after a lost answer may then
      duplicate).

    If PostHog's answer to the create is lost (a 502/504 or a dropped connection after sending), the
    operator looks the subscription up instead of sending the create again, so a retry never duplicates.
    The XCom value is the subscription id; the "View in PostHog" link opens it.

    With ``send_test_delivery=True`` the subscription is delivered once right after it is created
    (PostHog's test delivery). It is sent at most once: a retry of the task sends it only if the
    subscription's delivery history has no test delivery yet, and a lost answer is looked up in that
    history, never re-sent. An existing subscription found on the first try gets none.

    :param insight: the insight id to deliver.
    :param dashboard: the dashboard id to deliver; needs ``dashboard_export_insights``.
    :param prompt: the prompt of an AI report to deliver (a scheduled LLM report).
    :param target_type: where deliveries go: ``email`` or ``slack`` (``teams`` on the newest PostHog,
        ``webhook`` on 2025 versions); ``slack`` needs ``integration_id``.
    :param target_value: the recipients: comma-separated emails or a Slack channel.
    :param frequency: ``daily``, ``weekly``, ``monthly`` or ``yearly``.
    :param delivery_start: first delivery (PostHog's ``start_date``); default: now, when creating (an
        existing subscription keeps its own).
    :param if_exists: ``"update"``, ``"skip"``, ``"fail"`` or ``"create"``.
    :param invite_message: text of the email sent to new recipients (sent on create only).
    :param send_test_delivery: deliver the subscription once after creating it.

    The schedule and other fields are those of :class:`PostHogUpdateSubscriptionOperator`: ``interval``
    (default 1), ``byweekday``, ``bysetpos``, ``count``, ``delivery_until``, ``title``,
    ``dashboard_export_insights``, ``integration_id``, ``enabled``, ``summary_enabled``,
    ``summary_prompt_guide``, ``extra_fields``, plus ``posthog_conn_id`` and ``project_id``.
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
        send_test_delivery: bool = False,
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
        self.if_exists = if_exists
        self.invite_message = invite_message
        self.send_test_delivery = send_test_delivery

    def check_arguments(self, *, rendered: bool) -> None:
        require_choice("if_exists", self.if_exists, IF_EXISTS)
        if not isinstance(self.send_test_delivery, bool):
            invalid("send_test_delivery", "True or False", self.send_test_delivery)
        resource = self._resource(rendered=rendered)
        fields = self._subscription_fields(rendered=rendered)
        # PostHog's rules that tie fields together (a dashboard needs its insight selection, Slack an
        # integration, ...): on the checked fields once rendered, before on every field given (a
        # template counts as given).
        endpoints.check_new_subscription({**fields, **resource} if rendered else self._given_fields())
        if self.invite_message is not None and is_known(self.invite_message, rendered=rendered):
            require_text("invite_message", self.invite_message)

    def _given_fields(self) -> dict[str, Any]:
        """Every field given, as PostHog names it (templates not yet rendered included)."""
        given = {**self._field_values, "insight": self.insight, "dashboard": self.dashboard}
        if isinstance(self.extra_fields, dict):
            given.update(self.extra_fields)
        return {name: value for name, value in given.items() if value is not None}

    def _resource(self, *, rendered: bool) -> dict[str, Any]:
        """``{"insight": id}``, ``{"dashboard": id}`` or ``{"prompt": text}``; ``{}`` before rendering if
        templated."""
        given = {
            name: value
            for name, value in (
                ("insight", self.insight),
                ("dashboard", self.dashboard),
                ("prompt", self.prompt),
            )
            if value not in (None, "")
        }
        if len(given) != 1:
            raise PostHogConfigError(
                "Pass exactly one of insight, dashboard and prompt (what to deliver); got "
                f"insight={self.insight!r}, dashboard={self.dashboard!r}, prompt={self.prompt!r}."
            )
        ((name, value),) = given.items()
        if not is_known(value, rendered=rendered):
            return {}
        return {name: endpoints.check_subscription_field(name, value)}

    def execute(self, context: Context) -> int:
        resource = self._resource(rendered=True)
        fields = {**self._subscription_fields(rendered=True), **resource}
        if self.invite_message is not None:
            fields["invite_message"] = self.invite_message
        hook = self.hook
        if self.if_exists != "create":
            existing = self._find_existing(hook, resource)
            if existing is not None:
                subscription_id = self._handle_existing(hook, existing, fields)
                self._send_test_delivery(hook, context, subscription_id, created=False)
                return self._finish(hook, context, subscription_id)
        fields.setdefault("start_date", dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat())
        try:
            created = hook.create_subscription(**fields)
        except PostHogResponseLostError:
            if self.if_exists == "create":
                raise
            self.log.warning("The answer to the create was lost; looking for the subscription it made.")
            found = self._find_existing(hook, resource)
            if found is None:
                raise
            self.log.info("Found subscription %s: the create had gone through.", found["id"])
            subscription_id = _apply_update(hook, found, fields, self.log)
        else:
            subscription_id = int(created["id"])
            self.log.info("Created subscription %s.", subscription_id)
        self._send_test_delivery(hook, context, subscription_id, created=True)
        return self._finish(hook, context, subscription_id)

    def _find_existing(self, hook: PostHogHook, resource: dict[str, Any]) -> dict[str, Any] | None:
        """The oldest non-deleted subscription of the same insight/dashboard/prompt, target type and value."""
        ((resource_field, resource_value),) = resource.items()
        # Compared as PostHog stores it (trimmed), or a padded value would never match and duplicate.
        target_value = endpoints.check_subscription_field("target_value", self.target_value)
        # An AI report has no id to filter by: PostHog's resource_type filter narrows the list.
        filters = {"resource_type": "ai_prompt"} if resource_field == "prompt" else resource
        matches = [
            subscription
            for subscription in hook.list_subscriptions(**filters)
            if not subscription.get("deleted")
            and subscription.get(resource_field) == resource_value
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

    def _send_test_delivery(
        self, hook: PostHogHook, context: Context, subscription_id: int, *, created: bool
    ) -> None:
        """Deliver once after creating; at most once, across retries and lost answers."""
        if not self.send_test_delivery:
            return
        if not created:
            ti = context.get("ti")
            if ti is None or ti.try_number <= 1:
                self.log.info(
                    "Subscription %s existed before this task ran: no test delivery (only after creating).",
                    subscription_id,
                )
                return
            # A retry: an earlier try may have created the subscription and sent the test delivery.
            if _has_test_delivery(hook, subscription_id):
                self.log.info(
                    "Subscription %s already had its test delivery; not sending another.", subscription_id
                )
                return
        try:
            hook.send_subscription_test_delivery(subscription_id)
        except PostHogResponseLostError:
            if not _has_test_delivery(hook, subscription_id):
                raise
            self.log.info(
                "The answer was lost, but the test delivery of %s is in its history.", subscription_id
            )
            return
        except PostHogAPIError as error:
            if error.status != 409 or "in progress" not in error.detail:
                raise
            self.log.info("A test delivery of subscription %s is already running.", subscription_id)
            return
        self.log.info("Sent a test delivery of subscription %s.", subscription_id)


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
    :param dashboard_export_insights: a dashboard subscription's insight ids (at least one).
    :param prompt: an AI report's prompt.
    :param integration_id: the Slack integration's id.
    :param enabled: ``False`` pauses deliveries, ``True`` resumes them.
    :param summary_enabled: attach an AI summary to each delivery.
    :param summary_prompt_guide: guidance for that summary (``""`` clears it).
    :param extra_fields: other fields sent as given.
    """

    template_fields: Sequence[str] = (*_SubscriptionFieldsOperator.template_fields, "subscription_id")
    operator_extra_links = (PostHogSubscriptionLink(),)

    def __init__(self, *, subscription_id: int | str | XComArg, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.subscription_id = subscription_id

    def check_arguments(self, *, rendered: bool) -> None:
        self.subscription_id = check_when_known(
            self.subscription_id, _require_subscription_id, rendered=rendered
        )
        if not any(value is not None for value in self._field_values.values()) and self.extra_fields is None:
            raise PostHogConfigError(
                "Pass at least one field to change (e.g. frequency, target_value or title)."
            )
        super().check_arguments(rendered=rendered)

    def execute(self, context: Context) -> int:
        fields = self._subscription_fields(rendered=True)
        subscription_id = cast("int", self.subscription_id)  # made an int by check_arguments
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

    def check_arguments(self, *, rendered: bool) -> None:
        self.subscription_id = check_when_known(
            self.subscription_id, _require_subscription_id, rendered=rendered
        )

    def execute(self, context: Context) -> int:
        subscription_id = cast("int", self.subscription_id)  # made an int by check_arguments
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


def _has_test_delivery(hook: PostHogHook, subscription_id: int) -> bool:
    """Whether the subscription's history has a test delivery (PostHog's trigger type ``manual``)."""
    return any(
        delivery.get("trigger_type") == "manual"
        for delivery in hook.list_subscription_deliveries(subscription_id)
    )


def _has_template(value: Any) -> bool:
    """Whether ``value``, or an item of a list of values, is still a template."""
    if isinstance(value, list | tuple):
        return any(is_unrendered(item) for item in value)
    return is_unrendered(value)


def _same_value(name: str, current: Any, wanted: Any) -> bool:
    if name == "dashboard_export_insights" and current is not None:
        return sorted(current) == sorted(wanted)
    if name in ("start_date", "until_date") and current is not None and wanted is not None:
        try:
            return require_datetime(name, current) == require_datetime(name, wanted)
        except ValueError:
            return False
    return bool(current == wanted)


def _require_subscription_id(value: Any) -> int:
    return require_int("subscription_id", value, minimum=1)
