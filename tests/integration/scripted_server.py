"""A tiny HTTP server on 127.0.0.1 that answers from a script: exact statuses, headers and failure timings.

For protocol cases the emulator cannot stage precisely (a given ``Retry-After``, a dropped
connection on the Nth request, a ``next`` link to a foreign host). It records every request it saw.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class Reply:
    """One scripted answer.

    :param status: HTTP status.
    :param body: JSON-able value, raw bytes, or ``None`` for an empty body.
    :param headers: extra headers.
    :param drop: close the connection without answering.
    :param delay: seconds to wait before answering (or dropping).
    """

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    delay: float = 0.0


@dataclass(frozen=True)
class Seen:
    """A request the server received.

    :param method: HTTP method.
    :param path: URL path.
    :param query: query parameters (last value wins).
    :param headers: request headers (lower-case names).
    :param body: raw body.
    :param time: ``time.monotonic()`` at arrival.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    time: float


class ScriptedServer:
    """Answers requests with scripted replies in order, then with ``fallback`` (default: 200 ``{}``).

    :param tls: a server-side TLS context to serve HTTPS with; plain HTTP without one.
    """

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.seen: list[Seen] = []
        self.connections = 0
        self._script: deque[Reply] = deque()
        self.fallback: Callable[[Seen], Reply] = lambda seen: Reply(200, {})
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self._httpd.server_address[1]}"

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next requests.

        :param replies: answers in order.
        """
        with self._lock:
            self._script.extend(replies)

    def _next_reply(self, seen: Seen) -> Reply:
        with self._lock:
            self.seen.append(seen)
            if self._script:
                return self._script.popleft()
        return self.fallback(seen)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with server._lock:
                    server.connections += 1

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                seen = Seen(
                    self.command,
                    parts.path,
                    dict(parse_qsl(parts.query, keep_blank_values=True)),
                    {name.lower(): value for name, value in self.headers.items()},
                    body,
                    time.monotonic(),
                )
                reply = server._next_reply(seen)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                payload = reply.body if isinstance(reply.body, bytes) else b""
                if reply.body is not None and not isinstance(reply.body, bytes):
                    payload = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

        return Handler

    def start(self) -> None:
        """Serve in a daemon thread."""
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        self._httpd.shutdown()
        self._httpd.server_close()


@contextmanager
def scripted_server(tls: ssl.SSLContext | None = None) -> Iterator[ScriptedServer]:
    """A started :class:`ScriptedServer`, stopped on exit.

    :param tls: a server-side TLS context to serve HTTPS with; plain HTTP without one.
    """
    server = ScriptedServer(tls)
    server.start()
    try:
        yield server
    finally:
        server.stop()
