"""Queueing an event for a provider's webhook endpoints, in the caller's transaction."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

import asyncpg
import orjson
from pydantic import BaseModel

from ..store import webhooks as store

# Event types and ids go into the body and, through the delivery id, a header: plain tokens only.
EVENT_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}")
EVENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}")


def new_delivery_id() -> str:
    """A delivery's webhook-id: the same on every attempt and resend of that delivery."""
    return "msg_" + uuid.uuid4().hex


def data(payload: dict[str, Any] | BaseModel) -> dict[str, Any]:
    """An event's `data` as its endpoints get it: a model dumped to its JSON."""
    return payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload


def body(event_type: str, payload: dict[str, Any] | BaseModel, now: datetime) -> str:
    """The JSON POSTed, in the Standard Webhooks shape: `type`, `timestamp`, `data`."""
    return orjson.dumps({"type": event_type, "timestamp": now.isoformat().replace("+00:00", "Z"),
                         "data": data(payload)}, default=str).decode()


class WebhookEvent(NamedTuple):
    """An event for a provider's endpoints: `event_id` identifies it (e.g. its outbox message
    id), `payload` is its JSON (`data` in the body), or the model dumped to it only when the
    provider has an endpoint: most have none, and a stream's status changes paid for the dump."""

    provider_id: str
    event_type: str
    event_id: str
    payload: dict[str, Any] | BaseModel


async def enqueue_many(conn: asyncpg.Connection, events: Sequence[WebhookEvent]) -> None:
    """One delivery per event and enabled endpoint of its provider that takes its type, in the
    caller's transaction and in the events' order: nothing is queued if it rolls back, and an
    event id already queued for an endpoint (a redelivered message handled again) is not queued
    twice. One lookup and one insert for the lot: a consumer batch's status changes cost two
    statements, not two per change.

    A type or id that is not a plain token is a programming error: ValueError."""
    for event in events:
        if not EVENT_TYPE.fullmatch(event.event_type):
            raise ValueError(f"webhook event type must match {EVENT_TYPE.pattern}: {event.event_type[:120]!r}")
        if not EVENT_ID.fullmatch(event.event_id):
            raise ValueError(f"webhook event id must match {EVENT_ID.pattern}: {event.event_id[:220]!r}")
    if not events:
        return
    endpoints = await store.enabled_endpoints(conn, sorted({event.provider_id for event in events}))
    if not endpoints:
        return
    now = datetime.now(UTC)
    await store.add_deliveries(conn, [
        (new_delivery_id(), endpoint_id, event.provider_id, event.event_type, event.event_id,
         body(event.event_type, event.payload, now))
        for event in events
        for endpoint_id, takes in endpoints.get(event.provider_id, ())
        if not takes or event.event_type in takes])
