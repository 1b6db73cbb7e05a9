"""A provider's API keys, created and revoked from the API or the portal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from ..auth import hash_key, new_api_key, new_key_id
from ..store import providers as store

MAX_KEYS = 50  # active keys a provider may hold
TOO_MANY_KEYS = f"The provider already holds {MAX_KEYS} API keys: revoke one first."
KEY_NOT_FOUND = "API key not found."


async def create_key(pool: asyncpg.Pool, *, provider_id: str, user_id: str, email: str, current_key_id: str | None,
                     label: str, kind: str = "portal", sandbox: bool = False, role: str = "submit",
                     expires_at: datetime | None = None) -> dict[str, Any] | None:
    """The new key's row with the key itself (`api_key`, shown once, stored only as its hash),
    minted by `current_key_id` (the caller's key, or the key its portal session was opened with):
    revoking that key revokes this one. None when the provider already holds MAX_KEYS."""
    api_key = new_api_key(kind, sandbox)
    created = await store.add_api_key(
        pool, key_id=new_key_id(), user_id=user_id, provider_id=provider_id, user_email=email, label=label,
        key_hash=hash_key(api_key), kind=kind, sandbox=sandbox, max_keys=MAX_KEYS, current_key_id=current_key_id,
        role=role, expires_at=expires_at)
    return None if created is None else {**created, "api_key": api_key}
