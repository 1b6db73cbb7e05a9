"""CSV exports of the API and the portal, streamed from the store's server-side cursors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import asyncpg
from fastapi import HTTPException, Request
from fastapi.responses import StreamingResponse

from ..app_state import rt
from ..domain.reports import to_csv

T = TypeVar("T")
# What every JSON and CSV answer of the API carries (PII must not sit in shared caches; a browser
# must not guess a type other than the one declared). The app adds them to every /v1 answer.
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
MAX_EXPORT = 100_000  # rows in one CSV export
EXPORT_CHUNK = 500
EXPORTS_AT_ONCE = 3  # per process: each holds a database connection while it streams
_exports = asyncio.Semaphore(EXPORTS_AT_ONCE)


def stream_csv(request: Request, rows: Callable[[asyncpg.Connection, int], AsyncIterator[T]], header: list[str],
               row_of: Callable[[T], list[Any]], file_name: str) -> StreamingResponse:
    """A CSV export streamed from a server-side cursor, EXPORT_CHUNK rows at a time: memory stays
    small however many rows match (at most MAX_EXPORT: `rows(conn, prefetch)` is one of the
    store's exports, which reads in a READ ONLY transaction held here). At most
    EXPORTS_AT_ONCE stream at a time in a process; another gets 429 with Retry-After."""
    if _exports.locked():
        raise HTTPException(429, "Too many exports are running: try again in a few seconds.",
                            headers={"Retry-After": "5"})
    pool = rt(request).pool
    head = to_csv(header, [])

    async def body() -> AsyncIterator[bytes]:
        async with _exports, pool.acquire() as conn, conn.transaction(readonly=True):
            yield head.encode()
            chunk: list[list[str]] = []
            async for record in rows(conn, EXPORT_CHUNK):
                chunk.append([("" if v is None else str(v)) for v in row_of(record)])
                if len(chunk) >= EXPORT_CHUNK:
                    yield to_csv(header, chunk)[len(head):].encode()
                    chunk = []
            if chunk:
                yield to_csv(header, chunk)[len(head):].encode()

    return StreamingResponse(body(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{file_name}"', **NO_STORE})


RECORD_CSV_HEADER = ["ACCME Activity ID", "Activity Title", "Board", "First Name", "Last Name", "Learner ID",
                     "Learner ID Type", "NPI", "DOB", "Date Completed", "Date Submitted", "Credits", "Credit Types",
                     "Status", "Error", "How to Resolve"]


def record_csv_row(i: dict[str, Any]) -> list[Any]:
    return [i["activity_id"], i["activity_title"], i["board"], i["first_name"], i["last_name"], i["learner_id"],
            i["learner_id_type"], i["npi"], i["date_of_birth"], i["completion_date"], i["date_submitted"],
            i["credits"], "; ".join(i["credit_types"]), i["status"],
            "; ".join(f"{e['code']}: {e['message']}" for e in i["errors"]),
            " | ".join(e.get("resolution") or "" for e in i["errors"])]
