"""The PostHog clients: thin sync and async shells that run the shared core with real I/O.

Both build requests with :func:`.request.build_request`, drive them through :func:`.exchange.exchange`
(rate limiting, retries, errors) and walk pages with :mod:`.pagination`; they differ only in how
they send and sleep.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from types import TracebackType
from typing import Any

from airflow_provider.api.async_transport import AiohttpTransport
from airflow_provider.api.call import ApiCall
from airflow_provider.api.config import ClientConfig
from airflow_provider.api.errors import PostHogConfigError
from airflow_provider.api.exchange import Exchange, Pause, Reserve, Send, exchange
from airflow_provider.api.pagination import PageWalk, page_items
from airflow_provider.api.ratelimit import Limiter, process_limiter
from airflow_provider.api.request import build_request
from airflow_provider.api.retry import RetryPolicy
from airflow_provider.api.sync_transport import RequestsTransport


class _ClientBase:
    def __init__(self, config: ClientConfig, policy: RetryPolicy | None, limiter: Limiter | None) -> None:
        self.config = config
        self.policy = policy or RetryPolicy(max_retries=config.max_retries)
        self._limiter = limiter

    def __repr__(self) -> str:
        return f"{type(self).__name__}(host={self.config.host!r}, project_id={self.config.project_id!r})"

    @property
    def limiter(self) -> Limiter | None:
        """The limiter of the next request: the one given, else the store's or the process's (looked
        up per request, so a limiter installed later applies); none if ``rate_limit`` is off."""
        if not self.config.rate_limit:
            return None
        return self._limiter or _default_limiter(self.config)

    def _exchange(self, call: ApiCall, project_id: str | int | None) -> Exchange:
        return exchange(build_request(self.config, call, project_id), self.policy, self.limiter)


def _default_limiter(config: ClientConfig) -> Limiter:
    """The deployment-wide store's limiter when the connection names one, else this process's."""
    if config.rate_limit_store:
        from airflow_provider.api.shared_budget import store_limiter

        return store_limiter(config.rate_limit_store)
    return process_limiter()


class PostHogClient(_ClientBase):
    """Synchronous PostHog client (workers): ``requests`` with keep-alive, retries, rate limiting.

    :param config: validated settings.
    :param transport: sends requests; a new :class:`RequestsTransport` by default.
    :param policy: the retry policy; by default one with ``config.max_retries``.
    :param limiter: the rate limiter; by default the store's (``rate_limit_store``) or the process-wide
        one (none if ``config.rate_limit`` is off).
    :param sleep: how to wait (injectable for tests).
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        transport: RequestsTransport | None = None,
        policy: RetryPolicy | None = None,
        limiter: Limiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(config, policy, limiter)
        self.transport = transport or RequestsTransport()
        self._sleep = sleep

    def call(self, call: ApiCall, project_id: str | int | None = None) -> Any:
        """Send ``call`` and return its decoded JSON answer (``None`` for an empty body).

        :param call: the endpoint call.
        :param project_id: overrides the configured project.
        """
        steps = self._exchange(call, project_id)
        try:
            action = next(steps)
            while True:
                if isinstance(action, Send):
                    action = steps.send(self.transport.send(action.request))
                elif isinstance(action, Reserve):
                    action = steps.send(action.limiter.reserve(action.buckets))
                elif isinstance(action, Pause):
                    action.limiter.pause(action.buckets, action.seconds)
                    action = steps.send(None)
                else:
                    self._sleep(action.seconds)
                    action = steps.send(None)
        except StopIteration as done:
            return done.value

    def paginate(self, call: ApiCall, project_id: str | int | None = None) -> Iterator[Any]:
        """Yield every item of a paged list, fetching one page at a time.

        :param call: the list call (its params fetch the first page; its ``paging`` says how to go on).
        :param project_id: overrides the configured project.
        """
        walk = _walk(call)
        while walk.params is not None:
            page = self.call(call.with_params(walk.params), project_id)
            yield from page_items(page, call.path)
            walk.advance(page)

    def close(self) -> None:
        """Close the transport's connections."""
        self.transport.close()

    def __enter__(self) -> PostHogClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncPostHogClient(_ClientBase):
    """Asynchronous PostHog client (triggerer): aiohttp, same retries, errors and rate limiting.

    :param config: validated settings.
    :param transport: sends requests; if not given the client opens (and closes) its own.
    :param policy: the retry policy; by default one with ``config.max_retries``.
    :param limiter: the rate limiter; by default the store's (``rate_limit_store``) or the process-wide
        one (none if ``config.rate_limit`` is off).
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        transport: AiohttpTransport | None = None,
        policy: RetryPolicy | None = None,
        limiter: Limiter | None = None,
    ) -> None:
        super().__init__(config, policy, limiter)
        self._owns_transport = transport is None
        self.transport = transport or AiohttpTransport()

    async def call(self, call: ApiCall, project_id: str | int | None = None) -> Any:
        """Send ``call`` and return its decoded JSON answer (``None`` for an empty body).

        :param call: the endpoint call.
        :param project_id: overrides the configured project.
        """
        steps = self._exchange(call, project_id)
        try:
            action = next(steps)
            while True:
                if isinstance(action, Send):
                    action = steps.send(await self.transport.send(action.request))
                elif isinstance(action, Reserve):
                    action = steps.send(await action.limiter.areserve(action.buckets))
                elif isinstance(action, Pause):
                    await action.limiter.apause(action.buckets, action.seconds)
                    action = steps.send(None)
                else:
                    await asyncio.sleep(action.seconds)
                    action = steps.send(None)
        except StopIteration as done:
            return done.value

    async def paginate(self, call: ApiCall, project_id: str | int | None = None) -> AsyncIterator[Any]:
        """Yield every item of a paged list, fetching one page at a time.

        :param call: the list call (its params fetch the first page; its ``paging`` says how to go on).
        :param project_id: overrides the configured project.
        """
        walk = _walk(call)
        while walk.params is not None:
            page = await self.call(call.with_params(walk.params), project_id)
            for item in page_items(page, call.path):
                yield item
            walk.advance(page)

    async def close(self) -> None:
        """Close the transport if this client opened it."""
        if self._owns_transport:
            await self.transport.close()

    async def __aenter__(self) -> AsyncPostHogClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


def _walk(call: ApiCall) -> PageWalk:
    if call.paging is None:
        raise PostHogConfigError(
            f"{call.method} {call.path} is not a paged list; use call() instead of paginate()."
        )
    return PageWalk(call.paging, call.path, call.params or {})
