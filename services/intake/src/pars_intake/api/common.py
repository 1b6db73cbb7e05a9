"""Small pieces the API's routes share: the documented error answers, paging, the outbox, the
request's runtime and settings (`app_state`'s, which the portal reads too). The queries
themselves are in `pars_intake.store`; CSV exports in `service_layer.exports`."""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from fastapi import Path, Query, Request
from pydantic import BaseModel

from ..app_state import rt, settings
from ..store.outbox import put_event
from ..store.records import outcome_rows
from ..store.values import central_date, like
from .models import ErrorOut

# Used by the routes (and the store's by their tests) through this module.
__all__ = ["central_date", "like", "rt", "settings"]

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


async def publish(conn: asyncpg.Connection, request: Request, topic: str, key: str, event: BaseModel,
                  correlation_id: str, provider_id: str | None = None) -> None:
    """Write an event to the outbox in the caller's transaction."""
    await put_event(conn, settings(request), topic, key, event, correlation_id, provider_id)


def paged(items_name: str, rows: list[Any], total: int, page: int, page_size: int) -> dict[str, Any]:
    return {"total": total, "page": page, "page_size": page_size, items_name: rows}


async def wait_for_outcomes(request: Request, submission_id: str, seconds: float) -> list[dict[str, Any]] | None:
    """`?wait=`: the process's one poller checks every waiting submission together (waiters.py);
    the submission's rows as answered (store.records.outcome_rows) once every one has its first
    outcome, None when `seconds` passed first."""
    rows = await request.app.state.waiters.wait(rt(request).pool, submission_id, seconds)
    return None if rows is None else outcome_rows(rows)
