"""Limits: token buckets shared by every intake instance (in PostgreSQL) for the provider API's
requests and rows, learner match's learners and wrong admin tokens; learner match's lock (in
PostgreSQL); and bounded places for work in progress (in this process).

A bucket holds up to `burst` tokens and refills at `rate` tokens a second. Intake counts two
things per provider and key kind (review N5, N12):

- requests: every provider API request takes one token (RATE_LIMIT_PER_SECOND, RATE_LIMIT_BURST);
- rows: a request that submits learner records (web service JSON or XML, the web form, a delete,
  an upload once its file is parsed) also takes one token per row (RATE_LIMIT_ROWS_PER_SECOND,
  RATE_LIMIT_ROWS_BURST), so a 2,500-row POST costs 2,500 and not 1.

A cost larger than the burst (a big upload) is allowed when the bucket is full and leaves it in
debt, which the provider then waits out: a bucket never refuses a request forever. An empty
bucket answers 429 with `Retry-After`, the seconds until enough tokens are back.

The buckets are per provider and key kind (`Caller.bucket`): portal keys and sessions, web-service
credentials and sandbox credentials each have their own, so an LMS's nightly run does not
lock the provider's staff out and Sandbox PARS never spends production's rows.

The shared buckets are one row each in PostgreSQL (`rate_buckets`, UNLOGGED), computed and
updated by one `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` per check: one round trip, so a
provider gets the configured rate however many intake instances serve it."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import Counter, deque
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from fastapi import HTTPException

from .grouped import Grouped
from .store import match_failures
from .store.match_failures import Db


@dataclass(frozen=True)
class Limit:
    rate: float  # tokens a second
    burst: float  # tokens a full bucket holds

    def refill(self, tokens: float, elapsed: float) -> float:
        """The tokens of a bucket that held `tokens` `elapsed` seconds ago."""
        return min(self.burst, tokens + max(0.0, elapsed) * self.rate)

    def take(self, tokens: float, cost: float) -> tuple[float, float]:
        """(tokens left, seconds to wait) for a request of `cost` on a bucket holding `tokens`
        (refilled): 0 s and the cost taken when the bucket can pay it, or is full (a cost over
        the burst leaves a debt); else nothing taken and the seconds until it can."""
        needed = min(cost, self.burst)
        if tokens >= needed:
            return tokens - cost, 0.0
        return tokens, self.wait(tokens, cost)

    def wait(self, tokens: float, cost: float) -> float:
        return (min(cost, self.burst) - tokens) / self.rate


# The same arithmetic as Limit.refill and Limit.take, in one statement: a new bucket starts full;
# an existing one is locked by the upsert and its SET sees the row's latest tokens (two instances
# taking at once queue on the row). `now()` is the time of the statement's own transaction.
_REFILLED = "least($3::float8, b.tokens + greatest(0, extract(epoch FROM now() - b.at)::float8) * $2::float8)"
TAKE_SQL = f"""
INSERT INTO rate_buckets AS b (bucket, tokens, at, granted) VALUES ($1, $3::float8 - $4::float8, now(), true)
ON CONFLICT (bucket) DO UPDATE SET
    granted = {_REFILLED} >= least($4::float8, $3::float8),
    tokens = CASE WHEN {_REFILLED} >= least($4::float8, $3::float8) THEN {_REFILLED} - $4::float8
                  ELSE {_REFILLED} END,
    at = now()
RETURNING b.tokens, b.granted
"""
# TAKE_SQL for several buckets at once, each once (an upsert may not touch a row twice), in the
# order given (sorted: two instances lock the rows in the same order). $3 rate, $4 burst; a
# row's cost comes back as the burst less what a new bucket would hold (EXCLUDED.tokens).
_COST = "($4::float8 - EXCLUDED.tokens)"
_REFILLED_MANY = "least($4::float8, b.tokens + greatest(0, extract(epoch FROM now() - b.at)::float8) * $3::float8)"
TAKE_MANY_SQL = f"""
INSERT INTO rate_buckets AS b (bucket, tokens, at, granted)
SELECT k, $4::float8 - c, now(), true FROM unnest($1::text[], $2::float8[]) WITH ORDINALITY AS u(k, c, n) ORDER BY n
ON CONFLICT (bucket) DO UPDATE SET
    granted = {_REFILLED_MANY} >= least({_COST}, $4::float8),
    tokens = CASE WHEN {_REFILLED_MANY} >= least({_COST}, $4::float8) THEN {_REFILLED_MANY} - {_COST}
                  ELSE {_REFILLED_MANY} END,
    at = now()
RETURNING b.bucket, b.tokens, b.granted
"""
# A bucket's tokens now, refilled as TAKE_SQL would, without taking any or locking the row.
WAITING_SQL = f"SELECT {_REFILLED} AS tokens FROM rate_buckets AS b WHERE b.bucket = $1"
# A bucket untouched this long is full again (any limit refills within it), as if it had no row:
# its row goes, so that wrong admin tokens from ever new addresses do not grow the table for good.
IDLE_BUCKET = "1 day"


async def forget_idle_buckets(db: asyncpg.Pool | asyncpg.Connection) -> int:
    """Deletes the buckets untouched for IDLE_BUCKET; returns how many."""
    deleted = await db.execute(f"DELETE FROM rate_buckets WHERE at < now() - interval '{IDLE_BUCKET}'")
    return int(deleted.split()[-1])


class SharedBuckets:
    """Buckets in PostgreSQL, named `<name>:<key>` (a provider and key kind, a provider, a client
    address): one each whatever the number of intake instances.

    `grouped`: takes from the pool that come while one runs share the next statement (grouped.py),
    each bucket's in the order they came: every request of the web service takes from two
    buckets, a round trip each, which 50 requests at once then share (issue #25)."""

    def __init__(self, name: str, rate: float, burst: float, grouped: bool = False) -> None:
        self.name, self.limit, self.grouped = name, Limit(rate, burst), grouped
        self._takes: tuple[asyncpg.Pool, Grouped[tuple[str, float], Any]] | None = None

    async def take(self, db: asyncpg.Pool | asyncpg.Connection, key: str, cost: float = 1.0) -> float:
        """Takes `cost` tokens from the key's bucket: 0 when allowed, else the seconds to wait."""
        bucket = f"{self.name}:{key}"
        if self.grouped and isinstance(db, asyncpg.Pool):
            row = await self._grouped_takes(db)((bucket, float(cost)))
        else:
            row = await db.fetchrow(TAKE_SQL, bucket, self.limit.rate, self.limit.burst, float(cost))
        return 0.0 if row["granted"] else self.limit.wait(row["tokens"], cost)

    def _grouped_takes(self, pool: asyncpg.Pool) -> Grouped[tuple[str, float], Any]:
        if self._takes is None or self._takes[0] is not pool:
            self._takes = (pool, Grouped(lambda takes: self._take_many(pool, takes), max_size=1000))
        return self._takes[1]

    async def _take_many(self, pool: asyncpg.Pool, takes: list[tuple[str, float]]) -> list[Any]:
        """The takes' rows, in order: one statement per round, a round taking at most once from
        each bucket (the first round each bucket's first take, and so on)."""
        if len(takes) == 1:
            return [await pool.fetchrow(TAKE_SQL, takes[0][0], self.limit.rate, self.limit.burst, takes[0][1])]
        rounds: list[list[int]] = []
        for i, (bucket, _) in enumerate(takes):
            free = next((r for r in rounds if all(takes[j][0] != bucket for j in r)), None)
            if free is None:
                rounds.append([i])
            else:
                free.append(i)
        rows: list[Any] = [None] * len(takes)
        for taking in rounds:
            taking.sort(key=lambda j: takes[j][0])
            got = {row["bucket"]: row for row in await pool.fetch(
                TAKE_MANY_SQL, [takes[j][0] for j in taking], [takes[j][1] for j in taking],
                self.limit.rate, self.limit.burst)}
            for j in taking:
                rows[j] = got[takes[j][0]]
        return rows

    async def waiting(self, db: asyncpg.Pool | asyncpg.Connection, key: str) -> float:
        """Seconds until the key's bucket holds a whole token again (0: it does, or has never been
        spent); takes nothing."""
        row = await db.fetchrow(WAITING_SQL, f"{self.name}:{key}", self.limit.rate, self.limit.burst)
        if row is None or row["tokens"] >= 1:
            return 0.0
        return self.limit.wait(row["tokens"], 1)

    async def check(self, db: asyncpg.Pool | asyncpg.Connection, key: str, cost: float = 1.0,
                    what: str = "requests") -> None:
        """Raises the 429 when the key's bucket cannot pay `cost`."""
        wait = await self.take(db, key, cost)
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
    """No place is free (and, where claims may wait, none came within the wait or the line was full)."""


class Places:
    """Places for work in progress (bodies being read, files being parsed): at most `total` at
    once, and `per_share` for one share (a provider). `claim` raises Full at once beyond the bound;
    `wait_for` lets a claim wait in a bounded line (at most `line` claims, `line_per_share` of one
    share) for at most its deadline. A waiting claim holds no body (its request's body is not read
    until it has a place), so the line bounds memory as the places do, and callers that would
    otherwise be answered 429 and send again are served in turn (issue #23: a queue that answers
    429 with Retry-After when full)."""

    def __init__(self, total: int, per_share: int, line: int = 0, line_per_share: int = 0) -> None:
        self.total, self.per_share = total, per_share
        self.line, self.line_per_share = line, line_per_share
        self.taken: Counter[str] = Counter()
        self.waiting: deque[tuple[str, asyncio.Future[Place]]] = deque()

    def in_use(self) -> int:
        return sum(self.taken.values())

    def _free_for(self, share: str) -> bool:
        return self.in_use() < self.total and self.taken[share] < self.per_share

    def claim(self, share: str) -> Place:
        """A place for `share`, held until the `with` block ends or `release()`; Full at once when
        there is none (raised by this call, before the block: nothing inside it is mistaken for it).
        A place given back goes to the waiting claims first (`give_back`), so a place free now is
        one no waiting claim can take: claiming it jumps no one."""
        if not self._free_for(share):
            raise Full(share)
        self.taken[share] += 1
        return Place(self, share)

    async def wait_for(self, share: str, seconds: float) -> Place:
        """A place for `share`, waiting in line for one for at most `seconds`; Full when the line
        (or the share's part of it) is full, or when no place came in time."""
        with contextlib.suppress(Full):
            return self.claim(share)
        if seconds <= 0 or len(self.waiting) >= self.line or \
                sum(1 for s, _ in self.waiting if s == share) >= self.line_per_share:
            raise Full(share)
        future: asyncio.Future[Place] = asyncio.get_running_loop().create_future()
        entry = (share, future)
        self.waiting.append(entry)
        try:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(future), seconds)
        except BaseException:  # cancelled while waiting: a place given meanwhile goes to the next in line
            if future.done():
                future.result().release()
            raise
        finally:
            if entry in self.waiting:
                self.waiting.remove(entry)
            if not future.done():
                future.cancel()
        if future.cancelled():
            raise Full(share)
        return future.result()

    def give_back(self, share: str) -> None:
        self.taken[share] -= 1
        if not self.taken[share]:
            del self.taken[share]
        for entry in list(self.waiting):  # the first waiting claims the free places can take, in order
            waiting_share, future = entry
            if future.done():
                self.waiting.remove(entry)
            elif self._free_for(waiting_share):
                self.waiting.remove(entry)
                self.taken[waiting_share] += 1
                future.set_result(Place(self, waiting_share))


class Place:
    """A claimed place: given back when its `with` block ends, or earlier by `release()` (once)."""

    def __init__(self, places: Places, share: str) -> None:
        self.places, self.share, self.held = places, share, True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.places.give_back(self.share)

    def __enter__(self) -> Place:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


# Where the request guard keeps a request's place for its body (guard.py), for the route to give it
# back early.
BODY_PLACE = "pars.body_place"


def body_done(scope: MutableMapping[str, object]) -> None:
    """The route has read, parsed and stored its body: a small body's place among the bodies in
    flight goes back (guard.GIVE_BACK_BYTES), so that a request waiting for outcomes (`?wait=`)
    holds none; the bound is on bodies in memory, not on callers waiting with a few rows."""
    place = scope.get(BODY_PLACE)
    if isinstance(place, Place):
        place.release()
