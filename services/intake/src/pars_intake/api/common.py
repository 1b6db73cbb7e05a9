"""Small pieces the routes share: access to the runtime, the documented error answers, paging
and CSV exports. The queries themselves are in `pars_intake.store`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

import asyncpg
from fastapi import HTTPException, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel

from pars_runtime.service import Runtime

from ..domain.reports import to_csv
from ..settings import IntakeSettings
from ..store.outbox import put_event
from ..store.values import central_date, like
from .models import ErrorOut

__all__ = ["central_date", "like"]  # the store's, used by the routes and their tests
T = TypeVar("T")

_ERROR_TEXT = {
    400: "The request cannot be read (e.g. a body that is not text, or a NUL in the URL).",
    401: "No API key, or one that is not valid.",
    403: "Needs the admin token.",
    404: "Not found, or not the caller's provider's (the two are not told apart).",
    409: "Conflicts with the current state.",
    413: "The body is larger than the limit, or holds more than 2,500 records.",
    415: "Send `application/json` or `application/xml`.",
    422: "The request is not valid: `problems` says where and why.",
    429: "Too many requests from this provider: wait the `Retry-After` seconds.",
    503: "A dependency is unavailable; nothing was stored. Try again.",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` entries of these error answers, all shaped as ErrorOut."""
    return {code: {"model": ErrorOut, "description": _ERROR_TEXT[code]} for code in codes}


PROVIDER_ERRORS = errors(400, 401, 422, 429, 503)
IdPath = Annotated[str, Path(max_length=100)]
Text = Annotated[str | None, Query(max_length=200)]
Page = Annotated[int, Query(ge=1, le=100000)]
PageSize = Annotated[int, Query(ge=1, le=1000)]
Wait = Annotated[float, Query(ge=0, le=30, description="Seconds (at most 30) to wait for every row's first outcome.")]
WAITED: dict[int | str, dict[str, Any]] = {
    200: {"description": "With `?wait=`: every row has its first outcome (its `status`, or its `errors`)."}}
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with `format=csv`."}}


def rt(request: Request) -> Runtime:
    return request.app.state.rt


def settings(request: Request) -> IntakeSettings:
    return request.app.state.settings


async def publish(conn: asyncpg.Connection, request: Request, topic: str, key: str, event: BaseModel,
                  correlation_id: str, provider_id: str | None = None) -> None:
    """Write an event to the outbox in the caller's transaction."""
    await put_event(conn, settings(request), topic, key, event, correlation_id, provider_id)


# What every JSON and CSV answer of the API carries (PII must not sit in shared caches; a browser
# must not guess a type other than the one declared). The app adds them to every /v1 answer.
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
MAX_EXPORT = 100_000  # rows in one CSV export
EXPORT_CHUNK = 500
EXPORTS_AT_ONCE = 3  # per process: each holds a database connection while it streams
_exports = asyncio.Semaphore(EXPORTS_AT_ONCE)


def csv_response(header: list[str], rows: list[list[Any]], file_name: str) -> Response:
    return Response(to_csv(header, [[("" if v is None else str(v)) for v in r] for r in rows]),
                    media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{file_name}"', **NO_STORE})


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


def paged(items_name: str, rows: list[Any], total: int, page: int, page_size: int) -> dict[str, Any]:
    return {"total": total, "page": page, "page_size": page_size, items_name: rows}


async def wait_for_outcomes(request: Request, submission_id: str, seconds: float) -> bool:
    """`?wait=`: the process's one poller checks every waiting submission together (waiters.py)."""
    return await request.app.state.waiters.wait(rt(request).pool, submission_id, seconds)


RECORD_CSV_HEADER = ["ACCME Activity ID", "Activity Title", "Board", "First Name", "Last Name", "Learner ID",
                     "Learner ID Type", "NPI", "DOB", "Date Completed", "Date Submitted", "Credits", "Credit Types",
                     "Status", "Error", "How to Resolve"]


def record_csv_row(i: dict[str, Any]) -> list[Any]:
    return [i["activity_id"], i["activity_title"], i["board"], i["first_name"], i["last_name"], i["learner_id"],
            i["learner_id_type"], i["npi"], i["date_of_birth"], i["completion_date"], i["date_submitted"],
            i["credits"], "; ".join(i["credit_types"]), i["status"],
            "; ".join(f"{e['code']}: {e['message']}" for e in i["errors"]),
            " | ".join(e.get("resolution") or "" for e in i["errors"])]
