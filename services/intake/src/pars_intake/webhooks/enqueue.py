"""Queueing an event for a provider's webhook endpoints, in the caller's transaction."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from ..store import webhooks as store

# Event types and ids go into the body and, through the delivery id, a header: plain tokens only.
EVENT_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}")
EVENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}")


def new_delivery_id() -> str:
    """A delivery's webhook-id: the same on every attempt and resend of that delivery."""
    return "msg_" + uuid.uuid4().hex


def body(event_type: str, payload: dict[str, Any], now: datetime) -> str:
    """The JSON POSTed, in the Standard Webhooks shape: `type`, `timestamp`, `data`."""
    return orjson.dumps({"type": event_type, "timestamp": now.isoformat().replace("+00:00", "Z"), "data": payload},
                        default=str).decode()


async def enqueue(conn: asyncpg.Connection, provider_id: str, event_type: str, event_id: str,
                  payload: dict[str, Any]) -> None:
    """One delivery per enabled endpoint of the provider that takes `event_type`, in the caller's
    transaction: nothing is queued if it rolls back, and an event id already queued for an
    endpoint (a redelivered message handled again) is not queued twice.

    `event_id` identifies the event (e.g. its outbox message id); `payload` is the event's JSON
    (`data` in the body). A type or id that is not a plain token is a programming error: ValueError."""
    if not EVENT_TYPE.fullmatch(event_type):
        raise ValueError(f"webhook event type must match {EVENT_TYPE.pattern}: {event_type[:120]!r}")
    if not EVENT_ID.fullmatch(event_id):
        raise ValueError(f"webhook event id must match {EVENT_ID.pattern}: {event_id[:220]!r}")
    endpoints = await store.matching_endpoints(conn, provider_id, event_type)
    if not endpoints:
        return
    sent = body(event_type, payload, datetime.now(UTC))
    await store.add_deliveries(conn, [(new_delivery_id(), endpoint_id, provider_id, event_type, event_id, sent)
                                      for endpoint_id in endpoints])
