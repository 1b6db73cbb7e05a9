"""Activities: register, the Activity Learner Summary, Activity Detail, and the web form's
learners. Another provider's activity is answered exactly like an unknown one (404)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from pars_contracts import topics
from pars_contracts.boards import BOARDS
from pars_contracts.boards import board as catalog_board

from ..auth import Caller, activity_caller, provider_caller
from ..domain.rows import RowInput
from ..service_layer.exports import MAX_EXPORT, RECORD_CSV_HEADER, record_csv_row, stream_csv
from ..store import activities as store
from ..store.records import LearnerFilters, export_activity_records
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
    publish,
    rt,
)
from .models import ActivityChangeIn, ActivityIn, ActivityLearnersIn, RegistrationIn
from .rems import refuse_unless_participant
from .submissions import answer_submission, row_fields
from .xml_service import counted_json

router = APIRouter(prefix="/v1/activities", tags=["activities"])
CallerDep = Annotated[Caller, Depends(provider_caller)]
DETAIL_PAGE_SIZE = 100  # Activity Detail's records a page unless asked (an activity may hold 100,000)
ActivityWriterDep = Annotated[Caller, Depends(activity_caller)]
BoardQuery = Annotated[str | None, Query(max_length=20, description="A board or program code, e.g. `ABIM`.")]


@router.post("", status_code=201, summary="Register an activity (assigns its 9-digit ACCME activity id)")
async def register_activity(body: ActivityIn, request: Request, caller: ActivityWriterDep) -> dict:
    if body.end_date < body.start_date:
        raise HTTPException(422, "The activity's end date is before its start date.")
    registrations = [_registration(r) for r in body.registrations]
    if len({r["board"] for r in registrations}) < len(registrations):
        raise HTTPException(422, "Register each board or program once.")
    await refuse_unless_participant(rt(request).pool, caller.provider_id, (r["board"] for r in registrations),
                                    "an activity cannot be registered for it.")
    fields = store.ActivityFields(
        provider_activity_id=body.provider_activity_id, title=body.title, activity_type=body.activity_type,
        start_date=body.start_date, end_date=body.end_date, reporting_year=body.reporting_year,
        ama_credits=body.ama_credits, registrations=registrations)
    async with rt(request).pool.acquire() as conn, conn.transaction():
        activity = await store.register_activity(conn, caller.provider_id, fields)
        activity_id = activity.activity_id
        await publish(conn, request, topics.ACTIVITIES.name, activity_id, activity,
                      correlation_id=f"activity:{activity_id}", provider_id=caller.provider_id)
    return activity.model_dump(mode="json")


@router.patch("/{activity_id}", summary="Change an activity (title, type, dates, credits, registrations)",
              responses=errors(404, 409, 422))
async def change_activity(activity_id: IdPath, body: ActivityChangeIn, request: Request,
                          caller: ActivityWriterDep) -> dict:
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
        current = await store.lock_activity(conn, caller.provider_id, activity_id)
        if current is None:
            raise HTTPException(404, "Activity not found.")
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
            held = await store.boards_with_records(conn, caller.provider_id, activity_id, removed)
            if held:
                boards = ", ".join(f"{h['board']} ({h['records']} learner record{'s' if h['records'] != 1 else ''})"
                                   for h in held)
                raise HTTPException(409, f"A board with learner records cannot be removed from the activity: {boards}. "
                                         "Delete its learner records first, or keep the board.")
        activity = await store.update_activity(conn, caller.provider_id, activity_id, store.ActivityFields(
            provider_activity_id=changes.get("provider_activity_id", current.provider_activity_id),
            title=changes.get("title", current.title), activity_type=changes.get("activity_type", current.activity_type),
            start_date=start, end_date=end, reporting_year=changes.get("reporting_year", current.reporting_year),
            ama_credits=changes.get("ama_credits", current.ama_credits), registrations=registrations))
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


@router.get("", summary="Activity Learner Summary (JSON, or CSV export)", responses=CSV_RESPONSE)
async def activity_summary(
    request: Request, caller: CallerDep, reporting_year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
    title: Text = None, provider_activity_id: Text = None, board: BoardQuery = None,
    page: Page = 1, page_size: PageSize = 20, format: Literal["json", "csv"] = "json",
) -> Response:
    """The provider's activities with their learner records' Submitted/Accepted/Rejected counts and
    the (US Central) date learners were last updated. `title` and `provider_activity_id` match
    anywhere, case-insensitively."""
    filters = store.SummaryFilters(caller.provider_id, reporting_year, title, provider_activity_id, _board_code(board))
    if format == "csv":
        return stream_csv(request, lambda conn, prefetch: store.export_activity_summary(conn, filters, MAX_EXPORT, prefetch),
                          SUMMARY_CSV_HEADER, _summary_csv_row, "activity_learner_summary.csv")
    items, total = await store.activity_summary(rt(request).pool, filters, page_size, (page - 1) * page_size)
    return JSONResponse(paged("activities", items, total, page, page_size))


SUMMARY_CSV_HEADER = ["ACCME Activity ID", "Activity Title", "Activity Type", "Provider Activity ID", "Reporting Year",
                      "Boards or Programs", "Learners Last Updated", "Submitted", "Accepted", "Rejected"]


def _summary_csv_row(i: dict[str, Any]) -> list[Any]:
    return [i["activity_id"], i["title"], i["activity_type"], i["provider_activity_id"], i["reporting_year"],
            ", ".join(i["boards"]), i["learners_last_updated"], i["submitted"], i["accepted"], i["rejected"]]


def _board_code(board: str | None) -> str | None:
    if not board:
        return None
    found = catalog_board(board)
    if found is None:
        raise HTTPException(422, f"Unknown board or program {board!r}.")
    return found.code


@router.get("/{activity_id}", summary="Activity Detail with a page of its learner records per board",
            responses={**errors(404), **CSV_RESPONSE})
async def activity_detail(activity_id: IdPath, request: Request, caller: CallerDep, board: BoardQuery = None,
                          last_name: Text = None, first_name: Text = None, learner_id: Text = None,
                          status: Literal["Submitted", "Accepted", "Rejected"] | None = None,
                          page: Page = 1, page_size: PageSize = DETAIL_PAGE_SIZE,
                          format: Literal["json", "csv"] = "json") -> Response:
    """The activity's facts, its registrations with their counts, and one page (`page`,
    `page_size`, at most 1,000) of its learner records grouped by board, Deleted ones left out;
    `total` says how many match. Filters: `board=` for one, `last_name`, `first_name` and
    `learner_id` (anywhere, case-insensitively), `status`. `format=csv` exports every record of
    the activity (or of `board`), streamed."""
    activity = await store.own_activity(rt(request).pool, caller.provider_id, activity_id)
    if activity is None:
        raise HTTPException(404, "Activity not found.")
    code = _board_code(board)
    if format == "csv":
        return stream_csv(request, lambda conn, prefetch: export_activity_records(
            conn, caller.provider_id, activity_id, code, MAX_EXPORT, prefetch), RECORD_CSV_HEADER, record_csv_row,
            f"activity_{activity_id}.csv")
    filters = LearnerFilters(code, last_name, first_name, learner_id, status)
    detail = await store.activity_detail(rt(request).pool, activity, filters, page_size, (page - 1) * page_size)
    return JSONResponse(detail | {"page": page, "page_size": page_size})


async def learners_body(request: Request, _: CallerDep) -> ActivityLearnersIn:
    """The web form's rows, counted before they are parsed (`counted_json`); the caller first."""
    return counted_json(await request.body(), ActivityLearnersIn)


@router.post("/{activity_id}/learners", summary="Add learners to an activity (the web form's Save)",
             responses={**WAITED, **errors(404, 413)}, status_code=202, openapi_extra={"requestBody": {
                 "required": True, "content": {"application/json": {
                     "schema": {"$ref": "#/components/schemas/ActivityLearnersIn"}}}}})
async def add_learners(activity_id: IdPath, body: Annotated[ActivityLearnersIn, Depends(learners_body)],
                       request: Request, caller: CallerDep, wait: Wait = 0) -> Response:
    """One row per learner for this activity and board; answers like `POST /v1/learner-records`
    (with `?wait=`, each row's status or its errors, e.g. `664` for a date of birth the board
    does not know)."""
    if await store.own_activity(rt(request).pool, caller.provider_id, activity_id) is None:
        raise HTTPException(404, "Activity not found.")
    rows = [RowInput(activity_id=activity_id, board=body.board, **row_fields(learner)) for learner in body.learners]
    return await answer_submission(request, caller, "web", rows, wait)
