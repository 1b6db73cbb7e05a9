"""Rows that never get a first outcome: the overdue sweep.

A row's first outcome comes from the validator (invalid) or the board gateway (a decision). If a
message on that way ends in a dead-letter topic (a handler that kept failing), the row would wait
forever, and so would its upload: the provider could never upload again (one processing upload
per provider). So a row still without outcome `ROW_OUTCOME_TIMEOUT_SECONDS` after it was
submitted (default 30 minutes, three times the seed's "may take up to 10 minutes") gets error
998 "General learner record processing error." as its first outcome: it lands in the upload's
error report, its upload completes (and is e-mailed), an upstream system gets its outcome.

Fair to every provider (review N5): rows wait in line. The validator (and then the board
gateway) takes a partition's messages in order, so when one provider sends a large backlog,
another provider's row may wait behind it longer than the timeout without anything being wrong.
Such a row is not swept: a row is overdue only when, past the timeout, the pipeline went past it
in its partition (a row submitted after it there has its outcome: its own message was dead-
lettered or lost) or its partition has had no outcome at all for the timeout (the pipeline is
stalled). Each row records its partition (`records.submit_partition`, computed as the producer
partitions, submit.py); store/outcomes.py has the rule.

Should the row's message be replayed from the dead-letter topic later, its late decision still
updates the stored record's status (it then shows as Submitted/Accepted/Rejected), but the first
outcome and the upload's counts stay as reported. Re-sending such a row gives 603 (duplicate).

The sweep runs as a background task (`sweeper`, every `SWEEP_INTERVAL_SECONDS`) and, for one
provider, when a new upload arrives (so a stuck upload never blocks the next one, task or not).
Reading uploads does not sweep: a GET changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import asyncpg

from pars_contracts.codes import error
from pars_runtime import metrics
from pars_runtime.db import DATABASE_ERRORS
from pars_runtime.logs import get_logger
from pars_runtime.loops import every
from pars_runtime.messages import Emitter
from pars_runtime.service import Runtime
from pars_runtime.settings import ServiceSettings

from .outcomes import record_first_outcome
from .ratelimit import forget_idle_buckets
from .settings import IntakeSettings, intake_settings
from .store import outcomes as store
from .store.uploads import lock_upload

log = get_logger(__name__)
GENERAL_ERROR = 998


async def sweep_overdue(pool: asyncpg.Pool, settings: ServiceSettings, now: datetime, timeout: timedelta,
                        provider_id: str | None = None) -> int:
    """Gives every overdue row (of one provider, or all) its 998 first outcome; returns how many.

    One transaction per upload, which is locked first: a consumer counting a row of the same
    upload then waits for the sweep or the sweep for it, never both (no deadlock). Rows a
    consumer is deciding right now are skipped: they are not stuck."""
    cutoff = now - timeout
    swept = 0
    for upload_id in await store.uploads_with_overdue_rows(pool, cutoff, provider_id, timeout.total_seconds()):
        async with pool.acquire() as conn, conn.transaction():
            swept += await _sweep_group(conn, settings, cutoff, upload_id, provider_id, timeout)
    if swept:
        metrics.ERRORS_BY_CODE.labels("intake", str(GENERAL_ERROR)).inc(swept)
        log.warning("rows without outcome given 998", rows=swept, provider_id=provider_id)
    return swept


async def _sweep_group(conn: asyncpg.Connection, settings: ServiceSettings, cutoff: datetime,
                       upload_id: str | None, provider_id: str | None, timeout: timedelta) -> int:
    if upload_id is not None:
        await lock_upload(conn, upload_id)
    record_ids = await store.lock_overdue_rows(conn, cutoff, upload_id, provider_id, timeout.total_seconds())
    emitter = Emitter("intake", settings.topic, correlation_id=upload_id or f"sweep:{uuid.uuid4()}")
    for record_id in record_ids:
        await record_first_outcome(conn, emitter.emit, record_id, "Invalid", [error(GENERAL_ERROR)], None)
    await emitter.flush(conn)
    return len(record_ids)


async def sweep(pool: asyncpg.Pool, settings: IntakeSettings, now: datetime, provider_id: str | None) -> None:
    """One provider's sweep (when a new upload arrives), or everyone's (the background task). A failure (the database away, a deadlock) leaves the rows for the next
    sweep; the request goes on."""
    try:
        await sweep_overdue(pool, settings, now, settings.row_outcome_timeout, provider_id)
    except DATABASE_ERRORS as exc:
        log.warning("overdue sweep failed; the next one retries", error=repr(exc))


async def sweeper(rt: Runtime, stop: asyncio.Event) -> None:
    """Background task: sweeps every provider's overdue rows now and then. `sweep` logs the
    database's failures; anything else ends the task (and the service), as it always did."""
    config = intake_settings(rt)

    async def sweep_all() -> None:
        await sweep(rt.pool, config, rt.clock.now(), None)
        try:  # the rate limits' idle buckets go with the same beat
            await forget_idle_buckets(rt.pool)
        except DATABASE_ERRORS as exc:
            log.warning("forgetting idle rate limit buckets failed; the next sweep retries", error=repr(exc))

    await every(config.sweep_interval_seconds, sweep_all, stop, name="sweeper", catch=())
