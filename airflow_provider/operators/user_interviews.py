"""Upload user-interview recordings to PostHog (which transcribes and summarises them); edit, delete."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, ObjectStoragePath
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider.api import PostHogNotFoundError, PostHogResponseLostError
from airflow_provider.hooks.posthog import PostHogHook
from airflow_provider.operators.validation import is_unrendered, require_str_list, require_text

if TYPE_CHECKING:
    from airflow.sdk import Context, XComArg

# How far PostHog's clock may be behind ours when matching an interview to the create that made it.
_CLOCK_SKEW = dt.timedelta(minutes=2)


class _UserInterviewOperator(BaseOperator):
    """Connection arguments shared by the user-interview operators.

    :param posthog_conn_id: the PostHog connection.
    :param project_id: the PostHog project (environment) id; default: the connection's.
    """

    def __init__(
        self, *, posthog_conn_id: str = "posthog_default", project_id: int | str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.posthog_conn_id = posthog_conn_id
        self.project_id = project_id

    def _hook(self) -> PostHogHook:
        return PostHogHook(posthog_conn_id=self.posthog_conn_id, project_id=self.project_id)


class PostHogCreateUserInterviewOperator(_UserInterviewOperator):
    """Upload an interview recording; PostHog transcribes and summarises it while the request runs.

    The audio is read through Airflow's object storage, so it can be a local path or any
    ``ObjectStoragePath`` URL (``file://``, ``s3://conn_id@bucket/key``, ...). The XCom value is the new
    interview's id.

    A create has no natural key to look up, so a lost answer is handled by matching: if PostHog's answer
    is lost, and on a retry of the task, an interview with the same ``interviewee_emails`` created since
    the request (or since the DAG run started) is taken as the one this task made, instead of uploading
    again.

    :param audio: the recording (templated): a local path, an ``ObjectStoragePath`` or its URL.
    :param interviewee_emails: who was interviewed (templated), e.g. ``["Jane Doe <jane@acme.com>"]``.
    :param posthog_conn_id: the PostHog connection.
    :param project_id: the PostHog project (environment) id; default: the connection's.
    """

    template_fields: Sequence[str] = ("audio", "interviewee_emails", "project_id")

    def __init__(
        self,
        *,
        audio: str | ObjectStoragePath | XComArg,
        interviewee_emails: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.audio = audio
        self.interviewee_emails = interviewee_emails
        self._check(rendered=False)

    def _check(self, *, rendered: bool) -> tuple[ObjectStoragePath | None, list[str] | None]:
        path = None
        if rendered or not is_unrendered(self.audio):
            if not isinstance(self.audio, (str, ObjectStoragePath)) or not str(self.audio).strip():
                raise ValueError(
                    f"audio must be a file path or an ObjectStoragePath URL; got {self.audio!r}."
                )
            try:
                path = ObjectStoragePath(self.audio)
            except ValueError as error:
                raise ValueError(f"audio {str(self.audio)!r} is not a usable path: {error}.") from None
        emails = None
        if rendered or not is_unrendered(self.interviewee_emails):
            emails = _require_emails(self.interviewee_emails)
        return path, emails

    def execute(self, context: Context) -> str:
        try:
            path, emails = self._check(rendered=True)
        except ValueError as error:
            raise AirflowFailException(str(error)) from error
        assert path is not None and emails is not None
        if not path.is_file():
            raise AirflowFailException(f"audio {path} does not exist or is not a file.")
        hook = self._hook()
        if context["ti"].try_number > 1:
            dag_run = context.get("dag_run")
            run_started = getattr(dag_run, "start_date", None)
            if run_started is not None:
                earlier = self._find_created(hook, emails, since=run_started)
                if earlier is not None:
                    self.log.info(
                        "An earlier try already created interview %s; not uploading again.", earlier
                    )
                    return earlier
        sent_at = dt.datetime.now(dt.timezone.utc)
        self.log.info(
            "Uploading %s (%d bytes) for %s.", path, path.stat().st_size, ", ".join(emails) or "no emails"
        )
        try:
            with path.open("rb") as audio:
                created = hook.create_user_interview(audio, interviewee_emails=emails)
        except PostHogResponseLostError:
            self.log.warning("The answer to the upload was lost; looking for the interview it made.")
            found = self._find_created(hook, emails, since=sent_at)
            if found is None:
                raise
            self.log.info("Found interview %s: the upload had gone through.", found)
            return found
        self.log.info("Created user interview %s.", created["id"])
        return str(created["id"])

    def _find_created(self, hook: PostHogHook, emails: list[str], since: dt.datetime) -> str | None:
        """The id of the one interview with these emails created after ``since`` (minus clock skew)."""
        candidates = [
            interview
            for interview in hook.list_user_interviews()
            if list(interview.get("interviewee_emails") or []) == emails
            and interview.get("created_at")
            and _parse_time(interview["created_at"]) >= since - _CLOCK_SKEW
        ]
        if len(candidates) > 1:
            self.log.warning(
                "%d interviews with these emails were created since %s (%s); not guessing which is ours.",
                len(candidates),
                since.isoformat(),
                ", ".join(str(candidate["id"]) for candidate in candidates),
            )
            return None
        return str(candidates[0]["id"]) if candidates else None


class PostHogUpdateUserInterviewOperator(_UserInterviewOperator):
    """Change an interview's ``summary`` or ``interviewee_emails`` (PATCH; only the fields given).

    The XCom value is the interview id.

    :param interview_id: the interview (templated).
    :param summary: the new summary text (templated).
    :param interviewee_emails: the new list of interviewees (templated).
    :param posthog_conn_id: the PostHog connection.
    :param project_id: the PostHog project (environment) id; default: the connection's.
    """

    template_fields: Sequence[str] = ("interview_id", "summary", "interviewee_emails", "project_id")

    def __init__(
        self,
        *,
        interview_id: str | XComArg,
        summary: str | None = None,
        interviewee_emails: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.interview_id = interview_id
        self.summary = summary
        self.interviewee_emails = interviewee_emails
        if summary is None and interviewee_emails is None:
            raise ValueError("Pass at least one of summary and interviewee_emails to change.")
        self._fields(rendered=False)

    def _fields(self, *, rendered: bool) -> dict[str, Any]:
        if rendered or not is_unrendered(self.interview_id):
            require_text("interview_id", self.interview_id)
        fields: dict[str, Any] = {}
        if self.summary is not None and (rendered or not is_unrendered(self.summary)):
            if not isinstance(self.summary, str):
                raise ValueError(f"summary must be a string; got {self.summary!r}.")
            fields["summary"] = self.summary
        if self.interviewee_emails is not None and (rendered or not is_unrendered(self.interviewee_emails)):
            fields["interviewee_emails"] = _require_emails(self.interviewee_emails)
        return fields

    def execute(self, context: Context) -> str:
        try:
            fields = self._fields(rendered=True)
            interview_id = require_text("interview_id", self.interview_id)
        except ValueError as error:
            raise AirflowFailException(str(error)) from error
        self._hook().update_user_interview(interview_id, **fields)
        self.log.info("Updated user interview %s: %s.", interview_id, ", ".join(sorted(fields)))
        return interview_id


class PostHogDeleteUserInterviewOperator(_UserInterviewOperator):
    """Delete an interview (PostHog deletes it for good).

    The XCom value is the interview id.

    :param interview_id: the interview (templated).
    :param missing_ok: succeed when PostHog says the interview does not exist (e.g. deleted by an earlier
        try whose answer was lost); by default that fails the task.
    :param posthog_conn_id: the PostHog connection.
    :param project_id: the PostHog project (environment) id; default: the connection's.
    """

    template_fields: Sequence[str] = ("interview_id", "project_id")

    def __init__(self, *, interview_id: str | XComArg, missing_ok: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.interview_id = interview_id
        self.missing_ok = missing_ok
        if not is_unrendered(interview_id):
            require_text("interview_id", interview_id)

    def execute(self, context: Context) -> str:
        try:
            interview_id = require_text("interview_id", self.interview_id)
        except ValueError as error:
            raise AirflowFailException(str(error)) from error
        try:
            self._hook().delete_user_interview(interview_id)
        except PostHogNotFoundError:
            if not self.missing_ok:
                raise
            self.log.info("User interview %s does not exist; missing_ok is set.", interview_id)
            return interview_id
        self.log.info("Deleted user interview %s.", interview_id)
        return interview_id


def _require_emails(value: Any) -> list[str]:
    emails = require_str_list("interviewee_emails", value)
    for index, email in enumerate(emails):
        if "@" not in email:
            raise ValueError(
                f"interviewee_emails[{index}] must be an email address ('jane@acme.com' or "
                f"'Jane Doe <jane@acme.com>'); got {email!r}."
            )
    return emails


def _parse_time(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.timezone.utc)
