"""The operations dashboard (admin token) and the admin API for dead letters."""

from __future__ import annotations

from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from pars_runtime.deadletters import MAX_LIMIT, page_dead_letters, replay

from ..auth import admin_caller
from .history import last_hour
from .summary import gather

api = APIRouter(prefix="/v1/admin", tags=["operations"], dependencies=[Depends(admin_caller)])
page = APIRouter(tags=["operations"])
# The page has an inline script and styles, and holds the admin token in sessionStorage: no
# framing (clickjacking), nothing loaded or sent anywhere but this origin.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' "
                               "'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; "
                               "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[str, Field(max_length=300)]] = Field(default=[], max_length=10000)
    all: bool = False


@api.get("/ops/summary", summary="Everything the operations dashboard shows, in one document")
async def ops_summary(request: Request) -> dict:
    return await gather(request.app.state.rt, request.app.state.settings)


@api.get("/ops/history", summary="The dashboard's charts over the last hour: records/s per stage, lag, backlog")
async def ops_history(request: Request) -> dict:
    return await last_hour(request.app.state.rt.pool, request.app.state.settings)


@api.get("/dead-letters", summary="Dead letters of every consumer group, with their reason (paged)")
async def dead_letters(request: Request, limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
                       cursor: Annotated[str | None, Query(max_length=20000)] = None) -> dict:
    """The newest `limit` dead letters of each partition (only those offsets are read, and each
    message's preview is cut to 300 bytes); `next` is the cursor of the older page, or null."""
    letters, older = await page_dead_letters(request.app.state.rt.settings, limit, cursor)
    return {"dead_letters": [d.as_dict() for d in letters], "next": older}


@api.post("/dead-letters/replay", summary="Replay dead letters to their original topics (idempotent)")
async def replay_dead_letters(request: Request, body: Annotated[ReplayIn, Body()]) -> dict:
    if not body.all and not body.ids:
        raise HTTPException(422, "Name the dead letters to replay in 'ids', or set 'all': true.")
    rt = request.app.state.rt
    done = await replay(rt.settings, rt.producer, None if body.all else set(body.ids))
    missing = sorted(set(body.ids) - set(done.replayed) - {s["id"] for s in done.skipped})
    if missing and not body.all:
        raise HTTPException(404, f"No such dead letter: {', '.join(missing[:5])}.")
    return {"replayed": done.replayed, "skipped": done.skipped}


@page.get("/ops", response_class=HTMLResponse, include_in_schema=False)
async def ops_page() -> HTMLResponse:
    return HTMLResponse(resources.files("pars_intake.ops").joinpath("templates/ops.html").read_text(), headers=PAGE_HEADERS)
