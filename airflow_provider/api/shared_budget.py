"""One rate budget per PostHog key for a whole deployment, kept in Redis.

Every process that names the same store in its connection (extra ``rate_limit_store``, e.g.
``redis://redis:6379/0``: the Redis a CeleryExecutor deployment already runs) draws its send slots
from one sliding-window history per PostHog throttle, with the same buckets as the process limiter
(:mod:`airflow_provider.api.ratelimit`). A slot is reserved by one server-side script, so reading the
history and booking the slot cannot race between processes; the store's clock is the only clock. A
429's ``Retry-After`` pauses the bucket in the store, for every process.

If the store cannot be reached, the process falls back to its own limiter, says so once in the log,
and tries the store again after :data:`RETRY_STORE_AFTER` seconds.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from airflow_provider.api.ratelimit import Bucket, RateLimiter, process_limiter

log = logging.getLogger(__name__)

#: Seconds a process uses its own limiter after the store failed, before trying the store again.
RETRY_STORE_AFTER = 30.0
#: Seconds to connect to, and hear from, the store before falling back.
STORE_TIMEOUT = 2.0

# KEYS: the buckets' histories, then their pause keys. ARGV: bucket count, a unique member suffix, then
# per bucket its number of rates and (limit, period) pairs. Returns the seconds to wait, as text (a Lua
# number would come back truncated to an integer).
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local count = tonumber(ARGV[1])
local send_at = now
local rates = {}
local at = 3
for b = 1, count do
  local n = tonumber(ARGV[at]); at = at + 1
  rates[b] = {}
  for r = 1, n do
    rates[b][r] = {tonumber(ARGV[at]), tonumber(ARGV[at + 1])}; at = at + 2
  end
  local held = tonumber(redis.call('GET', KEYS[count + b]) or '0')
  if held > send_at then send_at = held end
end
local moved = true
while moved do
  moved = false
  for b = 1, count do
    local last = redis.call('ZREVRANGE', KEYS[b], 0, 0, 'WITHSCORES')
    if last[2] and tonumber(last[2]) > send_at then send_at = tonumber(last[2]); moved = true end
    for r = 1, #rates[b] do
      local limit, period = rates[b][r][1], rates[b][r][2]
      local in_window = redis.call('ZCOUNT', KEYS[b], '(' .. string.format('%.6f', send_at - period), '+inf')
      if in_window >= limit then
        local nth = redis.call('ZREVRANGE', KEYS[b], limit - 1, limit - 1, 'WITHSCORES')
        local earliest = tonumber(nth[2]) + period
        if earliest > send_at then send_at = earliest; moved = true end
      end
    end
  end
end
for b = 1, count do
  local longest = 0
  for r = 1, #rates[b] do
    if rates[b][r][2] > longest then longest = rates[b][r][2] end
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[b], '-inf', '(' .. string.format('%.6f', now - longest))
  local slot = string.format('%.6f', send_at)
  redis.call('ZADD', KEYS[b], slot, slot .. ':' .. ARGV[2])
  redis.call('PEXPIRE', KEYS[b], math.ceil((send_at - now + longest) * 1000) + 1000)
end
return string.format('%.6f', send_at - now)
"""

# KEYS: pause keys. ARGV: seconds. Never shortens a longer pause.
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local held_until = now + tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
  local current = tonumber(redis.call('GET', key) or '0')
  if held_until > current then
    local expiry = math.ceil(tonumber(ARGV[1]) * 1000) + 1000
    redis.call('SET', key, string.format('%.6f', held_until), 'PX', expiry)
  end
end
return 1
"""


#: The store's name for a bucket's pause (``posthog:hold:*``): kept from earlier versions, so processes
#: of both versions sharing a store during an upgrade see each other's pauses.
_PAUSED = "hold"


def _key(bucket: Bucket, kind: str) -> str:
    digest = hashlib.sha256("\x1f".join(bucket.key).encode()).hexdigest()[:32]
    return f"posthog:{kind}:{digest}"


def _arguments(buckets: Sequence[Bucket], time_scale: float) -> tuple[list[str], list[Any]]:
    keys = [_key(bucket, "rate") for bucket in buckets] + [_key(bucket, _PAUSED) for bucket in buckets]
    argv: list[Any] = [len(buckets), uuid.uuid4().hex]
    for bucket in buckets:
        rates = bucket.scaled(time_scale).rates
        argv.append(len(rates))
        for limit, period in rates:
            argv.extend((limit, period))
    return keys, argv


def redacted(url: str) -> str:
    """The store URL without its password, for logs and messages.

    :param url: a ``redis://`` URL.
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class StoreRateLimiter:
    """The deployment-wide limiter of one store URL (one per URL per process: :func:`store_limiter`).

    :param url: ``redis://``, ``rediss://`` or ``unix://`` URL of the store.
    :param fallback: the limiter used while the store cannot be reached (the process's by default);
        the store keeps to the same windows (its ``time_scale``).
    """

    def __init__(self, url: str, fallback: RateLimiter | None = None) -> None:
        import redis
        import redis.asyncio

        self.url = url
        self.fallback = fallback or process_limiter()
        options: dict[str, Any] = {"socket_timeout": STORE_TIMEOUT, "socket_connect_timeout": STORE_TIMEOUT}
        self._sync: Any = redis.Redis.from_url(url, **options)
        self._async_clients: dict[int, Any] = {}
        self._async_factory = lambda: redis.asyncio.Redis.from_url(url, **options)
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._down_until = 0.0
        self._lock = threading.Lock()

    def reserve(self, buckets: Sequence[Bucket]) -> float:
        """Reserve the earliest slot all ``buckets`` allow in the store; the seconds to wait.

        :param buckets: the throttles that count this request.
        """
        if self._store_down():
            return self.fallback.reserve(buckets)
        keys, argv = _arguments(buckets, self.fallback.time_scale)
        try:
            answer = self._sync.eval(_RESERVE, len(keys), *keys, *argv)
        except self._errors as error:
            self._note_down(error)
            return self.fallback.reserve(buckets)
        self._note_up()
        return float(answer)

    async def areserve(self, buckets: Sequence[Bucket]) -> float:
        """:meth:`reserve` without blocking the event loop.

        :param buckets: the throttles that count this request.
        """
        if self._store_down():
            return self.fallback.reserve(buckets)
        keys, argv = _arguments(buckets, self.fallback.time_scale)
        try:
            answer = await self._async_client().eval(_RESERVE, len(keys), *keys, *argv)
        except self._errors as error:
            self._note_down(error)
            return self.fallback.reserve(buckets)
        self._note_up()
        return float(answer)

    def pause(self, buckets: Sequence[Bucket], seconds: float) -> None:
        """Pause ``buckets`` for every process for ``seconds`` (and in this process's own limiter).

        :param buckets: the throttles of the refused request.
        :param seconds: PostHog's ``Retry-After``.
        """
        self.fallback.pause(buckets, seconds)
        if self._store_down():
            return
        keys = [_key(bucket, _PAUSED) for bucket in buckets]
        try:
            self._sync.eval(_PAUSE, len(keys), *keys, str(seconds))
        except self._errors as error:
            self._note_down(error)

    async def apause(self, buckets: Sequence[Bucket], seconds: float) -> None:
        """:meth:`pause` without blocking the event loop.

        :param buckets: the throttles of the refused request.
        :param seconds: PostHog's ``Retry-After``.
        """
        self.fallback.pause(buckets, seconds)
        if self._store_down():
            return
        keys = [_key(bucket, _PAUSED) for bucket in buckets]
        try:
            await self._async_client().eval(_PAUSE, len(keys), *keys, str(seconds))
        except self._errors as error:
            self._note_down(error)

    def _async_client(self) -> Any:
        # redis.asyncio clients belong to one event loop: one per loop (tests run many loops).
        import asyncio

        loop_id = id(asyncio.get_running_loop())
        if loop_id not in self._async_clients:
            self._async_clients[loop_id] = self._async_factory()
        return self._async_clients[loop_id]

    def _store_down(self) -> bool:
        return time.monotonic() < self._down_until

    def _note_down(self, error: BaseException) -> None:
        with self._lock:
            first = self._down_until == 0.0
            self._down_until = time.monotonic() + RETRY_STORE_AFTER
        if first:
            log.warning(
                "The rate-limit store %s cannot be reached (%s: %s); this process keeps to its own "
                "rate limiter until it can, and tries again every %.0f s.",
                redacted(self.url),
                type(error).__name__,
                error,
                RETRY_STORE_AFTER,
            )

    def _note_up(self) -> None:
        if self._down_until:
            with self._lock:
                self._down_until = 0.0
            log.info("The rate-limit store %s can be reached again.", redacted(self.url))


_STORE_LIMITERS: dict[str, StoreRateLimiter] = {}
_STORE_LIMITERS_LOCK = threading.Lock()


def store_limiter(url: str) -> StoreRateLimiter:
    """The process's limiter for the store at ``url`` (made on first use, then shared).

    :param url: the connection's ``rate_limit_store``.
    """
    with _STORE_LIMITERS_LOCK:
        if url not in _STORE_LIMITERS:
            _STORE_LIMITERS[url] = StoreRateLimiter(url)
        return _STORE_LIMITERS[url]
