"""Webhook endpoints, their deliveries and each attempt (migration 015): what the API, the portal,
`enqueue` and the delivery worker read and write. Every statement is scoped to the provider, but
the worker's, which work across providers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import orjson

_ENDPOINT_COLUMNS = "endpoint_id, url, description, events, enabled, disabled_reason, created_at, updated_at"


def endpoint_view(r: asyncpg.Record | dict[str, Any]) -> dict[str, Any]:
    """An endpoint as the API answers it: never its secret."""
    return {"id": r["endpoint_id"], "url": r["url"], "description": r["description"], "events": list(r["events"]),
            "enabled": r["enabled"], "disabled_reason": r["disabled_reason"],
            "created_at": r["created_at"].isoformat(), "updated_at": r["updated_at"].isoformat()}


async def add_endpoint(pool: asyncpg.Pool, *, provider_id: str, endpoint_id: str, url: str, description: str,
                       events: list[str], secret: str, max_endpoints: int) -> dict[str, Any] | None:
    """The new endpoint, or None when the provider already holds `max_endpoints`."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('webhook_endpoints:' || $1))", provider_id)
        held = await conn.fetchval("SELECT count(*) FROM webhook_endpoints WHERE provider_id = $1", provider_id)
        if held >= max_endpoints:
            return None
        row = await conn.fetchrow(
            "INSERT INTO webhook_endpoints (endpoint_id, provider_id, url, description, events, secret) "
            f"VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_ENDPOINT_COLUMNS}",
            endpoint_id, provider_id, url, description, events, secret)
    return endpoint_view(row)


async def endpoints(conn: asyncpg.Connection | asyncpg.Pool, provider_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE provider_id = $1 "
                            "ORDER BY created_at, endpoint_id", provider_id)
    return [endpoint_view(r) for r in rows]


async def endpoint(conn: asyncpg.Connection | asyncpg.Pool, provider_id: str, endpoint_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow(f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoints "
                              "WHERE provider_id = $1 AND endpoint_id = $2", provider_id, endpoint_id)
    return endpoint_view(row) if row else None


async def set_enabled(pool: asyncpg.Pool, provider_id: str, endpoint_id: str, enabled: bool) -> dict[str, Any] | None:
    """Enables or disables an endpoint. Enabling starts its waiting deliveries' retries afresh
    (now, with a new retry window), as a provider who fixed its receiver expects."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "UPDATE webhook_endpoints SET enabled = $3, updated_at = now(), "
            "disabled_reason = CASE WHEN $3 THEN NULL ELSE 'Disabled by the provider.' END "
            f"WHERE provider_id = $1 AND endpoint_id = $2 RETURNING {_ENDPOINT_COLUMNS}",
            provider_id, endpoint_id, enabled)
        if row is not None and enabled:
            await conn.execute("UPDATE webhook_deliveries SET tries = 0, first_attempt_at = NULL, next_attempt_at = now() "
                               "WHERE endpoint_id = $1 AND status = 'pending'", endpoint_id)
    return endpoint_view(row) if row else None


async def rotate_secret(pool: asyncpg.Pool, provider_id: str, endpoint_id: str, secret: str,
                        grace_seconds: float) -> dict[str, Any] | None:
    """A new secret; deliveries are signed with the old one too for `grace_seconds`."""
    row = await pool.fetchrow(
        "UPDATE webhook_endpoints SET previous_secret = secret, secret = $3, updated_at = now(), "
        "previous_until = now() + make_interval(secs => $4) "
        f"WHERE provider_id = $1 AND endpoint_id = $2 RETURNING {_ENDPOINT_COLUMNS}",
        provider_id, endpoint_id, secret, grace_seconds)
    return endpoint_view(row) if row else None


async def delete_endpoint(pool: asyncpg.Pool, provider_id: str, endpoint_id: str) -> bool:
    """Deletes the endpoint with its deliveries (they would never be sent)."""
    return await pool.fetchval("DELETE FROM webhook_endpoints WHERE provider_id = $1 AND endpoint_id = $2 "
                               "RETURNING true", provider_id, endpoint_id) is not None


# --- deliveries -----------------------------------------------------------------------------------

async def enabled_endpoints(conn: asyncpg.Connection, provider_ids: list[str]) -> dict[str, list[tuple[str, list[str]]]]:
    """The providers' enabled endpoints: provider id -> [(endpoint id, the event types it takes
    (an empty list: every type))], in endpoint id order."""
    found: dict[str, list[tuple[str, list[str]]]] = {}
    for r in await conn.fetch("SELECT provider_id, endpoint_id, events FROM webhook_endpoints "
                              "WHERE provider_id = ANY($1::text[]) AND enabled ORDER BY endpoint_id", provider_ids):
        found.setdefault(r["provider_id"], []).append((r["endpoint_id"], list(r["events"])))
    return found


async def add_deliveries(conn: asyncpg.Connection, rows: list[tuple[str, str, str, str, str, str]]) -> None:
    """(delivery_id, endpoint_id, provider_id, event_type, event_id, body); an event already queued
    for an endpoint (the caller's redelivered message) is not queued twice."""
    await conn.executemany(
        "INSERT INTO webhook_deliveries (delivery_id, endpoint_id, provider_id, event_type, event_id, body) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (endpoint_id, event_id) DO NOTHING", rows)


async def claim_due(pool: asyncpg.Pool, limit: int, lease_seconds: float) -> list[dict[str, Any]]:
    """Up to `limit` due deliveries of enabled endpoints, taken for one attempt each. Instances
    skip each other's rows (SKIP LOCKED), and a taken row is not due again for `lease_seconds`:
    if this instance dies during the attempt, another tries it then, with the same webhook-id."""
    rows = await pool.fetch(
        "WITH due AS (SELECT d.delivery_id FROM webhook_deliveries d JOIN webhook_endpoints e USING (endpoint_id) "
        "  WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND e.enabled "
        "  ORDER BY d.next_attempt_at LIMIT $1 FOR UPDATE OF d SKIP LOCKED) "
        "UPDATE webhook_deliveries d SET attempts = d.attempts + 1, tries = d.tries + 1, "
        "  first_attempt_at = coalesce(d.first_attempt_at, now()), next_attempt_at = now() + make_interval(secs => $2) "
        "FROM due, webhook_endpoints e WHERE d.delivery_id = due.delivery_id AND e.endpoint_id = d.endpoint_id "
        "RETURNING d.delivery_id, d.endpoint_id, d.provider_id, d.event_type, d.body, d.attempts, d.tries, e.url, e.secret, "
        "  CASE WHEN e.previous_until > now() THEN e.previous_secret END AS previous_secret, "
        "  extract(epoch FROM now() - d.first_attempt_at)::float8 AS elapsed", limit, lease_seconds)
    return [dict(r) for r in rows]


async def record_attempt(conn: asyncpg.Connection, delivery_id: str, attempt: int, status_code: int | None,
                         excerpt: str, error: str | None) -> bool:
    """Notes an attempt's answer; False when the delivery was taken again meanwhile (the lease ran
    out) or deleted: then this attempt's result is not the delivery's."""
    current = await conn.fetchval("SELECT attempts FROM webhook_deliveries WHERE delivery_id = $1 "
                                  "AND status = 'pending' FOR UPDATE", delivery_id)
    if current != attempt:
        return False
    await conn.execute("INSERT INTO webhook_attempts (delivery_id, attempt, status_code, response_excerpt, error) "
                       "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                       delivery_id, attempt, status_code, excerpt, error)
    return True


async def mark_delivered(conn: asyncpg.Connection, delivery_id: str, status_code: int) -> None:
    await conn.execute("UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now(), last_status = $2, "
                       "last_error = NULL WHERE delivery_id = $1", delivery_id, status_code)


async def mark_retry(conn: asyncpg.Connection, delivery_id: str, status_code: int | None, error: str | None,
                     delay_seconds: float) -> None:
    await conn.execute("UPDATE webhook_deliveries SET next_attempt_at = now() + make_interval(secs => $4), "
                       "last_status = $2, last_error = $3 WHERE delivery_id = $1",
                       delivery_id, status_code, error, delay_seconds)


async def mark_failed(conn: asyncpg.Connection, delivery_id: str, status_code: int | None,
                      error: str | None) -> dict[str, Any] | None:
    """The delivery has run out of retries: it failed, and its endpoint is disabled. Returns the
    endpoint (with its provider) if this disabled it, None if it was disabled already."""
    endpoint_id = await conn.fetchval(
        "UPDATE webhook_deliveries SET status = 'failed', last_status = $2, last_error = $3 "
        "WHERE delivery_id = $1 RETURNING endpoint_id", delivery_id, status_code, error)
    row = await conn.fetchrow(
        "UPDATE webhook_endpoints SET enabled = false, updated_at = now(), "
        "disabled_reason = 'Deliveries kept failing for the whole retry window.' "
        f"WHERE endpoint_id = $1 AND enabled RETURNING provider_id, {_ENDPOINT_COLUMNS}", endpoint_id)
    return {**endpoint_view(row), "provider_id": row["provider_id"]} if row else None


async def recent_deliveries(conn: asyncpg.Connection | asyncpg.Pool, provider_id: str, endpoint_id: str,
                            limit: int = 50) -> list[dict[str, Any]]:
    """The endpoint's latest deliveries, newest first, each with its attempts."""
    rows = await conn.fetch(
        "SELECT d.delivery_id, d.event_type, d.event_id, d.status, d.attempts, d.last_status, d.last_error, "
        "d.created_at, d.delivered_at, d.next_attempt_at, coalesce(jsonb_agg(jsonb_build_object("
        "  'attempt', a.attempt, 'attempted_at', a.attempted_at, 'status_code', a.status_code, "
        "  'response_excerpt', a.response_excerpt, 'error', a.error) ORDER BY a.attempt) "
        "  FILTER (WHERE a.attempt IS NOT NULL), '[]') AS attempt_list "
        "FROM webhook_deliveries d LEFT JOIN webhook_attempts a USING (delivery_id) "
        "WHERE d.provider_id = $1 AND d.endpoint_id = $2 GROUP BY d.delivery_id "
        "ORDER BY d.created_at DESC, d.delivery_id LIMIT $3", provider_id, endpoint_id, limit)
    return [_delivery_view(r) for r in rows]


def _delivery_view(r: asyncpg.Record) -> dict[str, Any]:
    def moment(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {"id": r["delivery_id"], "event_type": r["event_type"], "event_id": r["event_id"], "status": r["status"],
            "attempts": orjson.loads(r["attempt_list"]), "last_status": r["last_status"], "last_error": r["last_error"],
            "created_at": moment(r["created_at"]), "delivered_at": moment(r["delivered_at"]),
            "next_attempt_at": moment(r["next_attempt_at"]) if r["status"] == "pending" else None}


async def resend(pool: asyncpg.Pool, provider_id: str, endpoint_id: str, delivery_id: str) -> bool:
    """Queues a delivery again, now, with a new retry window and the same webhook-id."""
    return await pool.fetchval(
        "UPDATE webhook_deliveries SET status = 'pending', tries = 0, first_attempt_at = NULL, "
        "next_attempt_at = now(), delivered_at = NULL "
        "WHERE provider_id = $1 AND endpoint_id = $2 AND delivery_id = $3 RETURNING true",
        provider_id, endpoint_id, delivery_id) is not None
