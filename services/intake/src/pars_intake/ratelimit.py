"""Per-provider limits: token buckets in this process, and learner match's lock in PostgreSQL.

A bucket holds up to `burst` tokens and refills at `rate` tokens a second; a request takes one
(a learner-match call takes one per learner). An empty bucket answers 429 with `Retry-After`,
the seconds until enough tokens are back. The buckets live in each intake process: N intake
instances behind a load balancer let a provider do N times the configured rate (size the
settings for that, or put the buckets in a shared store)."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

from fastapi import HTTPException

from .store import match_failures
from .store.match_failures import Db

MAX_KEYS = 100_000  # buckets kept (least recently used dropped): bounded memory whatever the callers


class TokenBuckets:
    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)

    def take(self, key: str, cost: float = 1.0) -> float:
        """Takes `cost` tokens from the key's bucket: 0 when allowed, else the seconds to wait."""
        now = self.clock()
        tokens, at = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens >= cost:
            self._buckets[key] = (tokens - cost, now)
            wait = 0.0
        else:
            self._buckets[key] = (tokens, now)
            wait = (min(cost, self.burst) - tokens) / self.rate if self.rate > 0 else 3600.0
        while len(self._buckets) > MAX_KEYS:
            self._buckets.popitem(last=False)
        return wait

    def waiting(self, key: str) -> float:
        """Seconds until the key's bucket holds a whole token again (0: it does); takes nothing."""
        if key not in self._buckets:
            return 0.0
        tokens, at = self._buckets[key]
        tokens = min(self.burst, tokens + (self.clock() - at) * self.rate)
        return 0.0 if tokens >= 1 else ((1 - tokens) / self.rate if self.rate > 0 else 3600.0)

    def check(self, key: str, cost: float = 1.0, what: str = "requests") -> None:
        """Raises the 429 when the key's bucket cannot pay `cost`."""
        wait = self.take(key, cost)
        if wait > 0:
            raise too_many(wait, what)


def too_many(wait: float, what: str) -> HTTPException:
    seconds = max(1, math.ceil(wait))
    return HTTPException(429, f"Too many {what} from this provider: try again in {seconds} s.",
                         headers={"Retry-After": str(seconds)})


class FailureWindow:
    """Counts failures per key within a sliding window (learner match: wrong answers for one
    learner id); a key with `limit` failures in the window is locked until the oldest expires.
    The count lives in PostgreSQL (store/match_failures.py), not in this process: N intake
    instances, or a restart, must not give N times the guesses."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window

    async def locked_for(self, db: Db, keys: list[str]) -> float:
        """Seconds until none of `keys` is locked any more (0: none is)."""
        return await match_failures.seconds_locked(db, keys, self.limit, self.window)

    async def fail(self, db: Db, keys: list[str]) -> None:
        await match_failures.add(db, keys, self.window)
