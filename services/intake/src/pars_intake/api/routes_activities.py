"""Activities: register, the Activity Learner Summary, detail, and the web form's learners."""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from pars_contracts import topics
from pars_contracts.boards import board as catalog_board

from ..auth import Caller, provider_caller
from ..domain.rows import RowInput
from ..store import activity_from_row
from .common import csv_response, publish, rt
from .models import ActivityIn, ActivityLearnersIn
from .submissions import answer_submission, row_fields

router = APIRouter(prefix="/v1/activities", tags=["activities"])
CallerDep = Annotated[Caller, Depends(provider_caller)]


@router.post("", status_code=201)
async def register_activity(body: ActivityIn, request: Request, caller: CallerDep) -> dict:
    if body.end_date < body.start_date:
        raise HTTPException(422, "The activity's end date is before its start date.")
    for reg in body.registrations:
        if catalog_board(reg.board) is None:
            raise HTTPException(422, f"Unknown board or program {reg.board!r}.")
    registrations = [{"board": catalog_board(r.board).code, "credit_types": r.credit_types,  # type: ignore[union-attr]
                      "max_points": str(r.max_points)} for r in body.registrations]
    async with rt(request).pool.acquire() as conn, conn.transaction():
        activity_id = str(await conn.fetchval("SELECT nextval('activity_ids')"))
        row = await conn.fetchrow(
            "INSERT INTO activities (activity_id, provider_id, provider_activity_id, title, activity_type, start_date, "
            "end_date, reporting_year, ama_credits, registrations) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING *",
            activity_id, caller.provider_id, body.provider_activity_id, body.title, body.activity_type,
            body.start_date, body.end_date, body.reporting_year, body.ama_credits, orjson.dumps(registrations).decode())
        activity = activity_from_row(row)
        await publish(conn, request, topics.ACTIVITIES.name, activity_id, activity,
                      correlation_id=f"activity:{activity_id}", provider_id=caller.provider_id)
    return activity.model_dump(mode="json")


@router.get("")
async def activity_summary(
    request: Request, caller: CallerDep,
    reporting_year: int | None = None, title: Annotated[str | None, Query(max_length=200)] = None,
    provider_activity_id: Annotated[str | None, Query(max_length=100)] = None,
    board: Annotated[str | None, Query(max_length=20)] = None,
    page: Annotated[int, Query(ge=1, le=100000)] = 1, page_size: Annotated[int, Query(ge=1, le=1000)] = 20,
    format: Literal["json", "csv"] = "json",
) -> Response:
    """The Activity Learner Summary: activities with their records' status counts."""
    rows = await rt(request).pool.fetch(
        "SELECT a.activity_id, a.title, a.activity_type, a.provider_activity_id, a.reporting_year, a.registrations, "
        "count(r.*) FILTER (WHERE r.status = 'Submitted') AS submitted, "
        "count(r.*) FILTER (WHERE r.status = 'Accepted') AS accepted, "
        "count(r.*) FILTER (WHERE r.status = 'Rejected') AS rejected, max(r.updated_at) AS learners_last_updated "
        "FROM activities a LEFT JOIN records r ON r.provider_id = a.provider_id AND r.activity_id = a.activity_id "
        "AND r.action = 'Add' "
        "WHERE a.provider_id = $1 AND ($2::int IS NULL OR a.reporting_year = $2) "
        "AND ($3::text IS NULL OR a.title ILIKE '%' || $3 || '%') "
        "AND ($4::text IS NULL OR a.provider_activity_id = $4) "
        "AND ($5::text IS NULL OR a.registrations @> jsonb_build_array(jsonb_build_object('board', upper($5)))) "
        "GROUP BY a.activity_id ORDER BY a.activity_id",
        caller.provider_id, reporting_year, title, provider_activity_id, board)
    items = [{
        "activity_id": r["activity_id"], "title": r["title"], "activity_type": r["activity_type"],
        "provider_activity_id": r["provider_activity_id"], "reporting_year": r["reporting_year"],
        "boards": [g["board"] for g in orjson.loads(r["registrations"])],
        "submitted": r["submitted"], "accepted": r["accepted"], "rejected": r["rejected"],
        "learners_last_updated": r["learners_last_updated"].date().isoformat() if r["learners_last_updated"] else None,
    } for r in rows]
    if format == "csv":
        header = ["ACCME Activity ID", "Activity Title", "Activity Type", "Boards or Programs",
                  "Learners Last Updated", "Submitted", "Accepted", "Rejected"]
        return csv_response(header, [[i["activity_id"], i["title"], i["activity_type"], ", ".join(i["boards"]),
                                      i["learners_last_updated"], i["submitted"], i["accepted"], i["rejected"]]
                                     for i in items], "activity_learner_summary.csv")
    start = (page - 1) * page_size
    return JSONResponse({"total": len(items), "page": page, "page_size": page_size,
                         "activities": items[start:start + page_size]})


@router.get("/{activity_id}")
async def activity_detail(activity_id: str, request: Request, caller: CallerDep) -> dict:
    pool = rt(request).pool
    row = await pool.fetchrow("SELECT * FROM activities WHERE activity_id = $1 AND provider_id = $2",
                              activity_id, caller.provider_id)
    if row is None:
        raise HTTPException(404, "Activity not found.")
    records = await pool.fetch(
        "SELECT record_id, board, first_name, last_name, completion_date, date_of_birth, learner_id, npi, status, "
        "credits, credit_types, credit_id, errors, submitted_at FROM records WHERE provider_id = $1 AND activity_id = $2 "
        "AND action = 'Add' AND status IS NOT NULL ORDER BY board, last_name, first_name", caller.provider_id, activity_id)
    by_board: dict[str, list[dict]] = {}
    for r in records:
        item = dict(r)
        item["credit_types"] = orjson.loads(r["credit_types"])
        item["errors"] = orjson.loads(r["errors"]) if r["status"] == "Rejected" else []
        item["completion_date"] = r["completion_date"].isoformat() if r["completion_date"] else None
        item["submitted_at"] = r["submitted_at"].isoformat()
        by_board.setdefault((r["board"] or "").upper(), []).append(item)
    activity = activity_from_row(row).model_dump(mode="json")
    activity["records_by_board"] = by_board
    return activity


@router.post("/{activity_id}/learners")
async def add_learners(activity_id: str, body: ActivityLearnersIn, request: Request, caller: CallerDep,
                       wait: Annotated[float, Query(ge=0, le=30)] = 0) -> Response:
    """The web form's Save: one row per learner for this activity and board."""
    rows = [RowInput(activity_id=activity_id, board=body.board, **row_fields(learner))
            for learner in body.learners]
    return await answer_submission(request, caller, "web", rows, wait)

