"""Envelope (de)serialization and the outbox: how a service says something to the others.

`emit` writes the message into the service's outbox table inside the caller's transaction, so
the state change and the message are committed together or not at all (transactional outbox)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from pydantic import BaseModel

from pars_contracts.envelope import Envelope, new_id, schema_version

OUTBOX_CHANNEL = "outbox"


def encode(envelope: Envelope) -> bytes:
    return orjson.dumps(envelope.model_dump(mode="json"))


def decode(value: bytes | None) -> Envelope:
    """Raises ValueError (or pydantic's ValidationError, a ValueError) on anything unreadable."""
    if value is None:
        raise ValueError("message has no value")
    return Envelope.model_validate(orjson.loads(value))


@dataclass(slots=True, frozen=True)
class Outgoing:
    """A message on its way to the outbox: where it goes, and its envelope already as bytes."""

    topic: str
    key: str
    message_id: str
    type: str
    correlation_id: str
    value: bytes

    def headers(self) -> str:
        return orjson.dumps({"message_id": self.message_id, "type": self.type,
                             "correlation_id": self.correlation_id}).decode()


def outgoing(topic: str, key: str, event: BaseModel, *, producer: str, correlation_id: str,
             causation_id: str | None = None, provider_id: str | None = None,
             message_id: str | None = None) -> Outgoing:
    """The event in its envelope (pars_contracts.envelope.wrap's, field for field), serialized
    once: the payload by its model's own serializer, the envelope's fields around it. Building an
    Envelope model first would validate the dumped payload again and dump it a second time."""
    message_id = message_id or new_id()
    name = type(event).__name__
    head = orjson.dumps({
        "message_id": message_id, "type": name, "schema_version": schema_version(type(event)),
        "occurred_at": datetime.now(UTC), "producer": producer, "correlation_id": correlation_id,
        "causation_id": causation_id, "provider_id": provider_id}, option=orjson.OPT_UTC_Z)
    value = head[:-1] + b',"payload":' + event.__pydantic_serializer__.to_json(event) + b"}"
    return Outgoing(topic, key, message_id, name, correlation_id, value)


async def put_many(conn: asyncpg.Connection, items: list[Outgoing]) -> None:
    """The messages into the outbox, in the caller's transaction: the one way anything is sent."""
    if not items:
        return
    # One statement for the whole list; the rows get their ids (the relay's sending order) in
    # the list's order. The same statement wakes the relay at commit (pg_notify is NOTIFY: sent
    # at commit, identical ones of a transaction folded into one), one round trip instead of two;
    # a data-modifying WITH runs to completion whatever the outer query reads of it. The payload
    # names the schema written to: the services share a database and the channel, and a relay
    # wakes only for its own schema's outbox (relay.PostgresOutbox.listening).
    await conn.execute(
        "WITH written AS (INSERT INTO outbox (topic, key, message_id, value, headers) SELECT t, k, m, v, h "
        "FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::jsonb[]) WITH ORDINALITY AS u(t, k, m, v, h, n) "
        f"ORDER BY n) SELECT pg_notify('{OUTBOX_CHANNEL}', current_schema())",
        [o.topic for o in items], [o.key for o in items], [o.message_id for o in items],
        [o.value for o in items], [o.headers() for o in items],
    )


class Emitter:
    """Collects what a handler says, to be written to the outbox in the handler's transaction."""

    def __init__(self, producer: str, topic_name: Any, correlation_id: str,
                 causation_id: str | None = None, provider_id: str | None = None) -> None:
        self.producer = producer
        self._topic_name = topic_name  # maps a registry topic name to its namespaced name
        self.correlation_id = correlation_id
        self.causation_id = causation_id
        self.provider_id = provider_id
        self.items: list[Outgoing] = []

    def emit(self, topic: str, key: str, event: BaseModel, *, provider_id: str | None = None,
             correlation_id: str | None = None, message_id: str | None = None) -> Outgoing:
        message = outgoing(self._topic_name(topic), key, event, producer=self.producer,
                           correlation_id=correlation_id or self.correlation_id, causation_id=self.causation_id,
                           provider_id=provider_id or self.provider_id, message_id=message_id)
        self.items.append(message)
        return message

    async def flush(self, conn: asyncpg.Connection) -> None:
        await put_many(conn, self.items)
        self.items.clear()
