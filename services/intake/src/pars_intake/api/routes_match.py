"""Learner match: pre-validation of identities against a board's registry, before submitting.
Nothing is stored and no event is sent.

The registries belong to the board gateway (its own schema), so intake asks it over HTTP:

    POST {BOARD_GATEWAY_URL}/v1/match
    {"board": "ABIM", "learners": [{"learner_id", "learner_id_type", "npi", "first_name", "last_name",
                                    "date_of_birth"}, ...]}          (values may be null; DOB "MM/DD")
    200 {"results": [{"match": true|false, "code": 661|664|665|709|718|null, "message": str|null}, ...]}
        one result per learner, in order, decided exactly as the board decides a record.

A pre-check is advisory, so when the gateway cannot answer the caller gets a clear 503 and
may simply submit: the board's own decision does not depend on this call."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, ValidationError

from pars_contracts.boards import board as catalog_board
from pars_contracts.codes import ERROR_MESSAGES
from pars_contracts.values import parse_dob
from pars_runtime.logs import get_logger

from ..auth import Caller, provider_caller
from .common import settings
from .models import MatchIn

log = get_logger(__name__)
router = APIRouter(tags=["learner records"])
UNAVAILABLE = "The boards' registries cannot be checked right now; nothing was stored. Try again, or submit."


class GatewayResult(BaseModel):
    model_config = ConfigDict(extra="ignore")

    match: bool
    code: int | None = None
    message: str | None = None


class GatewayAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    results: list[GatewayResult]


@router.post("/v1/learner-match", summary="Check learners against a board's registry (nothing is stored)")
async def learner_match(body: MatchIn, request: Request, _: Annotated[Caller, Depends(provider_caller)]) -> dict:
    """Per learner, in order: `match`, and when it does not match the board's error
    (`661` not found, `664` date of birth, `665` name, `718` ambiguous...), as a submission would get it."""
    found = catalog_board(body.board)
    if found is None:
        raise HTTPException(422, f"Unknown board or program {body.board!r}.")
    learners = [learner.model_dump() | {"date_of_birth": parse_dob(learner.date_of_birth) or learner.date_of_birth}
                for learner in body.learners]
    answer = await _ask_gateway(request, {"board": found.code, "learners": learners})
    if len(answer.results) != len(learners):
        log.error("board gateway answered a different number of results", asked=len(learners),
                  answered=len(answer.results))
        raise HTTPException(503, UNAVAILABLE)
    return {"board": found.code, "results": [
        {"row": n, "match": r.match,
         "errors": [] if r.match or r.code is None else
         [{"code": r.code, "message": r.message or ERROR_MESSAGES.get(r.code, "")}]}
        for n, r in enumerate(answer.results, start=1)]}


async def _ask_gateway(request: Request, question: dict) -> GatewayAnswer:
    config = settings(request)
    if not config.board_gateway_url:
        raise HTTPException(503, UNAVAILABLE)
    url = config.board_gateway_url.rstrip("/") + "/v1/match"
    try:
        async with httpx.AsyncClient(timeout=config.board_gateway_timeout) as client:
            response = await client.post(url, json=question)
        response.raise_for_status()
        return GatewayAnswer.model_validate_json(response.content)
    except (httpx.HTTPError, ValidationError) as exc:
        log.warning("board gateway match failed", url=url, error=repr(exc)[:300])
        raise HTTPException(503, UNAVAILABLE) from None
