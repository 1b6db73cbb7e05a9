"""Runs a service's handler functions in memory, the way the processor runs one batch of them
(pars_runtime.processor.BatchProcessor): the state's `prepare` with every payload, each handler
with its own `Unit` and `Emitter`, the state's `flush`, then the after-commit callbacks. No
PostgreSQL: the state is built on in-memory repositories and the connection is None.

    emitted = await handle(handlers.record_submitted, row, state)
    assert [e.event for e in emitted] == [...]
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel

from pars_contracts.envelope import wrap
from pars_contracts.topics import PAYLOADS
from pars_runtime.messages import Emitter, Outgoing
from pars_runtime.processor import BatchState, Unit

Handler = Callable[[Any, Unit[Any]], Awaitable[None]]


@dataclass(frozen=True)
class Emitted:
    """A message a handler wrote to the outbox, read back from its bytes."""

    topic: str
    key: str
    event: Any  # the payload model
    causation_id: str | None

    @property
    def type(self) -> str:
        return type(self.event).__name__


def read(out: Outgoing) -> Emitted:
    envelope = orjson.loads(out.value)
    event = PAYLOADS[envelope["type"]].model_validate(envelope["payload"])
    return Emitted(out.topic, out.key, event, envelope["causation_id"])


async def batch(state: BatchState, *messages: tuple[Handler, BaseModel], topic: str = "",
                topic_provider_id: str | None = None, conn: Any = None) -> list[Emitted]:
    """One batch of (handler, payload): what its handlers emitted, in order. `conn`: a real
    connection, for a state on PostgreSQL (the caller's transaction)."""
    payloads = [payload for _, payload in messages]
    await state.prepare(conn, payloads)
    after_commit: list[Callable[[], Any]] = []
    emitters: list[Emitter] = []
    for handler, payload in messages:
        envelope = wrap(payload, producer="test", correlation_id="corr-test",
                        provider_id=getattr(payload, "provider_id", None))
        emitter = Emitter("test", lambda name: name, envelope.correlation_id, envelope.message_id,
                          envelope.provider_id)
        unit = Unit(conn, envelope, state, emitter, topic, topic_provider_id, after_commit)
        await handler(payload, unit)
        emitters.append(emitter)
    await state.flush(conn)
    # As the processor writes the outbox: after the flush (which may emit through a message's
    # emitter), in message order.
    outbox: list[Outgoing] = [out for e in emitters for out in e.items]
    for callback in after_commit:
        callback()
    state.committed()
    return [read(out) for out in outbox]


async def handle(handler: Handler, payload: BaseModel, state: BatchState) -> list[Emitted]:
    """One message alone in its batch."""
    return await batch(state, (handler, payload))
