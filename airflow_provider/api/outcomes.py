"""What a transport hands back: a response, or the way sending failed, as plain data."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass


class FailureKind(enum.Enum):
    """How sending a request failed; decides whether a re-send can duplicate anything."""

    CONNECT = "could not connect"
    """Nothing was sent (refused, DNS failure, unreachable): always safe to retry."""
    CONNECT_TIMEOUT = "connect timed out"
    """Nothing was sent: always safe to retry."""
    READ_TIMEOUT = "read timed out"
    """Sent, no answer in time: PostHog may have processed it."""
    DROPPED = "connection dropped"
    """Sent, connection closed before a complete answer: PostHog may have processed it."""
    UNREADABLE = "answer unreadable"
    """A success status with a body that is not JSON (truncated, or from a proxy): it was processed."""
    TLS = "TLS handshake failed"
    """Certificate or TLS error: retrying cannot help."""

    @property
    def request_was_sent(self) -> bool:
        """True when PostHog may have received and processed the request."""
        return self in (FailureKind.READ_TIMEOUT, FailureKind.DROPPED, FailureKind.UNREADABLE)


@dataclass(frozen=True)
class RawResponse:
    """An HTTP answer as received.

    :param status: HTTP status code.
    :param headers: headers with lower-case names.
    :param body: the raw body.
    """

    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class TransportFailure:
    """Sending failed before a complete answer arrived.

    :param kind: what failed.
    :param detail: the underlying error's text, for messages (no headers, no key).
    """

    kind: FailureKind
    detail: str


Outcome = RawResponse | TransportFailure
