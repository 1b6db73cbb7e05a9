"""Activities: register, the Activity Learner Summary, Activity Detail, and the web form's
learners. Another provider's activity is answered exactly like an unknown one (404)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import asyncpg
import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from pars_contracts import topics
from pars_contracts.boards import BOARDS
from pars_contracts.boards import board as catalog_board

from ..auth import Caller, provider_caller
from ..domain.rows import RowInput
from ..store import activity_from_row
from .common import (
    CSV_RESPONSE,
    MAX_EXPORT,
    RECORD_CSV_HEADER,
    RECORD_SELECT,
    WAITED,
    IdPath,
    Page,
    PageSize,
    Text,
    Wait,
    central_date,
    errors,
    like,
    paged,
    publish,
    record_csv_row,
    record_view,
    rt,
    stream_csv,
)
from .models import ActivityChangeIn, ActivityIn, ActivityLearnersIn, RegistrationIn
from .rems import refuse_unless_participant
from .submissions import answer_submission, row_fields

router = APIRouter(prefix="/v1/activities", tags=["activities"])
CallerDep = Annotated[Caller, Depends(provider_caller)]
BoardQuery = Annotated[str | None, Query(max_length=20, description="A board or program code, e.g. `ABIM`.")]


@router.post("", status_code=201, summary="Register an activity (assigns its 9-digit ACCME activity id)")
async def register_activity(body: ActivityIn, request: Request, caller: CallerDep) -> dict:
    if body.end_date < body.start_date:
        raise HTTPException(422, "The activity's end date is before its start date.")
    registrations = [_registration(r) for r in body.registrations]
    if len({r["board"] for r in registrations}) < len(registrations):
        raise HTTPException(422, "Register each board or program once.")
    await refuse_unless_participant(rt(request).pool, caller.provider_id, (r["board"] for r in registrations),
                                    "an activity cannot be registered for it.")
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


# Learner records that tie a board to an activity: stored ones (any status but Deleted) and rows
# still on their way (no outcome yet).
BOARD_RECORDS = (
    "SELECT upper(board) AS board, count(*) AS records FROM records WHERE provider_id = $1 AND activity_id = $2 "
    "AND upper(board) = ANY($3::text[]) AND ((status IS NOT NULL AND status <> 'Deleted') OR outcome IS NULL) "
    "GROUP BY upper(board) ORDER BY upper(board)")


@router.patch("/{activity_id}", summary="Change an activity (title, type, dates, credits, registrations)",
              responses=errors(404, 409, 422))
async def change_activity(activity_id: IdPath, body: ActivityChangeIn, request: Request, caller: CallerDep) -> dict:
    """Changes the fields given; the activity's `version` goes up by one and the validator gets the
    whole new state (records submitted from then on are checked against it, so a row refused with
    670 or 672 passes once the activity is corrected and the row sent again). Records already
    decided keep their status. `registrations` replaces the list of boards: add a board, change its
    credit types or maximum points; removing a board that has learner records is refused (`409`)."""
    changes = body.model_dump(exclude_unset=True)
    for field in ("title", "activity_type", "start_date", "end_date", "reporting_year", "ama_credits",
                  "registrations"):
        if field in changes and changes[field] is None:
            raise HTTPException(422, f"The activity's {field.replace('_', ' ')} cannot be emptied.")
    async with rt(request).pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow("SELECT * FROM activities WHERE activity_id = $1 AND provider_id = $2 FOR UPDATE",
                                  activity_id, caller.provider_id)
        if row is None:
            raise HTTPException(404, "Activity not found.")
        current = activity_from_row(row)
        start, end = changes.get("start_date", current.start_date), changes.get("end_date", current.end_date)
        if end < start:
            raise HTTPException(422, "The activity's end date is before its start date.")
        registrations = [r.model_dump(mode="json") for r in current.registrations]
        if body.registrations is not None:
            registrations = [_registration(r) for r in body.registrations]
            if len({r["board"] for r in registrations}) < len(registrations):
                raise HTTPException(422, "Register each board or program once.")
            await refuse_unless_participant(
                conn, caller.provider_id, {r["board"] for r in registrations} - {r.board for r in current.registrations},
                "an activity cannot be registered for it.")
            removed = sorted({r.board for r in current.registrations} - {r["board"] for r in registrations})
            held = await conn.fetch(BOARD_RECORDS, caller.provider_id, activity_id, removed) if removed else []
            if held:
                boards = ", ".join(f"{h['board']} ({h['records']} learner record{'s' if h['records'] != 1 else ''})"
                                   for h in held)
                raise HTTPException(409, f"A board with learner records cannot be removed from the activity: {boards}. "
                                         "Delete its learner records first, or keep the board.")
        row = await conn.fetchrow(
            "UPDATE activities SET provider_activity_id = $3, title = $4, activity_type = $5, start_date = $6, "
            "end_date = $7, reporting_year = $8, ama_credits = $9, registrations = $10, version = version + 1, "
            "updated_at = now() WHERE activity_id = $1 AND provider_id = $2 RETURNING *",
            activity_id, caller.provider_id,
            changes.get("provider_activity_id", current.provider_activity_id), changes.get("title", current.title),
            changes.get("activity_type", current.activity_type), start, end,
            changes.get("reporting_year", current.reporting_year), changes.get("ama_credits", current.ama_credits),
            orjson.dumps(registrations).decode())
        activity = activity_from_row(row)
        await publish(conn, request, topics.ACTIVITIES.name, activity_id, activity,
                      correlation_id=f"activity:{activity_id}:v{activity.version}", provider_id=caller.provider_id)
    return activity.model_dump(mode="json")


def _registration(reg: RegistrationIn) -> dict[str, Any]:
    """A registration in the catalog's spelling; an unknown board or credit type is refused."""
    found = catalog_board(reg.board)
    if found is None:
        raise HTTPException(422, f"Unknown board or program {reg.board!r}; one of {', '.join(BOARDS)}.")
    types: list[str] = []
    for given in reg.credit_types:
        known = found.credit_type(given)
        if known is None:
            raise HTTPException(422, f"{found.code} offers no credit type {given!r}; one of "
                                     f"{', '.join(t.name for t in found.credit_types)}.")
        if known.name not in types:
            types.append(known.name)
    return {"board": found.code, "credit_types": types, "max_points": str(reg.max_points)}


SUMMARY_FILTERS = (
    "WHERE a.provider_id = $1 AND ($2::int IS NULL OR a.reporting_year = $2) "
    "AND ($3::text IS NULL OR a.title ILIKE $3) AND ($4::text IS NULL OR a.provider_activity_id ILIKE $4) "
    "AND ($5::text IS NULL OR a.registrations @> jsonb_build_array(jsonb_build_object('board', $5::text))) ")
SUMMARY = (
    "SELECT count(*) OVER () AS total, a.activity_id, a.title, a.activity_type, a.provider_activity_id, "
    "a.reporting_year, a.registrations, s.submitted, s.accepted, s.rejected, s.last_updated "
    "FROM activities a CROSS JOIN LATERAL ("
    " SELECT count(*) FILTER (WHERE r.status = 'Submitted') AS submitted,"
    " count(*) FILTER (WHERE r.status = 'Accepted') AS accepted,"
    " count(*) FILTER (WHERE r.status = 'Rejected') AS rejected, max(r.updated_at) AS last_updated"
    " FROM records r WHERE r.provider_id = a.provider_id AND r.activity_id = a.activity_id"
    " AND r.action = 'Add' AND r.status IS NOT NULL) s "
    + SUMMARY_FILTERS + "ORDER BY a.activity_id LIMIT $6 OFFSET $7")


@router.get("", summary="Activity Learner Summary (JSON, or CSV export)", responses=CSV_RESPONSE)
async def activity_summary(
    request: Request, caller: CallerDep, reporting_year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
    title: Text = None, provider_activity_id: Text = None, board: BoardQuery = None,
    page: Page = 1, page_size: PageSize = 20, format: Literal["json", "csv"] = "json",
) -> Response:
    """The provider's activities with their learner records' Submitted/Accepted/Rejected counts and
    the (US Central) date learners were last updated. `title` and `provider_activity_id` match
    anywhere, case-insensitively."""
    code = _board_code(board)
    limit, offset = page_size, (page - 1) * page_size
    filters = (caller.provider_id, reporting_year, like(title), like(provider_activity_id), code)
    if format == "csv":
        return stream_csv(request, SUMMARY_EXPORT, (*filters, MAX_EXPORT, 0), SUMMARY_CSV_HEADER, _summary_csv_row,
                          "activity_learner_summary.csv")
    pool = rt(request).pool
    rows = await pool.fetch(SUMMARY, *filters, limit, offset)
    items = [{
        "activity_id": r["activity_id"], "title": r["title"], "activity_type": r["activity_type"],
        "provider_activity_id": r["provider_activity_id"], "reporting_year": r["reporting_year"],
        "boards": [g["board"] for g in orjson.loads(r["registrations"])],
        "submitted": r["submitted"], "accepted": r["accepted"], "rejected": r["rejected"],
        "learners_last_updated": central_date(r["last_updated"]),
    } for r in rows]
    total = rows[0]["total"] if rows else 0
    if not rows and offset:  # a page past the end still tells the total
        total = await pool.fetchval("SELECT count(*) FROM activities a " + SUMMARY_FILTERS, *filters)
    return JSONResponse(paged("activities", items, total, page, page_size))


SUMMARY_EXPORT = SUMMARY.replace("count(*) OVER () AS total, ", "", 1)
SUMMARY_CSV_HEADER = ["ACCME Activity ID", "Activity Title", "Activity Type", "Provider Activity ID", "Reporting Year",
                      "Boards or Programs", "Learners Last Updated", "Submitted", "Accepted", "Rejected"]


def _summary_csv_row(r: asyncpg.Record) -> list[Any]:
    return [r["activity_id"], r["title"], r["activity_type"], r["provider_activity_id"], r["reporting_year"],
            ", ".join(g["board"] for g in orjson.loads(r["registrations"])), central_date(r["last_updated"]),
            r["submitted"], r["accepted"], r["rejected"]]


def _board_code(board: str | None) -> str | None:
    if not board:
        return None
    found = catalog_board(board)
    if found is None:
        raise HTTPException(422, f"Unknown board or program {board!r}.")
    return found.code


@router.get("/{activity_id}", summary="Activity Detail with its learner records per board",
            responses={**errors(404), **CSV_RESPONSE})
async def activity_detail(activity_id: IdPath, request: Request, caller: CallerDep, board: BoardQuery = None,
                          format: Literal["json", "csv"] = "json") -> Response:
    """The activity's facts, its registrations with their counts, and its learner records grouped by
    board (`board=` for one); Deleted records are left out. `format=csv` exports the records."""
    pool = rt(request).pool
    activity = activity_from_row(await _own_activity(pool, caller, activity_id))
    code = _board_code(board)
    query = (RECORD_SELECT + "AND r.activity_id = $2 AND r.status <> 'Deleted' AND ($3::text IS NULL OR "
             "upper(r.board) = $3) ORDER BY upper(r.board), lower(r.last_name), lower(r.first_name), "
             "r.completion_date, r.record_id LIMIT $4")
    if format == "csv":
        return stream_csv(request, query, (caller.provider_id, activity_id, code, MAX_EXPORT), RECORD_CSV_HEADER,
                          lambda r: record_csv_row(record_view(r)), f"activity_{activity_id}.csv")
    records = [record_view(r) for r in await pool.fetch(query, caller.provider_id, activity_id, code, MAX_EXPORT)]
    by_board: dict[str, list[dict]] = {}
    for item in records:
        by_board.setdefault(item["board"], []).append(item)
    boards = [{
        "board": reg.board, "name": BOARDS[reg.board].name if reg.board in BOARDS else reg.board,
        "credit_types": reg.credit_types, "max_points": str(reg.max_points),
        **{s.lower(): sum(1 for i in by_board.get(reg.board, []) if i["status"] == s)
           for s in ("Submitted", "Accepted", "Rejected")},
    } for reg in activity.registrations if code in (None, reg.board)]
    return JSONResponse({**activity.model_dump(mode="json"), "boards": boards, "records_by_board": by_board})


async def _own_activity(pool: asyncpg.Pool, caller: Caller, activity_id: str) -> asyncpg.Record:
    row = await pool.fetchrow("SELECT * FROM activities WHERE activity_id = $1 AND provider_id = $2",
                              activity_id, caller.provider_id)
    if row is None:
        raise HTTPException(404, "Activity not found.")
    return row


@router.post("/{activity_id}/learners", summary="Add learners to an activity (the web form's Save)",
             responses={**WAITED, **errors(404, 413)}, status_code=202)
async def add_learners(activity_id: IdPath, body: ActivityLearnersIn, request: Request, caller: CallerDep,
                       wait: Wait = 0) -> Response:
    """One row per learner for this activity and board; answers like `POST /v1/learner-records`
    (with `?wait=`, each row's status or its errors, e.g. `664` for a date of birth the board
    does not know)."""
    await _own_activity(rt(request).pool, caller, activity_id)
    rows = [RowInput(activity_id=activity_id, board=body.board, **row_fields(learner)) for learner in body.learners]
    return await answer_submission(request, caller, "web", rows, wait)
