"""A per-key rate limit: a token bucket per API key.

Shared by every ``adreel api`` process when Redis is configured (ADREEL_API_RATE_URL,
or else the broker URL when it is redis://): the bucket lives in Redis and one Lua
script refills and spends it atomically on Redis's clock, so N processes behind a load
balancer allow a key its rate once, not N times. Without Redis each process keeps its
own buckets; if Redis stops answering, a process falls back to its own buckets (and
logs it) rather than refuse every request.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """``take(key)`` spends one request; it returns 0 when allowed, else the whole seconds
    to wait before one is (for ``Retry-After``)."""

    def __init__(self, per_second: float, burst: int) -> None:
        self.per_second, self.burst = per_second, burst
        self._buckets: dict[int, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key_id: int, now: float | None = None) -> int:
        if self.per_second <= 0:
            return 0  # switched off
        now = time.monotonic() if now is None else now
        with self._lock:
            bucket = self._buckets.setdefault(key_id, _Bucket(self.burst, now))
            bucket.tokens = min(
                self.burst, bucket.tokens + (now - bucket.updated) * self.per_second
            )
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0
            return max(1, math.ceil((1 - bucket.tokens) / self.per_second))

    async def wait(self, key_id: int) -> int:
        return self.take(key_id)


# KEYS[1]: the bucket; ARGV: rate a second, burst. Returns the seconds to wait (0: go).
_TAKE = """
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens, updated = tonumber(b[1]) or burst, tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - updated) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.max(1, math.ceil((1 - tokens) / rate)) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return wait
"""


class SharedRateLimiter:
    """The same bucket in Redis, shared by the processes of one adreel database."""

    def __init__(self, url: str, per_second: float, burst: int, namespace: str) -> None:
        import redis.asyncio  # only when a shared limit is configured

        self.per_second, self.burst = per_second, burst
        self._redis = redis.asyncio.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self._script = self._redis.register_script(_TAKE)
        self._prefix = f"adreel:ratelimit:{hashlib.sha256(namespace.encode()).hexdigest()[:12]}:"
        self._local = RateLimiter(per_second, burst)
        self._down_until = 0.0

    async def wait(self, key_id: int) -> int:
        if self.per_second <= 0:
            return 0
        if time.monotonic() >= self._down_until:
            try:
                args = [repr(self.per_second), str(self.burst)]
                return int(await self._script(keys=[f"{self._prefix}{key_id}"], args=args))
            except Exception as exc:  # redis-py raises its own and OSError subclasses
                log.warning("shared rate limit: Redis did not answer (%s); per process", exc)
                self._down_until = time.monotonic() + 10
        return self._local.take(key_id)


def rate_limiter(
    per_second: float, burst: int, url: str | None, namespace: str
) -> RateLimiter | SharedRateLimiter:
    """Shared through Redis when ``url`` is a redis:// URL, else per process."""
    if per_second > 0 and url and url.startswith(("redis://", "rediss://", "unix://")):
        return SharedRateLimiter(url, per_second, burst, namespace)
    return RateLimiter(per_second, burst)
