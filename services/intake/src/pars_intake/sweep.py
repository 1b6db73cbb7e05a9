"""Rows that never get a first outcome: the overdue sweep.

A row's first outcome comes from the validator (invalid) or the board gateway (a decision). If a
message on that way ends in a dead-letter topic (a handler that kept failing), the row would wait
forever, and so would its upload: the provider could never upload again (one processing upload
per provider). So a row still without outcome `ROW_OUTCOME_TIMEOUT_SECONDS` after it was
submitted (default 30 minutes, three times the seed's "may take up to 10 minutes") gets error
998 "General learner record processing error." as its first outcome: it lands in the upload's
error report, its upload completes (and is e-mailed), an upstream system gets its outcome.

Should the row's message be replayed from the dead-letter topic later, its late decision still
updates the stored record's status (it then shows as Submitted/Accepted/Rejected), but the first
outcome and the upload's counts stay as reported. Re-sending such a row gives 603 (duplicate).

The sweep runs as a background task (`sweeper`) and, for one provider, whenever its uploads are
read or a new upload arrives (so a stuck upload never blocks the next one, task or not)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import datetime, timedelta
from functools import lru_cache

import asyncpg
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pars_contracts.codes import error
from pars_runtime import metrics
from pars_runtime.logs import get_logger
from pars_runtime.messages import Emitter
from pars_runtime.service import Runtime
from pars_runtime.settings import ServiceSettings

from .handlers import record_first_outcome

log = get_logger(__name__)
GENERAL_ERROR = 998


class SweepSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    row_outcome_timeout_seconds: float = Field(default=1800, gt=0)
    sweep_interval_seconds: float = Field(default=30, gt=0)

    @property
    def timeout(self) -> timedelta:
        return timedelta(seconds=self.row_outcome_timeout_seconds)


@lru_cache(maxsize=1)
def sweep_settings() -> SweepSettings:
    return SweepSettings()


async def sweep_overdue(conn: asyncpg.Connection, settings: ServiceSettings, now: datetime, timeout: timedelta,
                        provider_id: str | None = None, limit: int = 5000) -> int:
    """Gives every overdue row (of one provider, or all) its 998 first outcome; in the caller's
    transaction. Rows a consumer is deciding right now are skipped (they are not stuck)."""
    rows = await conn.fetch(
        "SELECT record_id FROM records WHERE outcome IS NULL AND submitted_at < $1 "
        "AND ($2::text IS NULL OR provider_id = $2) ORDER BY submitted_at LIMIT $3 FOR UPDATE SKIP LOCKED",
        now - timeout, provider_id, limit)
    if not rows:
        return 0
    emitter = Emitter("intake", settings.topic, correlation_id=f"sweep:{uuid.uuid4()}")
    for row in rows:
        await record_first_outcome(conn, emitter.emit, row["record_id"], "Invalid", [error(GENERAL_ERROR)], None)
    await emitter.flush(conn)
    metrics.ERRORS_BY_CODE.labels("intake", str(GENERAL_ERROR)).inc(len(rows))
    log.warning("rows without outcome given 998", rows=len(rows), provider_id=provider_id)
    return len(rows)


async def sweep_provider(pool: asyncpg.Pool, settings: ServiceSettings, now: datetime, provider_id: str) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await sweep_overdue(conn, settings, now, sweep_settings().timeout, provider_id)


async def sweeper(rt: Runtime, stop: asyncio.Event) -> None:
    """Background task: sweeps every provider's overdue rows now and then."""
    config = sweep_settings()
    while not stop.is_set():
        try:
            async with rt.pool.acquire() as conn, conn.transaction():
                await sweep_overdue(conn, rt.settings, rt.clock.now(), config.timeout)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("overdue sweep failed; next round retries", error=repr(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), config.sweep_interval_seconds)
