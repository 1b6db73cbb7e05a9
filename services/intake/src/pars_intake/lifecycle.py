"""A learner record's status changed: the one place that tells the provider's systems.

Every path that changes a record's status (its first outcome, a board's later Accepted or
Rejected, a Delete, the sweep's 998; outcomes.py) writes the change with a statement that
returns the record only when its status really changed (store/outcomes.py), and hands each
returned record here, in the same transaction: the event goes to the outbox with the status
write, so it is published exactly once per change, whatever the channel the record came by.

The event is LearnerRecordStatusChanged on the provider's outcomes topic, keyed by record id.
An upstream completion's first outcome is also published as UpstreamOutcome, as before, for the
integrators that read it, unless its provider turned those off (docs/upstream.md). The same change is queued for the provider's webhook
endpoints (webhooks/, docs/webhooks.md) as `learner_record.status_changed`, with the event as its
`data` and the event's id as the delivery's event id."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import asyncpg

from pars_contracts import topics
from pars_contracts.codes import ErrorDetail
from pars_contracts.events import (
    CHANNELS,
    Action,
    LearnerRecordStatusChanged,
    RecordStatus,
    Status,
    UpstreamOutcome,
)
from pars_runtime.messages import Outgoing

from . import webhooks

Emit = Callable[..., Outgoing]  # Emitter.emit: (topic, key, event, *, provider_id=, correlation_id=)
NOT_PROCESSED: RecordStatus = "Not Processed"
ACTIONS: dict[str, Action] = {"add": "Add", "delete": "Delete"}
WEBHOOK_EVENT_TYPE = "learner_record.status_changed"


@dataclass(frozen=True)
class StatusChange:
    """A status a record took: the record as the changing statement returned it
    (store.outcomes.CHANGED's columns), the status, and what came with it."""

    record: Mapping[str, Any]
    status: RecordStatus
    errors: list[ErrorDetail] = field(default_factory=list)
    decided_at: datetime | None = None  # the board's decision; None for PARS's own refusals
    # The first outcome of an upstream completion whose provider takes UpstreamOutcome messages:
    # published as one too, just before the change.
    upstream_outcome: bool = False


def change_event(change: StatusChange) -> LearnerRecordStatusChanged:
    r = change.record
    action = ACTIONS.get((r["action"] or "").strip().lower())  # as given; a refused row's may be anything
    return LearnerRecordStatusChanged(
        record_id=r["record_id"], provider_id=r["provider_id"], sequence=r["status_sequence"], status=change.status,
        errors=change.errors, decided_at=change.decided_at, channel=CHANNELS[r["source"]],
        submission_id=r["submission_id"], upload_id=r["upload_id"], source_message_id=r["source_message_id"],
        credit_id=r["credit_id"], activity_id=r["activity_id"], board=r["board"],
        action=action, target_record_id=r["target_record_id"])


def tell(emit: Emit, change: StatusChange) -> webhooks.WebhookEvent:
    """Publishes one status change on the record's provider's outcomes topic (to the outbox of
    the caller's transaction) and returns it for the provider's webhook endpoints, for the
    caller to queue in the same transaction (`webhooks.enqueue_many`, once per batch). The
    event's id is its outgoing message id: the same on every delivery, by which receivers
    deduplicate, and a redelivered message queues nothing twice."""
    event = change_event(change)
    topic = topics.outcomes_topic(event.provider_id)
    if change.upstream_outcome and event.channel == "upstream" and event.source_message_id:
        status = None if event.status == NOT_PROCESSED else cast(Status, event.status)
        emit(topic, event.provider_id, UpstreamOutcome(
            source_message_id=event.source_message_id, provider_id=event.provider_id, record_id=event.record_id,
            credit_id=event.credit_id, status=status, errors=event.errors),
            provider_id=event.provider_id, correlation_id=event.submission_id)
    out = emit(topic, event.record_id, event, provider_id=event.provider_id, correlation_id=event.submission_id)
    return webhooks.WebhookEvent(event.provider_id, WEBHOOK_EVENT_TYPE, out.message_id, event)


async def status_changed(conn: asyncpg.Connection, emit: Emit, change: StatusChange) -> None:
    """One status change, told and queued for the webhooks in the caller's transaction."""
    await webhooks.enqueue_many(conn, [tell(emit, change)])
