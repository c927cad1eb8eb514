"""The async transport: sends an :class:`ApiRequest` with aiohttp and reports the outcome as data.

aiohttp because one shared ``ClientSession`` held 1,000 pollers at a 1 s rate in one event loop
where httpx's pool broke down (``docs/trigger-scaling.md``). Sessions are shared: every user of the same key
string (the hook uses the connection id) in the same running event loop gets the same transport,
reference-counted and closed when its last user releases it. aiohttp is imported on first use, in a
worker thread: its import reads the system CA files, which must not block the triggerer's event loop.
A CA bundle given as ``verify`` is likewise loaded once per session in a worker thread.
"""

from __future__ import annotations

import asyncio
import importlib
import ssl
import sys
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider.api.request import ApiRequest
from airflow_provider.api.response import FailureKind, Outcome, RawResponse, TransportFailure

if TYPE_CHECKING:
    import aiohttp

CONNECTION_LIMIT = 100


class AiohttpTransport:
    """Sends requests over one aiohttp ``ClientSession`` with a bounded connection pool.

    :param connection_limit: most connections open at once (requests beyond it queue).
    """

    def __init__(self, connection_limit: int = CONNECTION_LIMIT) -> None:
        self._connection_limit = connection_limit
        self._session: aiohttp.ClientSession | None = None
        self._ssl_contexts: dict[str, asyncio.Future[ssl.SSLContext]] = {}

    def __repr__(self) -> str:
        state = "open" if self._session is not None and not self._session.closed else "closed"
        return f"{type(self).__name__}({state}, limit={self._connection_limit})"

    @property
    def closed(self) -> bool:
        """True before the first request and after :meth:`close`."""
        return self._session is None or self._session.closed

    async def send(self, request: ApiRequest) -> Outcome:
        """Send ``request`` once; return the answer, or how sending failed.

        :param request: the request to send.
        """
        if "aiohttp" not in sys.modules:
            await asyncio.to_thread(importlib.import_module, "aiohttp")
        import aiohttp

        tls = await self._ssl(request.verify)
        session = self._open_session()
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=request.connect_timeout, sock_read=request.read_timeout
        )
        try:
            async with session.request(
                request.method,
                request.url,
                params=request.params,
                headers=dict(request.headers),
                json=request.json,
                data=_form_data(request),
                timeout=timeout,
                ssl=tls,
                allow_redirects=False,
            ) as response:
                body = await response.read()
                headers = {name.lower(): value for name, value in response.headers.items()}
                return RawResponse(response.status, headers, body)
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            return TransportFailure(_failure_kind(exc), str(exc) or type(exc).__name__)

    async def close(self) -> None:
        """Close the session and its connections, and forget the loaded CA bundles with it."""
        self._ssl_contexts.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            import aiohttp

            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connection_limit), raise_for_status=False
            )
        return self._session

    async def _ssl(self, verify: bool | str) -> ssl.SSLContext | bool:
        # Reading and parsing a CA bundle blocks: one worker thread does it for all concurrent first
        # requests (shielded, so a cancelled caller does not cancel it for the others). A bundle
        # that fails to load is not cached, so the next request tries again.
        if isinstance(verify, bool):
            return verify
        loading = self._ssl_contexts.get(verify)
        if loading is None:
            loading = self._ssl_contexts[verify] = asyncio.ensure_future(
                asyncio.to_thread(ssl.create_default_context, cafile=verify)
            )
        try:
            return await asyncio.shield(loading)
        except OSError:
            self._ssl_contexts.pop(verify, None)
            raise


def _form_data(request: ApiRequest) -> Any:
    if request.form is None and request.files is None:
        return None
    import aiohttp

    form = aiohttp.FormData()
    for name, value in (request.form or {}).items():
        for item in value if isinstance(value, list) else [value]:
            form.add_field(name, item)
    for name, (filename, content, content_type) in (request.files or {}).items():
        form.add_field(name, content, filename=filename, content_type=content_type)
    return form


def _failure_kind(exc: BaseException) -> FailureKind:
    import aiohttp

    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return FailureKind.CONNECT_TIMEOUT
    if isinstance(exc, asyncio.TimeoutError):
        return FailureKind.READ_TIMEOUT
    if isinstance(exc, aiohttp.ClientSSLError):
        return FailureKind.TLS
    if isinstance(exc, aiohttp.ClientConnectorError):
        return FailureKind.CONNECT
    return FailureKind.DROPPED


@dataclass
class _Shared:
    transport: AiohttpTransport
    users: int


_SHARED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Shared]] = (
    weakref.WeakKeyDictionary()
)


def acquire_shared_transport(key: str) -> AiohttpTransport:
    """The transport shared by every user of ``key`` in the running event loop; counts one more user.

    :param key: what users share a session by (the hook passes its connection id).
    """
    per_loop = _SHARED.setdefault(asyncio.get_running_loop(), {})
    shared = per_loop.get(key)
    if shared is None:
        shared = per_loop[key] = _Shared(AiohttpTransport(), 0)
    shared.users += 1
    return shared.transport


async def release_shared_transport(key: str) -> None:
    """Count one user less of ``key``'s transport in the running loop; close it after the last.

    :param key: the key passed to :func:`acquire_shared_transport`.
    """
    per_loop = _SHARED.get(asyncio.get_running_loop(), {})
    shared = per_loop.get(key)
    if shared is None:
        return
    shared.users -= 1
    if shared.users <= 0:
        del per_loop[key]
        await shared.transport.close()
