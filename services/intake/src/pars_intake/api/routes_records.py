"""Learner records: the web service, submissions, Learner Search, record detail and delete."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from pars_contracts.boards import BoardKind
from pars_contracts.boards import board as catalog_board

from ..auth import Caller, provider_caller
from ..domain.rows import RowInput
from .common import csv_response, rows_of_submission, rt
from .models import RecordsIn
from .submissions import answer_submission, row_fields

router = APIRouter(tags=["learner records"])
CallerDep = Annotated[Caller, Depends(provider_caller)]
Text = Annotated[str | None, Query(max_length=200)]


@router.post("/v1/learner-records")
async def submit_records(body: RecordsIn, request: Request, caller: CallerDep,
                         wait: Annotated[float, Query(ge=0, le=30)] = 0) -> Response:
    """The web service: each record names its activity, board and action."""
    rows = [RowInput(activity_id=r.activity_id, board=r.board, **row_fields(r)) for r in body.records]
    return await answer_submission(request, caller, "service", rows, wait)


@router.get("/v1/submissions/{submission_id}")
async def submission(submission_id: str, request: Request, caller: CallerDep) -> dict:
    owner = await rt(request).pool.fetchval("SELECT provider_id FROM submissions WHERE submission_id = $1", submission_id)
    if owner != caller.provider_id:
        raise HTTPException(404, "Submission not found.")
    return {"submission_id": submission_id, "rows": await rows_of_submission(rt(request).pool, submission_id)}


SEARCH_COLUMNS = ("record_id, activity_id, board, first_name, last_name, learner_id, learner_id_type, npi, "
                  "date_of_birth, completion_date, credits, credit_types, credit_id, status, errors, submitted_at")


@router.get("/v1/learner-records")
async def learner_search(
    request: Request, caller: CallerDep,
    last_name: Text = None, activity_title: Text = None,
    submitted_from: date | None = None, submitted_to: date | None = None,
    board: Text = None, state_board: Text = None, activity_id: Text = None, provider_activity_id: Text = None,
    learner_id: Text = None, id_type: Text = None,
    status: Literal["Submitted", "Accepted", "Rejected", "Deleted"] | None = None,
    completed_from: date | None = None, completed_to: date | None = None,
    page: Annotated[int, Query(ge=1, le=100000)] = 1, page_size: Annotated[int, Query(ge=1, le=1000)] = 50,
    format: Literal["json", "csv"] = "json",
) -> Response:
    """Learner Search: at least one of last name, activity title, or a submission date range."""
    if not (last_name or activity_title or (submitted_from and submitted_to)):
        raise HTTPException(422, "Give at least one of: last_name, activity_title, or submitted_from and submitted_to.")
    for name, value, kind in (("board", board, BoardKind.CERTIFYING), ("state_board", state_board, BoardKind.STATE)):
        if value and (catalog_board(value) is None or catalog_board(value).kind is not kind):  # type: ignore[union-attr]
            raise HTTPException(422, f"Unknown {name.replace('_', ' ')} {value!r}.")
    chosen_board = (board or state_board or "").upper() or None
    rows = await rt(request).pool.fetch(
        f"SELECT r.{SEARCH_COLUMNS.replace(', ', ', r.')}, a.title AS activity_title, a.provider_activity_id "
        "FROM records r LEFT JOIN activities a ON a.activity_id = r.activity_id AND a.provider_id = r.provider_id "
        "WHERE r.provider_id = $1 AND r.action = 'Add' AND r.status IS NOT NULL "
        "AND ($2::text IS NULL OR lower(r.last_name) = lower($2)) "
        "AND ($3::text IS NULL OR a.title ILIKE '%' || $3 || '%') "
        "AND ($4::date IS NULL OR r.submitted_at >= $4) AND ($5::date IS NULL OR r.submitted_at < $5::date + 1) "
        "AND ($6::text IS NULL OR upper(r.board) = $6) AND ($7::text IS NULL OR r.activity_id = $7) "
        "AND ($8::text IS NULL OR a.provider_activity_id = $8) AND ($9::text IS NULL OR r.learner_id = $9) "
        "AND ($10::text IS NULL OR upper(r.learner_id_type) = upper($10)) AND ($11::text IS NULL OR r.status = $11) "
        "AND ($12::date IS NULL OR r.completion_date >= $12) AND ($13::date IS NULL OR r.completion_date <= $13) "
        "ORDER BY r.last_name, r.first_name, r.completion_date LIMIT 100000",
        caller.provider_id, last_name, activity_title, submitted_from, submitted_to, chosen_board, activity_id,
        provider_activity_id, learner_id, id_type, status, completed_from, completed_to)
    items = [_record(r) for r in rows]
    if format == "csv":
        header = ["ACCME Activity ID", "Activity Title", "Board", "First Name", "Last Name", "Learner ID",
                  "Learner ID Type", "DOB", "Date Completed", "Credits", "Credit Types", "Status", "Error"]
        return csv_response(header, [[i["activity_id"], i["activity_title"], i["board"], i["first_name"],
                                      i["last_name"], i["learner_id"], i["learner_id_type"], i["date_of_birth"],
                                      i["completion_date"], i["credits"], "; ".join(i["credit_types"]), i["status"],
                                      "; ".join(f"{e['code']} {e['message']}" for e in i["errors"])]
                                     for i in items], "learner_search.csv")
    start = (page - 1) * page_size
    return JSONResponse({"total": len(items), "page": page, "page_size": page_size,
                         "records": items[start:start + page_size]})


@router.get("/v1/learner-records/{record_id}")
async def record_detail(record_id: str, request: Request, caller: CallerDep) -> dict:
    row = await _own_record(request, caller, record_id)
    return _record(row)


@router.delete("/v1/learner-records/{record_id}")
async def delete_record(record_id: str, request: Request, caller: CallerDep,
                        wait: Annotated[float, Query(ge=0, le=30)] = 0) -> Response:
    """Deletes a stored record: a Delete row with the record's own information (706, 801 apply)."""
    r = await _own_record(request, caller, record_id)
    row = RowInput(activity_id=r["activity_id"], board=r["board"], action="Delete",
                   learner_id_type=r["learner_id_type"], learner_id=r["learner_id"], npi=r["npi"],
                   first_name=r["first_name"], last_name=r["last_name"], date_of_birth=r["date_of_birth"],
                   completion_date=r["completion_date"].strftime("%m/%d/%Y") if r["completion_date"] else None,
                   credits=r["credits"], credit_types=orjson.loads(r["credit_types"]), credit_id=r["credit_id"])
    return await answer_submission(request, caller, "web", [row], wait, target_record_id=record_id)


async def _own_record(request: Request, caller: Caller, record_id: str):  # noqa: ANN202
    row = await rt(request).pool.fetchrow(
        f"SELECT r.{SEARCH_COLUMNS.replace(', ', ', r.')}, a.title AS activity_title, a.provider_activity_id "
        "FROM records r LEFT JOIN activities a ON a.activity_id = r.activity_id AND a.provider_id = r.provider_id "
        "WHERE r.record_id = $1 AND r.provider_id = $2 AND r.action = 'Add' AND r.status IS NOT NULL",
        record_id, caller.provider_id)
    if row is None:
        raise HTTPException(404, "Learner record not found.")
    return row


def _record(r) -> dict:  # noqa: ANN001
    return {
        "record_id": r["record_id"], "activity_id": r["activity_id"], "activity_title": r["activity_title"],
        "provider_activity_id": r["provider_activity_id"], "board": (r["board"] or "").upper(),
        "first_name": r["first_name"], "last_name": r["last_name"], "learner_id": r["learner_id"],
        "learner_id_type": r["learner_id_type"], "npi": r["npi"], "date_of_birth": r["date_of_birth"],
        "completion_date": r["completion_date"].isoformat() if r["completion_date"] else None,
        "credits": r["credits"], "credit_types": orjson.loads(r["credit_types"]), "credit_id": r["credit_id"],
        "status": r["status"], "errors": orjson.loads(r["errors"]) if r["status"] == "Rejected" else [],
        "submitted_at": r["submitted_at"].isoformat(),
    }
