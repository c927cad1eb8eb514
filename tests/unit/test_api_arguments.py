"""The one vocabulary of argument checks: what each accepts; errors name the field and what is allowed."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from airflow_provider.api.arguments import (
    require_choice,
    require_datetime,
    require_int,
    require_seconds,
    require_str_list,
    require_text,
    require_timestamp,
    require_uuid,
)
from airflow_provider.api.errors import PostHogConfigError

T0 = dt.datetime(2026, 11, 26, 12, 0, 0, 500000, tzinfo=dt.timezone.utc).timestamp()
CANONICAL = "0193b5d2-0000-7000-8000-000000000001"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        (T0, T0),
        (int(T0), float(int(T0))),
        ("2026-11-26T12:00:00.500000Z", T0),
        ("2026-11-26T12:00:00.500000+00:00", T0),
        ("2026-11-26T13:00:00.500000+01:00", T0),
        (dt.datetime(2026, 11, 26, 12, 0, 0, 500000), T0),
        ("2026-W48-4T12:00:00.5Z", T0),  # an ISO week date: only pendulum reads it
    ],
)
def test_require_timestamp_accepts_epochs_datetimes_and_iso_strings(
    value: object, expected: float | None
) -> None:
    assert require_timestamp("requested_after", value) == expected


@pytest.mark.parametrize("value", ["yesterday", True, [1], object()])
def test_require_timestamp_names_the_field_and_the_forms_allowed(value: object) -> None:
    with pytest.raises(PostHogConfigError, match=r"^requested_after must be .*; got "):
        require_timestamp("requested_after", value)


@pytest.mark.parametrize(
    "given",
    [
        CANONICAL.upper(),
        f" {CANONICAL} ",
        "{" + CANONICAL + "}",
        CANONICAL.replace("-", ""),
        uuid.UUID(CANONICAL),
    ],
)
def test_require_uuid_returns_the_canonical_form(given: object) -> None:
    assert require_uuid("saved_query_id", given) == CANONICAL


@pytest.mark.parametrize("given", ["daily_views", "", None, 42, "0193b5d2-0000-7000-8000"])
def test_require_uuid_names_the_field_shows_an_example_and_the_hint(given: object) -> None:
    with pytest.raises(PostHogConfigError) as raised:
        require_uuid("interview_id", given, hint="Use the create task's result.")
    message = str(raised.value)
    assert message.startswith(
        f"interview_id must be a UUID such as 0192f3a0-aaaa-7bbb-8ccc-000000000001; got {given!r}."
    )
    assert message.endswith("Use the create task's result.")


@pytest.mark.parametrize(("given", "expected"), [(3, 3), ("42", 42), (" 7 ", 7), (5.0, 5)])
def test_require_int_takes_rendered_numbers(given: object, expected: int) -> None:
    assert require_int("interval", given, minimum=1) == expected


@pytest.mark.parametrize(
    ("given", "bounds", "allowed"),
    [
        (True, {}, "an integer"),
        (2.5, {}, "an integer"),
        ("x", {"minimum": 1}, "an integer >= 1"),
        (0, {"minimum": 1}, "an integer >= 1"),
        (301, {"minimum": 1, "maximum": 300}, "an integer from 1 to 300"),
        (float("inf"), {}, "an integer"),
    ],
)
def test_require_int_says_what_is_allowed(given: object, bounds: dict[str, int], allowed: str) -> None:
    with pytest.raises(PostHogConfigError, match=f"^batch_size must be {allowed}; got "):
        require_int("batch_size", given, **bounds)


def test_errors_are_value_errors_so_operators_fail_fast_on_them() -> None:
    assert issubclass(PostHogConfigError, ValueError)


@pytest.mark.parametrize("given", [0, -1, True, "30", float("nan"), float("inf")])
def test_require_seconds_refuses_what_is_not_a_positive_finite_number(given: object) -> None:
    with pytest.raises(
        PostHogConfigError, match=r"^check_interval must be a positive number of seconds; got "
    ):
        require_seconds("check_interval", given)


def test_require_choice_lists_the_allowed_values_in_order() -> None:
    with pytest.raises(
        PostHogConfigError, match=r"^frequency must be one of 'daily', 'weekly'; got 'fortnightly'\.$"
    ):
        require_choice("frequency", "fortnightly", ("daily", "weekly"))
    assert require_choice("frequency", "weekly", ("daily", "weekly")) == "weekly"


def test_require_text_and_lists_name_the_item_that_is_wrong() -> None:
    assert require_text("title", "Weekly") == "Weekly"
    with pytest.raises(
        PostHogConfigError, match=r"^title must be at most 3 characters \(it has 6\); got 'Weekly'\.$"
    ):
        require_text("title", "Weekly", max_length=3)
    with pytest.raises(PostHogConfigError, match=r"^emails\[1\] must be a non-empty string; got ''\.$"):
        require_str_list("emails", ["a@b.c", ""])
    with pytest.raises(PostHogConfigError, match=r"^emails must be a list of strings; got 'a@b.c'\.$"):
        require_str_list("emails", "a@b.c")


def test_require_datetime_takes_naive_values_as_utc_and_refuses_other_types() -> None:
    assert require_datetime("start", dt.date(2026, 1, 31)) == dt.datetime(2026, 1, 31, tzinfo=dt.timezone.utc)
    assert require_datetime("start", "2026-01-31T09:00:00").tzinfo == dt.timezone.utc
    with pytest.raises(
        PostHogConfigError, match=r"^start must be a datetime or an ISO-8601 string; got 5\.$"
    ):
        require_datetime("start", 5)


def test_a_long_value_is_cut_in_the_message() -> None:
    with pytest.raises(PostHogConfigError) as raised:
        require_text("title", 12345678901234567890 * 10**80)
    assert len(str(raised.value)) < 140
