"""Activity Detail with Add Learners Manually (the form itself is `assets/activity.js`, which
posts to the API), the activity's edit page, and a learner record's details with Delete."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pars_contracts.boards import BOARDS

from ..app_state import rt
from ..store import activities, records
from .pages import SignedIn, error_page, not_found, number, paging, render, text

router = APIRouter(prefix="/portal", include_in_schema=False)


PAGE_SIZE = 20  # "Showing lines 1 - 20 of 189 result(s) found" (the seed's Activity Detail)
FILTER_FIELDS = ("last_name", "first_name", "learner_id", "status")
DETAIL_STATUSES = ("Submitted", "Accepted", "Rejected")  # Deleted records are not listed


async def activity_detail(request: Request, who: dict[str, str], activity_id: str) -> dict[str, Any] | None:
    """Activity Detail as the API answers it (its first page of records); None when not the provider's."""
    activity = await activities.own_activity(rt(request).pool, who["provider_id"], activity_id)
    if activity is None:
        return None
    return await activities.activity_detail(rt(request).pool, activity, records.LearnerFilters(), PAGE_SIZE, 0)


@router.get("/activities/{activity_id}")
async def detail_page(activity_id: str, request: Request, who: SignedIn) -> Response:
    activity = await activities.own_activity(rt(request).pool, who["provider_id"], activity_id[:100])
    if activity is None:
        return error_page(who, not_found("Activity not found."), "Activity Detail")
    wanted = text(request, "board").upper()
    board = next((r.board for r in activity.registrations if r.board == wanted), activity.registrations[0].board)
    # FILTER OPTIONS on the selected board's learner data, and its page of PAGE_SIZE lines.
    form = {name: text(request, name) for name in FILTER_FIELDS}
    if form["status"] not in DETAIL_STATUSES:
        form["status"] = ""
    page = number(text(request, "page"), 1) or 1
    filters = records.LearnerFilters(None, form["last_name"] or None, form["first_name"] or None,
                                     form["learner_id"] or None, form["status"] or None)
    data = await activities.activity_detail(rt(request).pool, activity, filters, PAGE_SIZE, (page - 1) * PAGE_SIZE,
                                            records_of=board)
    counts = {b["board"]: b for b in data["boards"]}
    registrations = [{**r, "name": counts[r["board"]]["name"], "counts": counts[r["board"]]}
                     for r in data["registrations"]]
    selected = next(r for r in registrations if r["board"] == board)
    catalog = BOARDS.get(selected["board"])
    # "+ Other boards" on a manual-entry row: each other registered board, its id types and credit types
    others = [{**r, "id_types": BOARDS[r["board"]].learner_id_types if r["board"] in BOARDS else (r["board"],)}
              for r in registrations if r["board"] != selected["board"]]
    shown = data["records_by_board"].get(selected["board"], [])
    given = {"board": selected["board"], **{k: v for k, v in form.items() if v}}
    return render("detail.html", who=who, tab="activities", title=f"Activity Detail — {data['title']}",
                  activity=data, registrations=registrations, selected=selected, catalog=catalog, others=others,
                  records=shown, filters=form, filtered=any(form.values()), statuses=DETAIL_STATUSES,
                  paging=paging(data["total"], page, PAGE_SIZE, len(shown), given,
                                f"/portal/activities/{data['activity_id']}"),
                  export_url=f"/v1/activities/{data['activity_id']}?" + urlencode(
                      {"board": selected["board"], "format": "csv"}))


@router.get("/activities/{activity_id}/edit")
async def activity_edit_page(activity_id: str, request: Request, who: SignedIn) -> Response:
    """Edit the activity (PATCH /v1/activities/{id} from activity.js): its facts and, per board of
    the catalog, whether it is registered, its credit types and maximum points."""
    data = await activity_detail(request, who, activity_id[:100])
    if data is None:
        return error_page(who, not_found("Activity not found."), "Edit activity")
    current = {r["board"]: r for r in data["registrations"]}
    boards = [{"code": b.code, "name": b.name, "registered": b.code in current,
               "max_points": current[b.code]["max_points"] if b.code in current else "",
               "credit_types": [{"name": t.name, "offered": t.name in current.get(b.code, {}).get("credit_types", [])}
                                for t in b.credit_types]}
              for b in sorted(BOARDS.values(), key=lambda b: (b.code not in current, b.code))]
    return render("activity_edit.html", who=who, tab="activities", title=f"Edit activity — {data['title']}",
                  activity=data, boards=boards)


@router.get("/records/{record_id}")
async def record_page(record_id: str, request: Request, who: SignedIn) -> Response:
    stored = await records.own_record(rt(request).pool, who["provider_id"], record_id[:100])
    if stored is None:
        return error_page(who, not_found("Learner record not found."), "Learner record")
    record = records.record_view(stored)
    learner = await records.learner_records(rt(request).pool, who["provider_id"], stored)
    activity = await activities.own_activity(rt(request).pool, who["provider_id"], record["activity_id"])
    board = BOARDS.get(record["board"])
    return render("record.html", who=who, tab="activities", title="Learner record", record=record,
                  board_name=board.name if board else record["board"], learner=learner,
                  credit_columns=credit_type_columns(activity, learner["records"]))


def credit_type_columns(activity: Any, shown: list[dict[str, Any]]) -> list[str]:
    """The seed's Learner Records show a Yes/No column per credit type (001 541-545): the types the
    activity offers on the boards of the records shown, then any other type a record carries."""
    boards = {str(r["board"]).upper() for r in shown}
    offered = [t for reg in (activity.registrations if activity else []) if reg.board.upper() in boards
               for t in reg.credit_types]
    carried = [t for r in shown for t in r["credit_types"]]
    columns: dict[str, str] = {}
    for name in offered + carried:
        columns.setdefault(name.casefold(), name)
    return list(columns.values())
