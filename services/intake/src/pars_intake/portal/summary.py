"""Activity Learner Summary: the provider's activities of a reporting year, filtered and paged,
with each one's counts of learner records by status, and their CSV export (the API's)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pars_contracts.boards import BOARDS
from pars_contracts.boards import board as catalog_board

from ..app_state import rt
from ..store import activities
from .pages import SignedIn, number, paging, render, text

router = APIRouter(prefix="/portal", include_in_schema=False)
PAGE_SIZE = 20


@router.get("/activities")
async def summary_page(request: Request, who: SignedIn) -> Response:
    today_year = rt(request).clock.today().year
    year_text = request.query_params.get("reporting_year")
    year = today_year if year_text is None else number(year_text.strip(), None)
    board = text(request, "board").upper()
    filters = {"reporting_year": str(year or ""), "title": text(request, "title"),
               "provider_activity_id": text(request, "provider_activity_id"), "board": board if board in BOARDS else ""}
    page, size = number(text(request, "page"), 1) or 1, PAGE_SIZE
    found = catalog_board(filters["board"]) if filters["board"] else None
    items, total = await activities.activity_summary(rt(request).pool, activities.SummaryFilters(
        who["provider_id"], year, filters["title"] or None, filters["provider_activity_id"] or None,
        found.code if found else None), size, (page - 1) * size)
    years = await activities.reporting_years(rt(request).pool, who["provider_id"])
    given = {k: v for k, v in filters.items() if v}
    return render("summary.html", who=who, tab="activities", title="Activity Learner Summary", filters=filters,
                  years=sorted(years | {today_year} | ({year} if year else set()), reverse=True),
                  activities=items,
                  paging=paging(total, page, size, len(items),
                                {**given, "reporting_year": filters["reporting_year"]}, "/portal/activities"),
                  export_url="/v1/activities?" + urlencode({**given, "format": "csv"}))
