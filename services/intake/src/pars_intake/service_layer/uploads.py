"""Upload History: a provider's uploads of the last HISTORY_DAYS days (also how far back a file
counts as uploaded before, for duplicate detection)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg

from ..store import uploads as store

HISTORY_DAYS = 30


async def recent_history(pool: asyncpg.Pool, provider_id: str, now: datetime) -> list[dict[str, Any]]:
    return await store.upload_history(pool, provider_id, now - timedelta(days=HISTORY_DAYS))
