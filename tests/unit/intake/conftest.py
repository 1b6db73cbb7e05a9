"""Intake's handlers run here on in-memory state with no database connection (conn None): the
webhook queue, which lives in intake's PostgreSQL (webhooks.enqueue_many), is an in-memory list."""

from __future__ import annotations

from typing import Any

import pytest

from pars_intake import webhooks
from pars_intake.webhooks import enqueue


@pytest.fixture(autouse=True)
def queued_webhooks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str, dict[str, Any]]]:
    """What the handlers queued for webhook endpoints: (provider, event type, event id, data)."""
    queued: list[tuple[str, str, str, dict[str, Any]]] = []

    async def enqueue_many(_conn: object, events: list[webhooks.WebhookEvent]) -> None:
        queued.extend((e.provider_id, e.event_type, e.event_id, enqueue.data(e.payload)) for e in events)

    monkeypatch.setattr(webhooks, "enqueue_many", enqueue_many)
    return queued
