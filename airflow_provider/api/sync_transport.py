"""The sync transport: sends an :class:`ApiRequest` with ``requests`` and reports the outcome as data.

``requests`` is imported on the first send, not at import time: DAG files that import the hook
are parsed constantly and ``airflow.sdk`` does not load ``requests`` itself. Each thread gets its
own ``requests.Session`` (sessions are not thread-safe), kept alive for connection reuse.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from airflow_provider.api.request import ApiRequest
from airflow_provider.api.response import FailureKind, Outcome, RawResponse, TransportFailure

if TYPE_CHECKING:
    import requests


class RequestsTransport:
    """Sends requests over one keep-alive ``requests.Session`` per thread."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sessions: list[requests.Session] = []

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sessions={len(self._sessions)})"

    def send(self, request: ApiRequest) -> Outcome:
        """Send ``request`` once; return the answer, or how sending failed.

        :param request: the request to send.
        """
        import requests

        session = self._session()
        try:
            response = session.request(
                request.method,
                request.url,
                params=request.params,
                headers=request.headers,
                json=request.json,
                data=request.form,
                files=request.files,
                timeout=(request.connect_timeout, request.read_timeout),
                verify=request.verify,
                allow_redirects=False,
            )
            body = response.content
        except requests.exceptions.RequestException as exc:
            return TransportFailure(_failure_kind(exc), str(exc))
        headers = {name.lower(): value for name, value in response.headers.items()}
        return RawResponse(response.status_code, headers, body)

    def close(self) -> None:
        """Close every session this transport opened (in any thread)."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            import requests

            session = requests.Session()
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session


def _failure_kind(exc: Exception) -> FailureKind:
    import requests
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return FailureKind.CONNECT_TIMEOUT
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return FailureKind.READ_TIMEOUT
    if isinstance(exc, requests.exceptions.SSLError):
        return FailureKind.TLS
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError) and isinstance(reason.reason, NewConnectionError):
        return FailureKind.CONNECT
    return FailureKind.DROPPED
