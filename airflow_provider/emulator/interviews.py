"""Deterministic stand-ins for what PostHog's speech-to-text and LLM produce for a user interview."""

from __future__ import annotations

import hashlib
from email.utils import parseaddr

_TOPICS = (
    ("onboarding", "The setup guide skipped the step for inviting teammates."),
    ("pricing", "Per-seat pricing is hard to predict for a growing team."),
    ("search", "Search results do not show the newest recordings first."),
    ("exports", "CSV exports time out for more than a month of data."),
)


def speaker_names(interviewee_emails: list[str]) -> list[str]:
    """Display names of the interviewees (``"Jane Doe <jane@acme.com>"`` gives ``Jane Doe``).

    :param interviewee_emails: the interview's ``interviewee_emails``: at least one, as PostHog's
        create requires.
    """
    names = []
    for address in interviewee_emails:
        name, email = parseaddr(address)
        names.append(name or email.split("@")[0])
    return names


def transcript(audio: bytes, interviewee_emails: list[str]) -> str:
    """A diarised transcript in PostHog's ``#### Speaker`` layout, chosen by the audio's hash.

    :param audio: the uploaded audio.
    :param interviewee_emails: who was interviewed.
    """
    topic, pain = _topic(audio)
    speaker = speaker_names(interviewee_emails)[0]
    return (
        f"#### Interviewer\nThanks for joining. How has {topic} been going for you?\n\n"
        f"#### {speaker}\nMostly fine. {pain}\n\n"
        f"#### Interviewer\nWhat would make it better?\n\n"
        f"#### {speaker}\nFixing that would save us about an hour a week.\n"
    )


def summary(audio: bytes, interviewee_emails: list[str]) -> str:
    """A markdown summary matching :func:`transcript`.

    :param audio: the uploaded audio.
    :param interviewee_emails: who was interviewed.
    """
    topic, pain = _topic(audio)
    speaker = speaker_names(interviewee_emails)[0]
    return (
        f"## User background\n{speaker} uses the product weekly.\n\n"
        f"## Key points\n- Topic: {topic}\n- {pain}\n\n"
        f"## Follow-ups\n- Look into {topic} friction.\n"
    )


def _topic(audio: bytes) -> tuple[str, str]:
    return _TOPICS[hashlib.sha256(audio).digest()[0] % len(_TOPICS)]
