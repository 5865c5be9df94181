"""A per-key rate limit: a token bucket per API key, in this process.

Each ``adreel api`` process keeps its own buckets, so behind a load balancer of N
processes a key gets up to N times the rate; set ``ADREEL_API_RATE_PER_S`` with that
in mind (a shared limit would live in Redis; one process is the common case).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


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
