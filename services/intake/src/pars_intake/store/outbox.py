"""An event put in the outbox in the caller's transaction (relayed to Kafka by the runtime)."""

from __future__ import annotations

import asyncpg
from pydantic import BaseModel

from pars_runtime import messages
from pars_runtime.settings import ServiceSettings


async def put_event(conn: asyncpg.Connection, settings: ServiceSettings, topic: str, key: str, event: BaseModel,
                    correlation_id: str, provider_id: str | None = None) -> None:
    await messages.put_many(conn, [messages.outgoing(settings.topic(topic), key, event, producer="intake",
                                                     correlation_id=correlation_id, provider_id=provider_id)])
