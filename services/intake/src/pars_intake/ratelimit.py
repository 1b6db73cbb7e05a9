"""Per-provider limits: token buckets in this process, and learner match's lock in PostgreSQL.

A bucket holds up to `burst` tokens and refills at `rate` tokens a second; a request takes one
(a learner-match call takes one per learner). An empty bucket answers 429 with `Retry-After`,
the seconds until enough tokens are back. The buckets live in each intake process: N intake
instances behind a load balancer let a provider do N times the configured rate (size the
settings for that, or put the buckets in a shared store)."""

from __future__ import annotations

import math
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

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

    async def counts(self, db: Db, keys: list[str]) -> dict[str, int]:
        """The failures each key has in the window (absent: none)."""
        return await match_failures.counts(db, keys, self.window)

    async def fail(self, db: Db, keys: list[str]) -> None:
        await match_failures.add(db, keys, self.window)


class Full(Exception):
    """No place is free: the work is refused at once, never queued in memory."""


class Places:
    """Places for work in progress (bodies being read, files being parsed): at most `total` at
    once, and `per_share` for one share (a provider). There is no queue: a claim beyond the bound
    raises Full at once, so that work waiting for a place never holds memory."""

    def __init__(self, total: int, per_share: int) -> None:
        self.total, self.per_share = total, per_share
        self.taken: Counter[str] = Counter()

    def in_use(self) -> int:
        return sum(self.taken.values())

    def claim(self, share: str) -> AbstractContextManager[None]:
        """A place for `share`, held until the `with` block ends; Full at once when there is none
        (raised by this call, before the block: nothing inside it is mistaken for it)."""
        if self.in_use() >= self.total or self.taken[share] >= self.per_share:
            raise Full(share)
        self.taken[share] += 1
        return self._held(share)

    @contextmanager
    def _held(self, share: str) -> Iterator[None]:
        try:
            yield
        finally:
            self.taken[share] -= 1
            if not self.taken[share]:
                del self.taken[share]
