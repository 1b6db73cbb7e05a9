"""No instance holds another's work (issue 26): two instances' relays share one outbox on
PostgreSQL; one is cut off from Kafka (its deliveries never complete, and no fresh producer of its
reaches the brokers) while it still reaches the database. The other sends every row within
seconds, once each and in order, with the cut-off one still running. Before the fix the cut-off
relay held the batch it took, and with it the outbox's lock, through aiokafka's timeouts (a minute),
twice over on a 2,500-row upload."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import orjson
import pytest
from aiokafka.errors import KafkaConnectionError

from pars_contracts.events import ProviderRegistered
from pars_runtime import db, messages
from pars_runtime.memory import MemoryProducer
from pars_runtime.relay import OutboxRelay, PostgresOutbox

pytestmark = pytest.mark.integration
ROWS = 2500


class CutOffProducer(MemoryProducer):
    """Takes sends and never delivers them; `holding` is set once it has a batch in hand."""

    def __init__(self) -> None:
        super().__init__(cut_off=True)
        self.holding = asyncio.Event()

    async def send_batch(self, *args: Any, **kwargs: Any) -> asyncio.Future[None]:
        self.holding.set()
        return await super().send_batch(*args, **kwargs)


async def test_a_relay_cut_off_from_kafka_does_not_hold_the_healthy_relays_rows(stack: Any) -> None:
    env = stack.env()
    schema = f"t{uuid.uuid4().hex[:8]}_relay"
    pool = await db.create_pool(env["DATABASE_URL"], schema, min_size=2, max_size=6)
    await db.migrate(pool, schema, "pars_contracts")  # the runtime's tables only
    upload = [messages.outgoing("pars.providers.v1", f"k{n % 7}", ProviderRegistered(
        provider_id=f"{1000000 + n}", name="P"), producer="test", correlation_id=f"c{n}") for n in range(ROWS)]
    cut_off, healthy = CutOffProducer(), MemoryProducer()

    async def unreachable() -> MemoryProducer:
        raise KafkaConnectionError("Unable to bootstrap from the brokers")  # as its fresh producers find

    stop = asyncio.Event()
    cut_relay = OutboxRelay(PostgresOutbox(pool, schema), cut_off, schema,  # type: ignore[arg-type]
                            new_producer=unreachable, send_timeout=2.0)
    cut_relay._owns_producer = True  # as one it made itself
    healthy_relay = OutboxRelay(PostgresOutbox(pool, schema), healthy, schema)  # type: ignore[arg-type]
    relays = []
    try:
        async with pool.acquire() as conn:
            await messages.put_many(conn, upload)
        relays.append(asyncio.create_task(cut_relay.run(stop)))
        await asyncio.wait_for(cut_off.holding.wait(), 10)  # the cut-off one took the first batch
        relays.append(asyncio.create_task(healthy_relay.run(stop)))
        async with asyncio.timeout(20):  # ten times what the healthy one needs; 60 s+ before the fix
            while await pool.fetchval("SELECT count(*) FROM outbox"):
                await asyncio.sleep(0.1)
        assert not relays[0].done()  # the cut-off instance still runs
        sent = [orjson.loads(s.value or b"")["message_id"] for s in healthy.sent]
        assert sent == [m.message_id for m in upload]  # each once, in commit order
        assert cut_off.sent == [] and cut_off.stopped
    finally:
        stop.set()
        for relay in (cut_relay, healthy_relay):
            relay._wake.set()
        if relays:
            _, stuck = await asyncio.wait(relays, timeout=10)
            for task in stuck:  # a relay that holds its batch for good (before the fix)
                task.cancel()
            await asyncio.gather(*relays, return_exceptions=True)
        await pool.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await pool.close()
