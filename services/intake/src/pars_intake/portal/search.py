"""Learner Search: the form's criteria checked as the API checks them (`service_layer.search`),
a page of matching learner records, or all of them as CSV."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from pars_contracts.boards import BOARDS, BoardKind
from pars_contracts.values import parse_completion_date

from ..app_state import rt
from ..service_layer.exports import MAX_EXPORT, RECORD_CSV_HEADER, record_csv_row, stream_csv
from ..service_layer.search import CriteriaError, search_filters
from ..store import records
from .pages import STATUSES, SignedIn, number, paging, render, text

router = APIRouter(prefix="/portal", include_in_schema=False)
SEARCH_FIELDS = ("activity_title", "last_name", "submitted_from", "submitted_to", "board", "state_board",
                 "activity_id", "provider_activity_id", "learner_id", "id_type", "status", "completed_from",
                 "completed_to")
PAGE_SIZE = 50


def search_criteria(request: Request) -> tuple[dict[str, str], dict[str, Any], list[str]]:
    """The form's values as given, the API's arguments, and what is wrong with them."""
    form = {name: text(request, name) for name in SEARCH_FIELDS}
    args: dict[str, Any] = {name: form[name] or None for name in SEARCH_FIELDS}
    problems = []
    for name, label in (("submitted_from", "Submission date from"), ("submitted_to", "Submission date to"),
                        ("completed_from", "Completion date from"), ("completed_to", "Completion date to")):
        if form[name]:
            args[name] = parse_completion_date(form[name])
            if args[name] is None:
                problems.append(f"{label}: enter a date as mm/dd/yyyy.")
            else:
                form[name] = args[name].isoformat()  # what a date input shows
    if form["status"] and form["status"] not in STATUSES:
        problems.append("Status: choose one of the list.")
        args["status"] = None
    for name, kind in (("board", BoardKind.CERTIFYING), ("state_board", BoardKind.STATE)):
        found = BOARDS.get(form[name].upper())
        if form[name] and (found is None or found.kind is not kind):
            problems.append(f"{'Specialty' if name == 'board' else 'State medical'} board: choose one of the list.")
            args[name] = None
    if not (form["activity_title"] or form["last_name"] or (form["submitted_from"] and form["submitted_to"])):
        problems.insert(0, "Fill in at least one of the required fields: Activity title keyword, Learner last name, "
                           "or both dates of the Submission date range.")
    return form, args, problems


@router.get("/search")
async def search_page(request: Request, who: SignedIn) -> Response:
    form, args, problems = search_criteria(request)
    context: dict[str, Any] = {"who": who, "tab": "search", "title": "Learner Search", "form": form,
                               "searched": bool(request.query_params), "problems": problems}
    if not request.query_params or problems:
        return render("search.html", 422 if problems and request.query_params else 200, **context)
    page, size = number(text(request, "page"), 1) or 1, PAGE_SIZE
    try:
        filters = search_filters(who["provider_id"], **args)
        if request.query_params.get("export"):
            return stream_csv(request, lambda conn, prefetch: records.export_search(conn, filters, MAX_EXPORT,
                                                                                    prefetch),
                              RECORD_CSV_HEADER, record_csv_row, "learner_search.csv")
    except CriteriaError as exc:
        return render("search.html", 422, **{**context, "problems": [str(exc)]})
    except HTTPException as exc:  # 429: too many exports at once
        return render("search.html", exc.status_code, **{**context, "problems": [str(exc.detail)]})
    found, total = await records.search_records(rt(request).pool, filters, size, (page - 1) * size)
    given = {k: v for k, v in form.items() if v}
    return render("search.html", **context, records=found,
                  paging=paging(total, page, size, len(found), given, "/portal/search"))
