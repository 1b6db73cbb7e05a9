"""The one envelope every message travels in (SPEC section 4).

The envelope's `message_id` is the identity consumers deduplicate on: it is never derived from
Kafka offsets, so a message replayed from a dead-letter topic is still recognised."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def new_id() -> str:
    return str(uuid.uuid4())


class Envelope(BaseModel):
    # Consumers ignore fields they do not know: contracts evolve compatibly (SPEC section 4).
    model_config = ConfigDict(extra="ignore")

    message_id: str = Field(default_factory=new_id)
    type: str
    schema_version: int = 1
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    producer: str
    correlation_id: str
    causation_id: str | None = None
    provider_id: str | None = None
    payload: dict[str, Any]


def wrap(
    event: BaseModel,
    *,
    producer: str,
    correlation_id: str,
    causation_id: str | None = None,
    provider_id: str | None = None,
    message_id: str | None = None,
) -> Envelope:
    """Put a payload model in an envelope; its type is the payload class's name."""
    return Envelope(
        message_id=message_id or new_id(),
        type=type(event).__name__,
        producer=producer,
        correlation_id=correlation_id,
        causation_id=causation_id,
        provider_id=provider_id,
        payload=event.model_dump(mode="json"),
    )
