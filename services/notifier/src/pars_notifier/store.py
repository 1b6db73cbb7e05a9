"""The notifier's tables: providers' recipients and e-mails with their send state."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import orjson

from pars_contracts.events import ProviderRegistered

from .compose import Draft


async def save_provider(conn: asyncpg.Connection, p: ProviderRegistered) -> None:
    await conn.execute(
        "INSERT INTO providers (provider_id, name, notification_emails) VALUES ($1, $2, $3) "
        "ON CONFLICT (provider_id) DO UPDATE SET name = EXCLUDED.name, notification_emails = EXCLUDED.notification_emails",
        p.provider_id, p.name, orjson.dumps(p.notification_emails).decode())


async def queue(conn: asyncpg.Connection, d: Draft) -> None:
    """Queue an e-mail once: the notification key makes a redelivered event a no-op."""
    await conn.execute(
        "INSERT INTO emails (notification_key, kind, provider_id, extra_recipients, subject, body_text, body_html, "
        "attachment_name, attachment) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
        d.key, d.kind, d.provider_id, orjson.dumps(d.extra_recipients).decode(), d.subject, d.text, d.html,
        d.attachment_name, d.attachment)


async def claim_due(conn: asyncpg.Connection, now: datetime, limit: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT e.*, coalesce(p.notification_emails, '[]'::jsonb) AS provider_emails "
        "FROM emails e LEFT JOIN providers p USING (provider_id) "
        "WHERE e.status = 'pending' AND e.next_attempt_at <= $1 ORDER BY e.next_attempt_at LIMIT $2 "
        "FOR UPDATE OF e SKIP LOCKED", now, limit)


async def mark_sent(conn: asyncpg.Connection, key: str, recipients: list[str], now: datetime) -> None:
    await conn.execute(
        "UPDATE emails SET status = 'sent', sent_at = $3, recipients = $2, attempts = attempts + 1 "
        "WHERE notification_key = $1", key, orjson.dumps(recipients).decode(), now)


async def mark_failed(conn: asyncpg.Connection, key: str, error: str, retry_at: datetime, give_up_status: str | None = None) -> None:
    await conn.execute(
        "UPDATE emails SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3, "
        "status = coalesce($4, status) WHERE notification_key = $1", key, error[:1000], retry_at, give_up_status)


async def counts(conn: asyncpg.Connection) -> dict[str, int]:
    rows = await conn.fetch("SELECT status, count(*) AS n FROM emails GROUP BY status")
    return {r["status"]: r["n"] for r in rows}
