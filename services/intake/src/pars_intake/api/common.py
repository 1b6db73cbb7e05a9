"""Small pieces the routes share."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson
from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel

from pars_contracts.envelope import wrap
from pars_runtime import messages
from pars_runtime.service import Runtime

from ..domain.reports import to_csv
from ..settings import IntakeSettings


def rt(request: Request) -> Runtime:
    return request.app.state.rt


def settings(request: Request) -> IntakeSettings:
    return request.app.state.settings


async def publish(conn: asyncpg.Connection, request: Request, topic: str, key: str, event: BaseModel,
                  correlation_id: str, provider_id: str | None = None) -> None:
    """Write an event to the outbox in the caller's transaction."""
    envelope = wrap(event, producer="intake", correlation_id=correlation_id, provider_id=provider_id)
    await messages.put(conn, settings(request).topic(topic), key, envelope)


def csv_response(header: list[str], rows: list[list[Any]], file_name: str) -> Response:
    return Response(to_csv(header, [[("" if v is None else str(v)) for v in r] for r in rows]),
                    media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{file_name}"'})


async def wait_for_outcomes(request: Request, submission_id: str, seconds: float) -> bool:
    async def done() -> bool:
        return not await rt(request).pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM records WHERE submission_id = $1 AND outcome IS NULL)", submission_id)

    return await request.app.state.waiters.wait_until(submission_id, done, seconds)


async def rows_of_submission(conn: asyncpg.Connection | asyncpg.Pool, submission_id: str) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT row_number, record_id, credit_id, outcome, status, errors FROM records WHERE submission_id = $1 "
        "ORDER BY row_number", submission_id)
    result = []
    for r in rows:
        item: dict[str, Any] = {"row": r["row_number"], "record_id": r["record_id"], "credit_id": r["credit_id"]}
        if r["outcome"] is None:
            item["status"] = "Pending"
        elif r["outcome"] in ("Invalid", "Refused"):
            item["errors"] = orjson.loads(r["errors"])
        else:
            item["status"] = r["status"] or r["outcome"]
            if r["status"] == "Rejected":
                item["errors"] = orjson.loads(r["errors"])
        result.append(item)
    return result

