"""The outbox relay: moves committed outbox rows to Kafka, in order, then deletes them.

One relay sends at a time per schema (an advisory lock), so messages leave in commit order and
per-key ordering holds even with several instances. A crash after sending but before the delete
sends the rows again: consumers deduplicate by message id, so that is safe."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer

from . import metrics
from .logs import get_logger
from .messages import OUTBOX_CHANNEL

log = get_logger(__name__)


class OutboxRelay:
    def __init__(self, pool: asyncpg.Pool, producer: AIOKafkaProducer, schema: str, batch_size: int = 1000) -> None:
        self.pool = pool
        self.producer = producer
        self.schema = schema
        self.batch_size = batch_size
        self._wake = asyncio.Event()

    async def relay_once(self) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"outbox:{self.schema}")
            rows = await conn.fetch(
                "SELECT id, topic, key, value, headers FROM outbox ORDER BY id LIMIT $1", self.batch_size
            )
            if not rows:
                return 0
            pending = []
            for row in rows:
                headers = [(k, str(v).encode()) for k, v in orjson.loads(row["headers"]).items()]
                pending.append(await self.producer.send(
                    row["topic"], row["value"], key=row["key"].encode(), headers=headers))
            await asyncio.gather(*pending)
            await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", [r["id"] for r in rows])
        metrics.OUTBOX_SENT.labels(self.schema).inc(len(rows))
        return len(rows)

    async def run(self, stop: asyncio.Event) -> None:
        listener = await self.pool.acquire()
        await listener.add_listener(OUTBOX_CHANNEL, lambda *_: self._wake.set())
        failures = 0
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    sent = await self.relay_once()
                    failures = 0
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, Exception) as exc:  # noqa: BLE001
                    # Kafka or PostgreSQL away: nothing was deleted, so nothing is lost; back off.
                    failures += 1
                    log.warning("outbox relay failed; retrying", error=repr(exc), failures=failures)
                    await _sleep_or_stop(stop, min(0.2 * 2**failures, 5.0))
                    continue
                if sent < self.batch_size:
                    # Wait for a NOTIFY, but poll too: a notification can be missed across a reconnect.
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=0.5)
        finally:
            with contextlib.suppress(Exception):
                await listener.remove_listener(OUTBOX_CHANNEL, lambda *_: None)
            with contextlib.suppress(Exception):
                await self.pool.release(listener)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
