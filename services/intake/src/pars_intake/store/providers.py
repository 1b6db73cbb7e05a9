"""Providers and who acts for them: users, their API keys and portal sessions (keys and session
ids arrive here already hashed), and the upstream credentials an admin created."""

from __future__ import annotations

import random
import uuid
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from pars_contracts import topics
from pars_contracts.events import ProviderRegistered
from pars_runtime.logs import get_logger
from pars_runtime.settings import ServiceSettings

from .outbox import put_event

log = get_logger(__name__)

# --- providers --------------------------------------------------------------------------------------


async def provider_exists(conn: asyncpg.Connection | asyncpg.Pool, provider_id: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM providers WHERE provider_id = $1", provider_id))


async def provider_ids(conn: asyncpg.Connection | asyncpg.Pool) -> list[str]:
    return [r["provider_id"] for r in await conn.fetch("SELECT provider_id FROM providers ORDER BY provider_id")]


async def is_rems_participant(conn: asyncpg.Connection | asyncpg.Pool, provider_id: str) -> bool:
    return bool(await conn.fetchval("SELECT rems_participant FROM providers WHERE provider_id = $1", provider_id))


def _provider_view(row: asyncpg.Record) -> dict[str, Any]:
    emails = orjson.loads(row["notification_emails"])
    return {"provider_id": row["provider_id"], "name": row["name"], "notification_emails": emails,
            "rems_participant": bool(row["rems_participant"]),
            "upstream_outcomes": bool(row["upstream_outcomes"]),
            "warning": None if emails else
            "No notification recipients: rejection e-mails go only to the users who submitted the rejected "
            "records, and rejections of records sent by upstream systems reach no one."}


_PROVIDER_COLUMNS = ("provider_id, name, notification_emails::text AS notification_emails, rems_participant, "
                     "upstream_outcomes")


async def provider_settings(conn: asyncpg.Connection | asyncpg.Pool, provider_id: str) -> dict[str, Any] | None:
    """The provider's name, notification recipients (with a warning when there are none), REMS
    participation and whether its upstream completions' outcomes are also UpstreamOutcomes; None
    when there is no such provider."""
    row = await conn.fetchrow(f"SELECT {_PROVIDER_COLUMNS} FROM providers WHERE provider_id = $1", provider_id)
    return None if row is None else _provider_view(row)


async def set_upstream_outcomes(pool: asyncpg.Pool, provider_id: str, enabled: bool) -> dict[str, Any] | None:
    """Turns the provider's UpstreamOutcome messages on or off; answers as `provider_settings`."""
    row = await pool.fetchrow(
        f"UPDATE providers SET upstream_outcomes = $2 WHERE provider_id = $1 RETURNING {_PROVIDER_COLUMNS}",
        provider_id, enabled)
    return None if row is None else _provider_view(row)


async def provider_banner(conn: asyncpg.Connection | asyncpg.Pool, provider_id: str) -> dict[str, Any] | None:
    """What every portal page shows of the provider: its `name` and how many `recipients` it has."""
    row = await conn.fetchrow("SELECT name, jsonb_array_length(notification_emails) AS recipients "
                              "FROM providers WHERE provider_id = $1", provider_id)
    return None if row is None else {"name": row["name"], "recipients": row["recipients"]}


async def set_notification_emails(pool: asyncpg.Pool, settings: ServiceSettings, provider_id: str,
                                  emails: list[str], user_email: str) -> dict[str, Any] | None:
    """Sets the provider's recipients (each address once, its first spelling kept) and publishes
    ProviderRegistered (the notifier keeps its copy from it), in one transaction; answers as
    `provider_settings`, None when there is no such provider."""
    unique = list({e.lower(): e for e in reversed(emails)}.values())[::-1]
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            f"UPDATE providers SET notification_emails = $2::jsonb WHERE provider_id = $1 RETURNING {_PROVIDER_COLUMNS}",
            provider_id, orjson.dumps(unique).decode())
        if row is None:
            return None
        await put_event(conn, settings, topics.PROVIDERS.name, provider_id,
                        ProviderRegistered(provider_id=provider_id, name=row["name"], notification_emails=unique),
                        correlation_id=f"provider:{provider_id}", provider_id=provider_id)
    log.info("notification recipients set", provider_id=provider_id, recipients=len(unique), user_email=user_email)
    return _provider_view(row)


async def insert_provider(conn: asyncpg.Connection, provider_id: str, name: str, notification_emails: list[str],
                          rems_participant: bool) -> bool:
    """A new provider; False when the id is taken."""
    try:
        await conn.execute("INSERT INTO providers (provider_id, name, notification_emails, rems_participant) "
                           "VALUES ($1, $2, $3, $4)",
                           provider_id, name, orjson.dumps(notification_emails).decode(), rems_participant)
    except asyncpg.UniqueViolationError:
        return False
    return True


async def free_provider_id(conn: asyncpg.Connection) -> str:
    """A random 7-digit provider id no provider has."""
    while True:
        candidate = f"{random.randint(1000000, 9999999)}"
        if not await provider_exists(conn, candidate):
            return candidate


async def set_rems_participant(conn: asyncpg.Connection | asyncpg.Pool, provider_id: str, participant: bool) -> bool:
    """False when there is no such provider."""
    return await conn.fetchval("UPDATE providers SET rems_participant = $2 WHERE provider_id = $1 "
                               "RETURNING provider_id", provider_id, participant) is not None


# --- users and API keys ---------------------------------------------------------------------------------

async def add_user(conn: asyncpg.Connection, provider_id: str, email: str, name: str | None, key_id: str,
                   key_hash: str) -> str:
    """A user of the provider with their first API key (labelled "First key"); returns the user id."""
    user_id = str(uuid.uuid4())
    await conn.execute("INSERT INTO users (user_id, provider_id, email, name) VALUES ($1, $2, $3, $4)",
                       user_id, provider_id, email, name)
    await conn.execute("INSERT INTO api_keys (key_id, user_id, provider_id, label, key_hash, role) "
                       "VALUES ($1, $2, $3, $4, $5, 'admin')", key_id, user_id, provider_id, "First key", key_hash)
    return user_id


# What a key may do: "admin" everything and the provider's keys, "submit" read and submit, "read"
# only read. Web-service credentials are "submit" (the web service only). The first key of a user
# (made by the admin API) is an admin key.
ROLES = ("admin", "submit", "read")


def key_view(r: dict[str, Any], current_key_id: str | None) -> dict[str, Any]:
    return {"key_id": r["key_id"], "label": r["label"], "kind": r["kind"], "sandbox": r["sandbox"],
            "role": r["role"], "user_email": r["email"],
            "created_at": r["created_at"].isoformat(),
            "expires_at": r["expires_at"].isoformat() if r["expires_at"] else None,
            "created_by_key": r["created_by_key"],
            "last_used_at": r["last_used_at"].isoformat() if r["last_used_at"] else None,
            "current": r["key_id"] == current_key_id}


async def api_keys(conn: asyncpg.Connection | asyncpg.Pool, provider_id: str,
                   current_key_id: str | None) -> list[dict[str, Any]]:
    """The provider's active keys (never the keys themselves), oldest first, expired ones too (until
    revoked); `current`: the caller's own."""
    rows = await conn.fetch(
        f"SELECT {_KEY_COLUMNS}, u.email FROM api_keys k "
        "JOIN users u USING (user_id) WHERE k.provider_id = $1 AND k.revoked_at IS NULL "
        "ORDER BY k.created_at, k.key_id", provider_id)
    return [key_view(dict(r), current_key_id) for r in rows]


_KEY_COLUMNS = ("k.key_id, k.label, k.kind, k.sandbox, k.role, k.created_at, k.expires_at, k.created_by_key, "
                "k.last_used_at")


async def add_api_key(pool: asyncpg.Pool, *, key_id: str, user_id: str, provider_id: str, user_email: str,
                      label: str, key_hash: str, kind: str, sandbox: bool, max_keys: int,
                      current_key_id: str | None, role: str = "submit",
                      expires_at: datetime | None = None) -> dict[str, Any] | None:
    """A new key of the user (as `api_keys` shows it), minted by `current_key_id` (revoking that
    key revokes this one); None when the provider already holds `max_keys` active keys."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('api_keys:' || $1))", provider_id)
        held = await conn.fetchval("SELECT count(*) FROM api_keys WHERE provider_id = $1 AND revoked_at IS NULL",
                                   provider_id)
        if held >= max_keys:
            return None
        row = await conn.fetchrow(
            "INSERT INTO api_keys AS k (key_id, user_id, provider_id, label, key_hash, kind, sandbox, role, expires_at, "
            f"created_by_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {_KEY_COLUMNS}",
            key_id, user_id, provider_id, label, key_hash, kind, sandbox, role, expires_at, current_key_id)
    log.info("api key created", provider_id=provider_id, user_id=user_id, key_id=key_id,
             kind=kind, sandbox=sandbox, role=role,
             expires_at=expires_at.isoformat() if expires_at else None, by_key=current_key_id)
    return key_view({**dict(row), "email": user_email}, current_key_id)


async def revoke_api_key(pool: asyncpg.Pool, provider_id: str, key_id: str, by_user: str, by_key: str | None) -> bool:
    """Revokes the provider's key, every key it minted (and theirs, down the line: a stolen key's
    offspring die with it), and ends every portal session opened with any of them, at once; False
    when the provider has no such active key."""
    async with pool.acquire() as conn, conn.transaction():
        revoked = await conn.fetch(
            "WITH RECURSIVE minted(key_id) AS ("
            "  SELECT key_id FROM api_keys WHERE key_id = $1 AND provider_id = $2 AND revoked_at IS NULL"
            "  UNION SELECT k.key_id FROM api_keys k JOIN minted m ON k.created_by_key = m.key_id"
            "  WHERE k.revoked_at IS NULL) "
            "UPDATE api_keys SET revoked_at = now() WHERE key_id IN (SELECT key_id FROM minted) RETURNING key_id",
            key_id, provider_id)
        if not revoked:
            return False
        ids = [r["key_id"] for r in revoked]
        await conn.execute("DELETE FROM portal_sessions WHERE key_id = ANY($1::text[])", ids)
    log.info("api key revoked", provider_id=provider_id, key_id=key_id, minted_keys_revoked=sorted(set(ids) - {key_id}),
             by_user=by_user, by_key=by_key)
    return True


KEY_USER_SELECT = (
    "SELECT k.key_hash, u.user_id, u.provider_id, u.email, k.key_id, k.kind, k.sandbox, k.role, "
    "coalesce(k.expires_at <= now(), false) AS expired, "
    "k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute' AS stale "
    "FROM api_keys k JOIN users u ON u.user_id = k.user_id WHERE k.revoked_at IS NULL AND ")
KEY_USER_FIELDS = ("user_id", "provider_id", "email", "key_id", "kind", "sandbox", "role", "expired")


async def key_user(pool: asyncpg.Pool, key_hash: str) -> dict[str, Any] | None:
    """The user of a not revoked key and the key's `key_id`, `kind`, `sandbox`, `role` and whether it
    has `expired`, or None. Notes when the key was last used, at most once a minute (a busy key does
    not write on every request), never for an expired one."""
    row = await pool.fetchrow(KEY_USER_SELECT + "k.key_hash = $1", key_hash)
    if row is None:
        return None
    if row["stale"] and not row["expired"]:
        await pool.execute("UPDATE api_keys SET last_used_at = now() WHERE key_id = $1", row["key_id"])
    return {k: row[k] for k in KEY_USER_FIELDS}


async def key_users(pool: asyncpg.Pool, key_hashes: list[str]) -> list[dict[str, Any] | None]:
    """`key_user` of each hash (repeats allowed), in order, in one statement (and one more when some
    keys' last use is to be noted)."""
    rows = {r["key_hash"]: r for r in await pool.fetch(KEY_USER_SELECT + "k.key_hash = ANY($1::text[])",
                                                       list(set(key_hashes)))}
    stale = [r["key_id"] for r in rows.values() if r["stale"] and not r["expired"]]
    if stale:
        await pool.execute("UPDATE api_keys SET last_used_at = now() WHERE key_id = ANY($1::text[])", stale)
    return [None if (row := rows.get(h)) is None else {k: row[k] for k in KEY_USER_FIELDS} for h in key_hashes]


# --- portal sessions --------------------------------------------------------------------------------------

async def session_user(pool: asyncpg.Pool, session_hash: str, idle_seconds: float) -> dict[str, Any] | None:
    """The user of a live portal session (`user_id`, `provider_id`, `email`, `key_id` and its `role`),
    or None: unknown, expired (idle or absolute), signed out, or its key revoked or expired. Moves
    the idle expiry on."""
    row = await pool.fetchrow(
        "UPDATE portal_sessions s SET last_seen_at = now() FROM users u, api_keys k "
        "WHERE s.session_hash = $1 AND s.expires_at > now() AND s.last_seen_at > now() - make_interval(secs => $2) "
        "AND u.user_id = s.user_id AND k.key_id = s.key_id AND k.revoked_at IS NULL AND k.kind = 'portal' "
        "AND (k.expires_at IS NULL OR k.expires_at > now()) "
        "RETURNING u.user_id, u.provider_id, u.email, k.key_id, k.role",
        session_hash, float(idle_seconds))
    return None if row is None else dict(row)


async def open_session(pool: asyncpg.Pool, session_hash: str, *, user_id: str, provider_id: str,
                       key_id: str | None, idle_seconds: float, max_seconds: float) -> None:
    """A new portal session ending `max_seconds` from now; ended ones are cleared on the way."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("DELETE FROM portal_sessions WHERE expires_at < now() OR "
                           "last_seen_at < now() - make_interval(secs => $1)", float(idle_seconds))
        await conn.execute(
            "INSERT INTO portal_sessions (session_hash, user_id, provider_id, key_id, expires_at) "
            "VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))", session_hash, user_id,
            provider_id, key_id, float(max_seconds))


async def close_session(pool: asyncpg.Pool, session_hash: str) -> None:
    await pool.execute("DELETE FROM portal_sessions WHERE session_hash = $1", session_hash)


# --- upstream credentials ----------------------------------------------------------------------------------

async def insert_upstream_credential(conn: asyncpg.Connection | asyncpg.Pool, credential_id: str,
                                     provider_ids: list[str], created_by: str) -> dict[str, Any]:
    row = await conn.fetchrow(
        "INSERT INTO upstream_credentials (credential_id, provider_ids, created_by) VALUES ($1, $2, $3) RETURNING *",
        credential_id, provider_ids, created_by)
    return dict(row)


async def upstream_credentials(conn: asyncpg.Connection | asyncpg.Pool) -> list[dict[str, Any]]:
    """Every upstream credential, revoked ones too, oldest first."""
    return [dict(r) for r in await conn.fetch("SELECT * FROM upstream_credentials ORDER BY created_at, credential_id")]


async def upstream_credential(conn: asyncpg.Connection | asyncpg.Pool, credential_id: str) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM upstream_credentials WHERE credential_id = $1", credential_id)
    return None if row is None else dict(row)


async def revoke_upstream_credential(conn: asyncpg.Connection | asyncpg.Pool, credential_id: str,
                                     revoked_by: str) -> dict[str, Any]:
    """Marks an existing credential revoked (the first revocation's time and admin are kept)."""
    return dict(await conn.fetchrow(
        "UPDATE upstream_credentials SET revoked_at = coalesce(revoked_at, now()), "
        "revoked_by = coalesce(revoked_by, $2) WHERE credential_id = $1 RETURNING *", credential_id, revoked_by))
