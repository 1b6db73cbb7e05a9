"""The one envelope every message travels in (SPEC section 4).

The envelope's `message_id` is the identity consumers deduplicate on: it is never derived from
Kafka offsets, so a message replayed from a dead-letter topic is still recognised.

Every field is checked when a message is read (review N2): `message_id` is a UUID (every id the
services make is one: `new_id`), the other texts are bounded and hold no NUL. A message that breaks
these is unreadable and dead-lettered at once; without them an id PostgreSQL cannot store (a NUL,
or too long for the inbox's index) failed its whole batch, then each message's retries."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_entropy = b""
_used = 0


def _forget_entropy() -> None:
    global _entropy, _used
    _entropy, _used = b"", 0


os.register_at_fork(after_in_child=_forget_entropy)  # a child never repeats its parent's ids


def new_id() -> str:
    """A time-ordered (version 7, RFC 9562) UUID as text: the Unix time in milliseconds, then 74
    random bits from the system's random source, read 4 KiB at a time (one system call for 256
    ids; ids are made for every record and message, and the call showed in the services'
    profiles). Ids made one after another sort one after another (to the millisecond), so the
    tables and inboxes keyed by them add each new key at the right edge of their index, where
    random (version 4) keys touched a page anywhere in it for every row (issue #25)."""
    global _entropy, _used
    if _used + 10 > len(_entropy):
        _entropy, _used = os.urandom(4096), 0
    raw = bytearray((time.time_ns() // 1_000_000).to_bytes(6, "big"))
    raw += _entropy[_used:_used + 10]
    _used += 10
    raw[6] = (raw[6] & 0x0F) | 0x70  # version 7
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 9562 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# A UUID as text, in either case: what `new_id` and upstream systems' libraries make.
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
NO_NUL = r"^[^\x00]*$"  # PostgreSQL's text cannot hold NUL
# A correlation id may carry an upstream credit id (at most 300 characters); 500 characters are
# at most 2,000 bytes of UTF-8, within what a PostgreSQL index entry holds (2,704).
MAX_TEXT = 500


def _text(description: str, **kw: Any) -> Any:
    return Field(description=description, max_length=MAX_TEXT, pattern=NO_NUL, **kw)


class Envelope(BaseModel):
    """The envelope every message travels in; `payload` holds the event named by `type`."""

    # Consumers ignore fields they do not know: contracts evolve compatibly (SPEC section 4).
    model_config = ConfigDict(extra="ignore")

    message_id: str = Field(
        default_factory=new_id, pattern=UUID_PATTERN,
        description="Unique id of this message (a UUID). Consumers deduplicate on it, so a producer "
                    "that sends the same message again (a retry) must send the same id.")
    type: str = _text("The payload's event type, e.g. `UpstreamCompletion`.")
    schema_version: int = Field(
        default=1, description="Version of the payload's schema (its model's `SCHEMA_VERSION`). A consumer upcasts "
                               "an older version to the one it knows; a newer one is unreadable to it.")
    occurred_at: datetime = Field(
        default_factory=lambda: datetime.now(UTC),
        description="When the event happened, ISO 8601 with a time zone.")
    producer: str = _text("The service or system that produced the message.")
    correlation_id: str = _text(
        "The unit of work the message belongs to: the submission or upload id, or the "
        "upstream system's own reference.")
    causation_id: str | None = _text("The `message_id` of the message that caused this one.", default=None)
    provider_id: str | None = _text("The provider's 7-digit ACCME organization id.", default=None)
    payload: dict[str, Any] = Field(description="The event, as the schema of `type` describes it.")


def schema_version(model: type[BaseModel]) -> int:
    """The schema version a payload model declares (`events.Event.SCHEMA_VERSION`, 1 by default)."""
    version = getattr(model, "SCHEMA_VERSION", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise TypeError(f"{model.__name__}.SCHEMA_VERSION must be a positive int, not {version!r}")
    return version


def wrap(
    event: BaseModel,
    *,
    producer: str,
    correlation_id: str,
    causation_id: str | None = None,
    provider_id: str | None = None,
    message_id: str | None = None,
) -> Envelope:
    """Put a payload model in an envelope; its type is the payload class's name, its schema
    version the version the class declares."""
    return Envelope(
        message_id=message_id or new_id(),
        type=type(event).__name__,
        schema_version=schema_version(type(event)),
        producer=producer,
        correlation_id=correlation_id,
        causation_id=causation_id,
        provider_id=provider_id,
        payload=event.model_dump(mode="json"),
    )
