"""Learner records: the web service (JSON or XML), submissions, Learner Search, record detail
and delete. Every query is scoped to the caller's provider."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

import asyncpg
import orjson
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from pars_contracts.boards import BoardKind, alias_boards
from pars_contracts.boards import board as catalog_board
from pars_contracts.events import Status

from ..auth import Caller, provider_caller, web_service_caller, web_service_reader
from ..domain.rows import RowInput
from .common import (
    CSV_RESPONSE,
    ID_TYPE_SQL,
    MAX_EXPORT,
    RECORD_CSV_HEADER,
    RECORD_SELECT,
    WAITED,
    IdPath,
    Page,
    PageSize,
    Text,
    Wait,
    errors,
    like,
    paged,
    record_csv_row,
    record_view,
    rows_of_submission,
    rt,
    stream_csv,
)
from .submissions import answer_submission
from .xml_service import OPENAPI_BODY, records_body

router = APIRouter(tags=["learner records"])
CallerDep = Annotated[Caller, Depends(provider_caller)]


@router.post("/v1/learner-records", summary="Submit learner records (web service: JSON or XML)",
             responses={**WAITED, **errors(413, 415)}, openapi_extra=OPENAPI_BODY, status_code=202)
async def submit_records(request: Request, caller: Annotated[Caller, Depends(web_service_caller)],
                         rows: Annotated[list[RowInput], Depends(records_body)],
                         wait: Wait = 0) -> Response:
    """Each record names its activity, board and action. Send JSON `{"records": [...]}`, or a
    MedBiquitous activity report with `Content-Type: application/xml`. Answers `202` with one
    entry per row; with `?wait=` `200` once every row has its first outcome: its status
    (`Submitted`, `Accepted`, `Deleted`) or its errors (the web form's immediate "Errors:").

    Takes a user's API key or a web-service credential. With a sandbox credential (Sandbox PARS)
    every row is validated and answered at once (`200`, `"sandbox": true`, no submission or record
    ids), and nothing is stored, sent to a board or counted."""
    return await answer_submission(request, caller, "service", rows, wait)


@router.get("/v1/submissions/{submission_id}", summary="A submission's rows and their outcomes",
            responses=errors(404))
async def submission(submission_id: IdPath, request: Request,
                     caller: Annotated[Caller, Depends(web_service_reader)]) -> dict:
    owner = await rt(request).pool.fetchval("SELECT provider_id FROM submissions WHERE submission_id = $1", submission_id)
    if owner != caller.provider_id:
        raise HTTPException(404, "Submission not found.")
    return {"submission_id": submission_id, "rows": await rows_of_submission(rt(request).pool, submission_id)}


SEARCH_FILTERS = (
    "AND ($2::text IS NULL OR lower(r.last_name) = lower($2)) "
    "AND ($3::text IS NULL OR a.title ILIKE $3) "
    "AND ($4::date IS NULL OR (r.submitted_at AT TIME ZONE 'America/Chicago')::date >= $4) "
    "AND ($5::date IS NULL OR (r.submitted_at AT TIME ZONE 'America/Chicago')::date <= $5) "
    "AND ($6::text[] IS NULL OR upper(r.board) = ANY($6)) AND ($7::text IS NULL OR r.activity_id = $7) "
    "AND ($8::text IS NULL OR lower(a.provider_activity_id) = lower($8)) AND ($9::text IS NULL OR r.learner_id = $9) "
    f"AND ($10::text IS NULL OR {ID_TYPE_SQL} = upper($10)) "
    "AND (r.status = $11 OR ($11::text IS NULL AND r.status <> 'Deleted')) "
    "AND ($12::date IS NULL OR r.completion_date >= $12) AND ($13::date IS NULL OR r.completion_date <= $13) ")
SEARCH = (RECORD_SELECT.replace("SELECT ", "SELECT count(*) OVER () AS total, ", 1) + SEARCH_FILTERS
          + "ORDER BY lower(r.last_name), lower(r.first_name), r.completion_date, r.record_id LIMIT $14 OFFSET $15")
# The CSV export: no window count (it would read every match before the first row goes out).
EXPORT = (RECORD_SELECT + SEARCH_FILTERS
          + "ORDER BY lower(r.last_name), lower(r.first_name), r.completion_date, r.record_id LIMIT $14")


@router.get("/v1/learner-records", summary="Learner Search (JSON, or CSV export)", responses=CSV_RESPONSE)
async def learner_search(
    request: Request, caller: CallerDep,
    last_name: Text = None, activity_title: Text = None,
    submitted_from: date | None = None, submitted_to: date | None = None,
    board: Text = None, state_board: Text = None, activity_id: Text = None, provider_activity_id: Text = None,
    learner_id: Text = None, id_type: Text = None, status: Status | None = None,
    completed_from: date | None = None, completed_to: date | None = None,
    page: Page = 1, page_size: PageSize = 50, format: Literal["json", "csv"] = "json",
) -> Response:
    """At least one of `last_name`, `activity_title`, or `submitted_from` with `submitted_to` (US Central
    dates) is required. Deleted records show only with `status=Deleted`. `format=csv` exports every match."""
    if not ((last_name or "").strip() or (activity_title or "").strip() or (submitted_from and submitted_to)):
        raise HTTPException(422, "Give at least one of: last_name, activity_title, or submitted_from and "
                                 "submitted_to (the submission date range).")
    boards = [code for name, value, kind in
              (("board", board, BoardKind.CERTIFYING), ("state_board", state_board, BoardKind.STATE)) if value
              for code in _board_codes(name, value, kind)]
    filters = (caller.provider_id, _blank(last_name), like(activity_title), submitted_from, submitted_to,
               boards or None, _blank(activity_id), _blank(provider_activity_id), _blank(learner_id), _blank(id_type),
               status, completed_from, completed_to)
    if format == "csv":
        return stream_csv(request, EXPORT, (*filters, MAX_EXPORT), RECORD_CSV_HEADER,
                          lambda r: record_csv_row(record_view(r)), "learner_search.csv")
    limit, offset = page_size, (page - 1) * page_size
    pool = rt(request).pool
    rows = await pool.fetch(SEARCH, *filters, limit, offset)
    items = [record_view(r) for r in rows]
    total = rows[0]["total"] if rows else 0
    if not rows and offset:  # a page past the end still tells the total
        total = await pool.fetchval(f"SELECT count(*) FROM ({RECORD_SELECT}{SEARCH_FILTERS}) found", *filters)
    return JSONResponse(paged("records", items, total, page, page_size))


def _blank(value: str | None) -> str | None:
    return (value or "").strip() or None


def _board_codes(name: str, value: str, kind: BoardKind) -> tuple[str, ...]:
    """The catalog codes a filter names: one board, or an alias's boards ("ME": both Maine boards)."""
    if kind is BoardKind.STATE and (meant := alias_boards(value)):
        return meant
    found = catalog_board(value)
    if found is None or found.kind is not kind:
        raise HTTPException(422, f"Unknown {name.replace('_', ' ')} {value[:20]!r}.")
    return (found.code,)


@router.get("/v1/learner-records/{record_id}", summary="A learner record", responses=errors(404))
async def record_detail(record_id: IdPath, request: Request, caller: CallerDep) -> dict:
    return record_view(await _own_record(request, caller, record_id))


LEARNER_RECORDS = (RECORD_SELECT + "AND r.activity_id = $2 AND (r.learner_id = $3 OR (lower(r.first_name) = "
                   "lower($4) AND lower(r.last_name) = lower($5))) ORDER BY r.submitted_at, r.row_number, r.record_id LIMIT 1000")


def _decimal(value: str | None) -> Decimal:
    try:
        return Decimal(value or "0")
    except InvalidOperation:
        return Decimal(0)


@router.get("/v1/learner-records/{record_id}/learner", summary="The learner's records on the record's activity",
            responses=errors(404))
async def learner_records(record_id: IdPath, request: Request, caller: CallerDep) -> dict:
    """Every record (any board, Deleted ones too) on this record's activity of the same learner:
    the same learner id, or the same first and last name. Each with its entered credits and the
    credits accepted (its credits once Accepted, else 0); the totals (seed: "Total Credits/Points
    Earned", accepted only); `deletable`: Accepted or Rejected (a Submitted record must be decided
    first)."""
    r = await _own_record(request, caller, record_id)
    rows = await rt(request).pool.fetch(LEARNER_RECORDS, caller.provider_id, r["activity_id"], r["learner_id"],
                                        r["first_name"] or "", r["last_name"] or "")
    records = [{**record_view(row), "entered_credits": row["credits"],
                "accepted_credits": row["credits"] if row["status"] == "Accepted" else "0",
                "deletable": row["status"] in ("Accepted", "Rejected")} for row in rows]
    accepted = sum((_decimal(i["credits"]) for i in records if i["status"] == "Accepted"), Decimal(0))
    entered = sum((_decimal(i["credits"]) for i in records if i["status"] != "Deleted"), Decimal(0))
    return {"learner": {"first_name": r["first_name"], "last_name": r["last_name"], "learner_id": r["learner_id"],
                        "npi": r["npi"]},
            "activity_id": r["activity_id"], "activity_title": r["activity_title"], "records": records,
            "total_entered_credits": _number(entered), "total_accepted_credits": _number(accepted)}


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


@router.delete("/v1/learner-records/{record_id}", summary="Delete a learner record", responses={**WAITED, **errors(404)},
               status_code=202)
async def delete_record(record_id: IdPath, request: Request, caller: CallerDep, wait: Wait = 0) -> Response:
    """A `Delete` row with the record's own information: Accepted and Rejected records become
    Deleted; a Submitted one is refused with 801 until the board has decided, and after
    December 31 of the record's reporting year with 706. Answers like a submission."""
    r = await _own_record(request, caller, record_id)
    row = RowInput(activity_id=r["activity_id"], board=r["board"], action="Delete",
                   learner_id_type=r["learner_id_type"], learner_id=r["learner_id"], npi=r["npi"],
                   first_name=r["first_name"], last_name=r["last_name"], date_of_birth=r["date_of_birth"],
                   completion_date=r["completion_date"].strftime("%m/%d/%Y") if r["completion_date"] else None,
                   credits=r["credits"], credit_types=orjson.loads(r["credit_types"]), credit_id=r["credit_id"])
    return await answer_submission(request, caller, "web", [row], wait, target_record_id=record_id)


async def _own_record(request: Request, caller: Caller, record_id: str) -> asyncpg.Record:
    row = await rt(request).pool.fetchrow(RECORD_SELECT + "AND r.record_id = $2", caller.provider_id, record_id)
    if row is None:
        raise HTTPException(404, "Learner record not found.")
    return row
