"""Learner records: the web service (JSON or XML), submissions, Learner Search, record detail
and delete. Every query is scoped to the caller's provider."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from pars_contracts.events import Status

from ..auth import Caller, provider_caller, web_service_caller, web_service_reader
from ..domain.reports import excel_bytes, to_csv
from ..domain.rows import RowInput
from ..service_layer.exports import MAX_EXPORT, RECORD_CSV_HEADER, record_csv_row, stream_csv
from ..service_layer.search import CriteriaError, search_filters
from ..store import records as store
from .common import (
    CSV_RESPONSE,
    WAITED,
    IdPath,
    Page,
    PageSize,
    Text,
    Wait,
    errors,
    paged,
    rt,
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
    if await store.submission_owner(rt(request).pool, submission_id) != caller.provider_id:
        raise HTTPException(404, "Submission not found.")
    return {"submission_id": submission_id, "rows": await store.submission_rows(rt(request).pool, submission_id)}


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
    try:
        filters = search_filters(
            caller.provider_id, last_name=last_name, activity_title=activity_title, submitted_from=submitted_from,
            submitted_to=submitted_to, board=board, state_board=state_board, activity_id=activity_id,
            provider_activity_id=provider_activity_id, learner_id=learner_id, id_type=id_type, status=status,
            completed_from=completed_from, completed_to=completed_to)
    except CriteriaError as exc:
        raise HTTPException(422, str(exc)) from None
    if format == "csv":
        return stream_csv(request, lambda conn, prefetch: store.export_search(conn, filters, MAX_EXPORT, prefetch),
                          RECORD_CSV_HEADER, record_csv_row, "learner_search.csv")
    items, total = await store.search_records(rt(request).pool, filters, page_size, (page - 1) * page_size)
    return JSONResponse(paged("records", items, total, page, page_size))


@router.get("/v1/learner-records/{record_id}", summary="A learner record", responses=errors(404))
async def record_detail(record_id: IdPath, request: Request, caller: CallerDep) -> dict:
    return store.record_view(await _own_record(request, caller, record_id))


@router.get("/v1/learner-records/{record_id}/learner", summary="The learner's records on the record's activity",
            responses=errors(404))
async def learner_records(record_id: IdPath, request: Request, caller: CallerDep,
                          format: Annotated[Literal["json", "csv"], Query()] = "json") -> Any:
    """Every record (any board, Deleted ones too) on this record's activity of the same learner:
    the same learner id, or the same first and last name. Each with its entered credits and the
    credits accepted (its credits once Accepted, else 0); the totals (seed: "Total Credits/Points
    Earned", accepted only); `deletable`: Accepted or Rejected (a Submitted record must be decided
    first). `format=csv`: the records as the seed's EXPORT ALL, with the credits accepted."""
    r = await _own_record(request, caller, record_id)
    found = await store.learner_records(rt(request).pool, caller.provider_id, r)
    if format == "json":
        return found
    header = [*RECORD_CSV_HEADER, "Credits Accepted"]
    rows = [[("" if v is None else str(v)) for v in [*record_csv_row(i), i["accepted_credits"]]]
            for i in found["records"]]
    return Response(excel_bytes(to_csv(header, rows)), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="learner_records.csv"'})


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


async def _own_record(request: Request, caller: Caller, record_id: str) -> dict[str, Any]:
    row = await store.own_record(rt(request).pool, caller.provider_id, record_id)
    if row is None:
        raise HTTPException(404, "Learner record not found.")
    return row
