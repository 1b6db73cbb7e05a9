"""The notifier's tables: providers' recipients and e-mails with their send state (002_send_state.sql).

Queue times are the database's real time (now()), not the system's shifted clock: retries
and backoff are about the SMTP server, which lives in real time.

`PostgresEmailQueue` is the handlers' repository (repositories.py) on one batch's connection."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import orjson

from pars_contracts.events import ProviderRegistered, UploadErrorReportPart

from .compose import Draft


async def save_provider(conn: asyncpg.Connection, p: ProviderRegistered) -> None:
    await conn.execute(
        "INSERT INTO providers (provider_id, name, notification_emails) VALUES ($1, $2, $3) "
        "ON CONFLICT (provider_id) DO UPDATE SET name = EXCLUDED.name, notification_emails = EXCLUDED.notification_emails",
        p.provider_id, p.name, orjson.dumps(p.notification_emails).decode())
    # New recipients: the e-mails that had none are tried again.
    await conn.execute("UPDATE emails SET status = 'pending', next_attempt_at = now() "
                       "WHERE provider_id = $1 AND status = 'no_recipient'", p.provider_id)


async def queue(conn: asyncpg.Connection, d: Draft, message_id: str, correlation_id: str | None = None) -> bool:
    """Queue an e-mail once: its key makes a redelivered or repeated event a no-op."""
    status = await conn.execute(
        "INSERT INTO emails (notification_key, kind, provider_id, extra_recipients, subject, body_text, body_html, "
        "attachment_name, attachment, message_id, correlation_id, fallback_recipients) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING",
        d.key, d.kind, d.provider_id, orjson.dumps(d.extra_recipients).decode(), d.subject, d.text, d.html,
        d.attachment_name, d.attachment, message_id, correlation_id, orjson.dumps(list(d.fallback_recipients)).decode())
    return status.endswith(" 1")


async def due_keys(conn: asyncpg.Connection, limit: int) -> list[str]:
    rows = await conn.fetch("SELECT notification_key FROM emails WHERE status IN ('pending', 'sending') "
                            "AND next_attempt_at <= now() ORDER BY next_attempt_at LIMIT $1", limit)
    return [r["notification_key"] for r in rows]


# A session-level advisory lock per e-mail, held by its sender for the whole attempt: PostgreSQL
# releases it when the sender's session ends, so a lock we can take means no live sender has it.
_LOCK = "hashtextextended(current_schema() || ':' || $1, 0)"


async def try_lock(conn: asyncpg.Connection, key: str) -> bool:
    return bool(await conn.fetchval(f"SELECT pg_try_advisory_lock({_LOCK})", key))


async def unlock(conn: asyncpg.Connection, key: str) -> None:
    await conn.fetchval(f"SELECT pg_advisory_unlock({_LOCK})", key)


async def due(conn: asyncpg.Connection, key: str) -> asyncpg.Record | None:
    """The e-mail, with its provider's recipients, if it is still due (read under its lock)."""
    return await conn.fetchrow(
        "SELECT e.*, p.provider_id IS NOT NULL AS provider_known, "
        "coalesce(p.notification_emails, '[]'::jsonb) AS provider_emails "
        "FROM emails e LEFT JOIN providers p USING (provider_id) "
        "WHERE e.notification_key = $1 AND e.status IN ('pending', 'sending') AND e.next_attempt_at <= now()", key)


async def mark_sending(conn: asyncpg.Connection, key: str) -> None:
    await conn.execute("UPDATE emails SET status = 'sending', sending_at = now(), attempts = attempts + 1 "
                       "WHERE notification_key = $1", key)


async def mark_sent(conn: asyncpg.Connection, key: str, recipients: list[str] | None, confirmed: bool,
                    note: str | None = None) -> None:
    await conn.execute(
        "UPDATE emails SET status = 'sent', sent_at = coalesce(sending_at, now()), recipients = coalesce($2, recipients), "
        "confirmed = $3, last_error = coalesce($4, last_error) WHERE notification_key = $1",
        key, orjson.dumps(recipients).decode() if recipients is not None else None, confirmed, note)


async def mark_retry(conn: asyncpg.Connection, key: str, error: str, wait: timedelta) -> None:
    """Back to pending, to be tried again after `wait` (an attempt that got to `sending` is counted)."""
    await conn.execute(
        "UPDATE emails SET attempts = attempts + (status <> 'sending')::int, status = 'pending', sending_at = NULL, "
        "last_error = $2, next_attempt_at = now() + $3 WHERE notification_key = $1", key, error[:1000], wait)


async def mark_no_recipient(conn: asyncpg.Connection, key: str, error: str) -> None:
    await conn.execute("UPDATE emails SET status = 'no_recipient', attempts = attempts + 1, last_error = $2 "
                       "WHERE notification_key = $1", key, error)


async def counts(conn: asyncpg.Connection | asyncpg.Pool) -> dict[str, int]:
    rows = await conn.fetch("SELECT status, count(*) AS n FROM emails GROUP BY status")
    return {r["status"]: r["n"] for r in rows}


async def recent(conn: asyncpg.Connection | asyncpg.Pool, limit: int, status: str | None,
                 provider_id: str | None) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT notification_key, kind, provider_id, subject, message_id, status, attempts, last_error, confirmed, "
        "created_at, next_attempt_at, sent_at, jsonb_array_length(coalesce(recipients, '[]'::jsonb)) AS recipients "
        "FROM emails WHERE ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR provider_id = $3) "
        "ORDER BY created_at DESC LIMIT $1", limit, status, provider_id)


async def save_report_part(conn: asyncpg.Connection, p: UploadErrorReportPart) -> None:
    await conn.execute(
        "INSERT INTO upload_report_parts (upload_id, part, parts, tsv) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT DO NOTHING", p.upload_id, p.part, p.parts, p.tsv)


async def upload_report(conn: asyncpg.Connection, upload_id: str, parts: int) -> str | None:
    """The error report joined from its parts, or None while one is missing."""
    rows = await conn.fetch("SELECT tsv FROM upload_report_parts WHERE upload_id = $1 AND part <= $2 ORDER BY part",
                            upload_id, parts)
    return "".join(r["tsv"] for r in rows) if len(rows) == parts else None


async def drop_report(conn: asyncpg.Connection, upload_id: str) -> None:
    await conn.execute("DELETE FROM upload_report_parts WHERE upload_id = $1", upload_id)


class PostgresEmailQueue:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def save_provider(self, provider: ProviderRegistered) -> None:
        await save_provider(self.conn, provider)

    async def queue(self, draft: Draft, message_id: str, correlation_id: str | None) -> bool:
        return await queue(self.conn, draft, message_id, correlation_id)

    async def save_report_part(self, part: UploadErrorReportPart) -> None:
        await save_report_part(self.conn, part)

    async def upload_report(self, upload_id: str, parts: int) -> str | None:
        return await upload_report(self.conn, upload_id, parts)

    async def drop_report(self, upload_id: str) -> None:
        await drop_report(self.conn, upload_id)
