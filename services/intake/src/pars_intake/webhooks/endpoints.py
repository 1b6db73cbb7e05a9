"""A provider's webhook endpoints, as the API and the portal manage them: registering one (its
secret shown once), rotating its secret (the new one shown once)."""

from __future__ import annotations

import secrets
from typing import Any

import asyncpg

from ..settings import IntakeSettings
from ..store import webhooks as store
from . import signing
from .addresses import check_url
from .enqueue import EVENT_TYPE

MAX_ENDPOINTS = 20  # per provider
MAX_EVENT_TYPES = 20
TOO_MANY = f"The provider already has {MAX_ENDPOINTS} webhook endpoints: delete one first."
NOT_FOUND = "Webhook endpoint not found."
DELIVERY_NOT_FOUND = "Webhook delivery not found."
ENABLE_FIRST = "The endpoint is disabled: enable it first, then resend."


class TooManyEndpoints(Exception):
    pass


def new_endpoint_id() -> str:
    return "we_" + secrets.token_hex(8)


def check_events(events: list[str] | None) -> list[str]:
    """The event types an endpoint takes (empty: all of them); ValueError if one is not a type."""
    chosen = list(dict.fromkeys(e.strip() for e in events or [] if e.strip()))
    if len(chosen) > MAX_EVENT_TYPES:
        raise ValueError(f"At most {MAX_EVENT_TYPES} event types.")
    for event in chosen:
        if not EVENT_TYPE.fullmatch(event):
            raise ValueError(f"Not an event type: {event[:100]!r} (letters, digits, '_', '.', ':', '-').")
    return chosen


async def create(pool: asyncpg.Pool, config: IntakeSettings, provider_id: str, url: str, description: str,
                 events: list[str] | None) -> dict[str, Any]:
    """The new endpoint with its `secret` (shown this once). ValueError (RefusedAddress for the URL)
    with a message for the provider when the URL or an event type cannot be taken; TooManyEndpoints
    beyond MAX_ENDPOINTS."""
    checked = check_url(url, config.pars_demo_mode)
    chosen = check_events(events)
    secret = signing.new_secret()
    created = await store.add_endpoint(pool, provider_id=provider_id, endpoint_id=new_endpoint_id(), url=checked,
                                       description=description.strip()[:200], events=chosen, secret=secret,
                                       max_endpoints=MAX_ENDPOINTS)
    if created is None:
        raise TooManyEndpoints(TOO_MANY)
    return {**created, "secret": secret}


async def rotate(pool: asyncpg.Pool, config: IntakeSettings, provider_id: str, endpoint_id: str) -> dict[str, Any] | None:
    """The endpoint with its new `secret` (shown this once), or None if it is not the provider's."""
    secret = signing.new_secret()
    rotated = await store.rotate_secret(pool, provider_id, endpoint_id, secret, config.webhook_secret_grace_seconds)
    return None if rotated is None else {**rotated, "secret": secret}

