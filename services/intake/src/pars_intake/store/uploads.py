"""Batch uploads: one processing upload per provider, duplicates within a window, the counts
of rows with their first outcome and the completion, the error report's rows, the upload
history with what became of each upload's rows."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg
import orjson

from pars_contracts.codes import ErrorDetail
from pars_runtime.clock import CENTRAL


async def processing_file(conn: asyncpg.Connection | asyncpg.Pool, provider_id: str) -> str | None:
    """The file name of the provider's upload still processing, or None."""
    return await conn.fetchval("SELECT file_name FROM uploads WHERE provider_id = $1 AND status = 'processing'",
                               provider_id)


async def lock_provider_uploads(conn: asyncpg.Connection, provider_id: str) -> None:
    """Serializes the provider's new uploads until the transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"upload:{provider_id}")


async def earlier_upload(conn: asyncpg.Connection, provider_id: str, digest: str,
                         since: datetime) -> dict[str, Any] | None:
    """The provider's latest upload of the same rows since `since` (`file_name`, `created_at`), or None."""
    row = await conn.fetchrow(
        "SELECT file_name, created_at FROM uploads WHERE provider_id = $1 AND sha256 = $2 AND created_at > $3 "
        "ORDER BY created_at DESC LIMIT 1", provider_id, digest, since)
    return None if row is None else dict(row)


async def insert_upload(conn: asyncpg.Connection, *, upload_id: str, provider_id: str, user_email: str,
                        file_name: str, file_format: str, digest: str, records: int, created_at: datetime) -> bool:
    """Stores a new (processing) upload; False when another upload of the provider is processing."""
    try:
        await conn.execute(
            "INSERT INTO uploads (upload_id, provider_id, user_email, file_name, file_format, sha256, records, created_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            upload_id, provider_id, user_email, file_name, file_format, digest, records, created_at)
    except asyncpg.UniqueViolationError:
        return False
    return True


async def lock_upload(conn: asyncpg.Connection, upload_id: str) -> None:
    """Holds the upload's row until the transaction ends (its counts change one writer at a time)."""
    await conn.execute("SELECT 1 FROM uploads WHERE upload_id = $1 FOR UPDATE", upload_id)


async def add_to_counts(conn: asyncpg.Connection, upload_id: str, done: int, processed: int) -> asyncpg.Record | None:
    """Adds rows that got their first outcome (`done`, `processed` of them) to the upload's
    counts; returns the upload as it is now, or None (no such upload)."""
    return await conn.fetchrow(
        "UPDATE uploads SET done = done + $2, processed = processed + $3, not_processed = not_processed + $2 - $3 "
        "WHERE upload_id = $1 RETURNING *", upload_id, done, processed)


async def mark_completed(conn: asyncpg.Connection, upload_id: str) -> asyncpg.Record | None:
    """Completes a processing upload; returns it, or None when it was not processing (already completed)."""
    return await conn.fetchrow(
        "UPDATE uploads SET status = 'completed', completed_at = now() WHERE upload_id = $1 AND status = 'processing' "
        "RETURNING *", upload_id)


async def error_report_rows(conn: asyncpg.Connection, upload_id: str,
                            ) -> list[tuple[list[str], list[ErrorDetail], date | None]]:
    """The upload's rows for its error report: those PARS or a direct board refused, and those a
    deferred board rejected later (with the US Central date of the board's decision)."""
    rows = await conn.fetch(
        "SELECT columns, errors, CASE WHEN outcome IN ('Invalid', 'Refused') THEN NULL ELSE rejected_at END "
        "AS rejected_at FROM records WHERE upload_id = $1 AND (outcome IN ('Invalid', 'Refused') "
        "OR status = 'Rejected') ORDER BY row_number", upload_id)
    return [(orjson.loads(r["columns"]), [ErrorDetail.model_validate(e) for e in orjson.loads(r["errors"])],
             r["rejected_at"].astimezone(CENTRAL).date() if r["rejected_at"] else None)
            for r in rows]


# What became of an upload's rows, now (seed: "Records Processed (View)"; "the number of
# participants added or deleted"): Adds processed, Deletes processed, and the added records'
# current statuses (a deferred board's later decisions included); `rejected` rows are in the error report.
_WITH_COUNTS = (
    "SELECT u.*, c.* FROM uploads u CROSS JOIN LATERAL ("
    " SELECT count(*) FILTER (WHERE r.outcome IN ('Submitted', 'Accepted')) AS added,"
    " count(*) FILTER (WHERE r.outcome = 'Deleted') AS deleted,"
    " count(*) FILTER (WHERE r.outcome IN ('Submitted', 'Accepted') AND r.status = 'Accepted') AS accepted,"
    " count(*) FILTER (WHERE r.outcome IN ('Submitted', 'Accepted') AND r.status = 'Rejected') AS rejected,"
    " count(*) FILTER (WHERE r.outcome IN ('Submitted', 'Accepted') AND r.status = 'Submitted') AS still_submitted"
    " FROM records r WHERE r.upload_id = u.upload_id) c ")


def _upload_view(r: asyncpg.Record) -> dict[str, Any]:
    return {
        "upload_id": r["upload_id"], "file_name": r["file_name"], "format": r["file_format"], "status": r["status"],
        "uploaded_at": r["created_at"].isoformat(), "completed_at": r["completed_at"] and r["completed_at"].isoformat(),
        "records": r["records"], "processed": r["processed"], "not_processed": r["not_processed"],
        "added": r["added"], "deleted": r["deleted"], "accepted": r["accepted"], "rejected": r["rejected"],
        "still_submitted": r["still_submitted"],
        "progress": round(r["done"] / r["records"], 4) if r["records"] else 1.0,
    }


async def upload_history(conn: asyncpg.Connection | asyncpg.Pool, provider_id: str,
                         since: datetime) -> list[dict[str, Any]]:
    """The provider's uploads since `since`, newest first, with their counts and progress."""
    rows = await conn.fetch(_WITH_COUNTS + "WHERE u.provider_id = $1 AND u.created_at > $2 ORDER BY u.created_at DESC",
                            provider_id, since)
    return [_upload_view(r) for r in rows]


async def own_upload(conn: asyncpg.Connection | asyncpg.Pool, provider_id: str,
                     upload_id: str) -> dict[str, Any] | None:
    """One upload of the provider with its counts and progress, or None (unknown or another provider's)."""
    row = await conn.fetchrow(_WITH_COUNTS + "WHERE u.upload_id = $1 AND u.provider_id = $2", upload_id, provider_id)
    return None if row is None else _upload_view(row)


async def recent_uploads(conn: asyncpg.Connection | asyncpg.Pool, limit: int) -> list[dict[str, Any]]:
    """Every provider's latest uploads, newest first, as the operations dashboard lists them."""
    rows = await conn.fetch(
        "SELECT upload_id, provider_id, file_name, status, records, done, processed, not_processed, "
        "created_at, completed_at FROM uploads ORDER BY created_at DESC LIMIT $1", limit)
    return [{
        "upload_id": u["upload_id"], "provider_id": u["provider_id"], "file_name": u["file_name"],
        "status": u["status"], "records": u["records"], "done": u["done"], "processed": u["processed"],
        "not_processed": u["not_processed"], "uploaded_at": u["created_at"].isoformat(),
        "seconds": (u["completed_at"] - u["created_at"]).total_seconds() if u["completed_at"] else None,
    } for u in rows]
