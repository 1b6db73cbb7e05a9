"""Intake's handlers run here on in-memory state with no database connection (conn None): the
webhook queue, which lives in intake's PostgreSQL (webhooks.enqueue), is an in-memory list."""

from __future__ import annotations

from typing import Any

import pytest

from pars_intake import webhooks


@pytest.fixture(autouse=True)
def queued_webhooks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str, dict[str, Any]]]:
    """What the handlers queued for webhook endpoints: (provider, event type, event id, data)."""
    queued: list[tuple[str, str, str, dict[str, Any]]] = []

    async def enqueue(_conn: object, provider_id: str, event_type: str, event_id: str, payload: dict[str, Any]) -> None:
        queued.append((provider_id, event_type, event_id, payload))

    monkeypatch.setattr(webhooks, "enqueue", enqueue)
    return queued
