"""Upload user-interview recordings to PostHog (which transcribes and summarizes them); edit, delete."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from airflow.sdk import ObjectStoragePath

from airflow_provider._compat import AirflowFailException
from airflow_provider.api import endpoints
from airflow_provider.api.arguments import invalid, require_datetime, require_str_list, require_uuid
from airflow_provider.api.errors import (
    PostHogConfigError,
    PostHogError,
    PostHogNotFoundError,
    PostHogResponseLostError,
    PostHogServerError,
)
from airflow_provider.hooks.posthog import PostHogHook
from airflow_provider.operators.base import PostHogBaseOperator, check_when_known, is_known
from airflow_provider.operators.storage_paths import require_storage_path

if TYPE_CHECKING:
    from airflow.sdk import Context, XComArg

# How far PostHog's clock may be behind ours when matching an interview to the create that made it.
_CLOCK_SKEW = dt.timedelta(minutes=2)
# The task state store key where the create operator records the upload it is about to send.
UPLOAD_STATE_KEY = "posthog_user_interview_upload"
_HASH_CHUNK = 1024 * 1024


class PostHogInterviewMayExistError(PostHogResponseLostError):
    """The answer to an interview upload was lost, and the interview it may have made cannot be identified.

    The upload is not sent again (that could duplicate the interview); the message says how to check
    and how to let the task upload again.

    :param sent_at: when the upload was sent (ISO 8601).
    :param reason: why the interview cannot be identified.
    :param interviews_url: where to see the project's interviews.
    :param to_upload_again: what to do to upload again if the interview does not exist.
    """

    def __init__(self, sent_at: str, reason: str, interviews_url: str, to_upload_again: str) -> None:
        super().__init__("POST", "user_interviews/", f"the answer to the upload sent at {sent_at} was lost")
        self.args = (
            f"PostHog's answer to the interview upload sent at {sent_at} was lost, so the interview may "
            f"exist. {reason} Not uploading again, which could create a duplicate. Check the interviews "
            f"created since then at {interviews_url}: if it is there, use its id; if not, {to_upload_again}",
        )


class PostHogCreateUserInterviewOperator(PostHogBaseOperator):
    """Upload an interview recording; PostHog transcribes and summarizes it while the request runs.

    The audio is read through Airflow's object storage, so it can be a local path or any
    ``ObjectStoragePath`` URL (``file://``, ``s3://conn_id@bucket/key``, ...). PostHog needs at least
    one interviewee email, so an empty ``interviewee_emails`` fails before any request. PostHog answers
    only after transcribing and summarizing, so the upload waits up to 600 s for the answer. The XCom
    value is the new interview's id.

    A create has no natural key to look up, so a lost answer is handled by matching. Just before sending
    the upload, the task instance records it (send time, the audio's size and SHA-256, the emails) in its
    task state store (Airflow 3.3+). If PostHog's answer is lost, in that try or because the worker died,
    the one interview with the same ``interviewee_emails`` created since the upload was sent is taken as
    this upload's instead of uploading again. A try uploads when no earlier try of this task instance
    sent this file with these emails, or PostHog refused it (4xx). With several matching interviews the
    task fails with :class:`PostHogInterviewMayExistError` rather than guess.

    :param audio: the recording (templated): a local path, an ``ObjectStoragePath`` or its URL.
    :param interviewee_emails: who was interviewed (templated), at least one, e.g.
        ``["Jane Doe <jane@acme.com>"]``.
    :param posthog_conn_id: the PostHog connection (templated).
    :param project_id: the PostHog project (environment) id (templated); default: the connection's.
    """

    template_fields: Sequence[str] = (*PostHogBaseOperator.template_fields, "audio", "interviewee_emails")

    def __init__(
        self,
        *,
        audio: str | ObjectStoragePath | XComArg,
        interviewee_emails: Sequence[str] | XComArg,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.audio = audio
        self.interviewee_emails = interviewee_emails

    def check_arguments(self, *, rendered: bool) -> None:
        if is_known(self.audio, rendered=rendered):
            require_storage_path("audio", self.audio)
        if is_known(self.interviewee_emails, rendered=rendered):
            _upload_emails(self.interviewee_emails)

    def execute(self, context: Context) -> str:
        path = require_storage_path("audio", self.audio)
        emails = _upload_emails(self.interviewee_emails)
        if not path.is_file():
            raise AirflowFailException(f"audio {path} does not exist or is not a file.")
        hook = self.hook
        upload = _describe_upload(path, emails)
        store = context.get("task_state_store")
        earlier = store.get(UPLOAD_STATE_KEY) if store is not None else None
        if isinstance(earlier, dict) and all(earlier.get(field) == value for field, value in upload.items()):
            found = self._made_by_earlier_try(hook, earlier, context)
            if found is not None:
                return found
        elif earlier is not None:
            self.log.info("An earlier try sent another file or other emails; uploading this one.")
        sent_at = dt.datetime.now(dt.timezone.utc).isoformat()
        if store is not None:
            store.set(UPLOAD_STATE_KEY, {**upload, "sent_at": sent_at})
        self.log.info("Uploading %s (%d bytes) for %s.", path, upload["size"], ", ".join(emails))
        try:
            with path.open("rb") as audio:
                interview_id = str(hook.create_user_interview(audio, interviewee_emails=emails)["id"])
        except PostHogResponseLostError as lost:
            interview_id = self._recover_lost_answer(hook, emails, sent_at, context, lost)
        except PostHogError as error:
            if store is not None and not isinstance(error, PostHogServerError):
                store.delete(UPLOAD_STATE_KEY)  # refused (4xx) or never sent: nothing was created
            raise
        else:
            self.log.info("Created user interview %s.", interview_id)
        if store is not None:
            store.set(UPLOAD_STATE_KEY, {**upload, "sent_at": sent_at, "interview_id": interview_id})
        return interview_id

    def _made_by_earlier_try(
        self, hook: PostHogHook, earlier: dict[str, Any], context: Context
    ) -> str | None:
        """The interview that an earlier try of this task instance made with the same upload, if any.

        :param hook: the PostHog hook.
        :param earlier: what the earlier try recorded before sending (and the id, once answered).
        :param context: the task context.
        :raises PostHogInterviewMayExistError: its answer was lost and the interview cannot be identified.
        """
        known = earlier.get("interview_id")
        if known:
            try:
                hook.get_user_interview(known)
            except PostHogNotFoundError:
                self.log.info("Interview %s, made by an earlier try, was deleted; uploading again.", known)
                return None
            self.log.info("An earlier try already created interview %s; not uploading again.", known)
            return str(known)
        self.log.info(
            "An earlier try sent this upload at %s without getting PostHog's answer; looking for the "
            "interview it made.",
            earlier["sent_at"],
        )
        found = self._find_created(hook, earlier["interviewee_emails"], earlier["sent_at"], context)
        if found is None:
            self.log.info("No interview came from the earlier try's upload; uploading again.")
        else:
            self.log.info("An earlier try already created interview %s; not uploading again.", found)
        return found

    def _recover_lost_answer(
        self,
        hook: PostHogHook,
        emails: list[str],
        sent_at: str,
        context: Context,
        lost: PostHogResponseLostError,
    ) -> str:
        """The interview the upload whose answer was just lost made; raise if it cannot be found.

        Without a task state store (Airflow before 3.3) a retry could not tell that the upload was
        sent, so the task then fails without retrying.

        :param hook: the PostHog hook.
        :param emails: the emails sent with the upload.
        :param sent_at: when the upload was sent.
        :param context: the task context.
        :param lost: the client's error.
        """
        self.log.warning("The answer to the upload was lost; looking for the interview it made.")
        try:
            found = self._find_created(hook, emails, sent_at, context)
            if found is None:
                raise lost
        except Exception as error:
            if context.get("task_state_store") is None:
                raise AirflowFailException(
                    f"{error} This Airflow has no task state store (Airflow 3.3+), so a retry could not "
                    "tell that the upload was sent; not retrying."
                ) from error
            raise
        self.log.info("Found interview %s: the upload had gone through.", found)
        return found

    def _find_created(
        self, hook: PostHogHook, emails: list[str], sent_at: str, context: Context
    ) -> str | None:
        """The id of the one interview with these emails created since ``sent_at`` (minus clock skew).

        :param hook: the PostHog hook.
        :param emails: the emails sent with the upload.
        :param sent_at: when the upload was sent (ISO 8601).
        :param context: the task context (for the message of an error).
        :raises PostHogInterviewMayExistError: several interviews match.
        """
        since = require_datetime("sent_at", sent_at) - _CLOCK_SKEW
        candidates = [
            str(interview["id"])
            for interview in hook.list_user_interviews()
            if list(interview.get("interviewee_emails") or []) == emails
            and interview.get("created_at")
            and require_datetime("created_at", interview["created_at"]) >= since
        ]
        if len(candidates) > 1:
            raise self._may_exist(
                hook,
                sent_at,
                context,
                f"{len(candidates)} interviews with these emails were created since then "
                f"({', '.join(candidates)}); which one is this upload's cannot be told.",
            )
        return candidates[0] if candidates else None

    def _may_exist(
        self, hook: PostHogHook, sent_at: str, context: Context, reason: str
    ) -> PostHogInterviewMayExistError:
        """The error for an upload whose interview cannot be identified, saying how to check and go on.

        :param hook: the PostHog hook.
        :param sent_at: when the upload was sent (ISO 8601).
        :param context: the task context.
        :param reason: why the interview cannot be identified.
        """
        ti = context["ti"]
        if context.get("task_state_store") is None:
            to_upload_again = "clear the task to upload again."
        else:
            map_index = "" if ti.map_index in (None, -1) else f"?map_index={ti.map_index}"
            to_upload_again = (
                f"delete the task state key '{UPLOAD_STATE_KEY}' of this task instance (Airflow REST API: "
                f"DELETE /api/v2/dags/{ti.dag_id}/dagRuns/{ti.run_id}/taskInstances/{ti.task_id}/"
                f"state-store/{UPLOAD_STATE_KEY}{map_index}), then clear the task to upload again."
            )
        return PostHogInterviewMayExistError(sent_at, reason, hook.ui_url("user_interviews"), to_upload_again)


class PostHogUpdateUserInterviewOperator(PostHogBaseOperator):
    """Change an interview's ``summary`` or ``interviewee_emails`` (PATCH; only the fields given).

    The XCom value is the interview id.

    :param interview_id: the interview's UUID (templated).
    :param summary: the new summary text (templated).
    :param interviewee_emails: the new list of interviewees (templated).
    :param posthog_conn_id: the PostHog connection (templated).
    :param project_id: the PostHog project (environment) id (templated); default: the connection's.
    """

    template_fields: Sequence[str] = (
        *PostHogBaseOperator.template_fields,
        "interview_id",
        "summary",
        "interviewee_emails",
    )

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

    def check_arguments(self, *, rendered: bool) -> None:
        if self.summary is None and self.interviewee_emails is None:
            raise PostHogConfigError("Pass at least one of summary and interviewee_emails to change.")
        self.interview_id = check_when_known(self.interview_id, _require_interview_id, rendered=rendered)
        summary_known = self.summary is not None and is_known(self.summary, rendered=rendered)
        if summary_known and not isinstance(self.summary, str):
            invalid("summary", "a string", self.summary)
        if self.interviewee_emails is not None and is_known(self.interviewee_emails, rendered=rendered):
            _require_emails(self.interviewee_emails)

    def execute(self, context: Context) -> str:
        fields: dict[str, Any] = {}
        if self.summary is not None:
            fields["summary"] = self.summary
        if self.interviewee_emails is not None:
            fields["interviewee_emails"] = _require_emails(self.interviewee_emails)
        interview_id = cast("str", self.interview_id)  # checked by check_arguments
        self.hook.update_user_interview(interview_id, **fields)
        self.log.info("Updated user interview %s: %s.", interview_id, ", ".join(sorted(fields)))
        return interview_id


class PostHogDeleteUserInterviewOperator(PostHogBaseOperator):
    """Delete an interview (PostHog deletes it for good).

    The XCom value is the interview id.

    :param interview_id: the interview's UUID (templated).
    :param missing_ok: succeed when PostHog says the interview does not exist (e.g. deleted by an earlier
        try whose answer was lost); by default that fails the task.
    :param posthog_conn_id: the PostHog connection (templated).
    :param project_id: the PostHog project (environment) id (templated); default: the connection's.
    """

    template_fields: Sequence[str] = (*PostHogBaseOperator.template_fields, "interview_id")

    def __init__(self, *, interview_id: str | XComArg, missing_ok: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.interview_id = interview_id
        self.missing_ok = missing_ok

    def check_arguments(self, *, rendered: bool) -> None:
        self.interview_id = check_when_known(self.interview_id, _require_interview_id, rendered=rendered)

    def execute(self, context: Context) -> str:
        interview_id = cast("str", self.interview_id)  # checked by check_arguments
        try:
            self.hook.delete_user_interview(interview_id)
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
            invalid(
                f"interviewee_emails[{index}]",
                "an email address ('jane@acme.com' or 'Jane Doe <jane@acme.com>')",
                email,
            )
    return emails


def _upload_emails(value: Any) -> list[str]:
    """The emails of an upload: a list of addresses, at least one (PostHog refuses an upload without)."""
    return endpoints.check_interviewee_emails(_require_emails(value))


def _describe_upload(path: ObjectStoragePath, emails: list[str]) -> dict[str, Any]:
    """What identifies an upload across tries: the audio's size and SHA-256, and the emails.

    :param path: the audio file.
    :param emails: the interviewee emails.
    """
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as audio:
        while chunk := audio.read(_HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return {"size": size, "sha256": digest.hexdigest(), "interviewee_emails": emails}


def _require_interview_id(value: Any) -> str:
    return require_uuid("interview_id", value)
