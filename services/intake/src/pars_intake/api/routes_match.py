"""Learner match: pre-validation of identities against a board's registry, before submitting.
Nothing is stored and no event is sent.

The registries belong to the board gateway (its own schema), so intake asks it over HTTP:

    POST {BOARD_GATEWAY_URL}/v1/match
    {"board": "ABIM", "learners": [{"learner_id", "learner_id_type", "npi", "first_name", "last_name",
                                    "date_of_birth"}, ...]}          (values may be null; DOB "MM/DD")
    200 {"results": [{"match": true|false, "code": 661|664|665|709|718|null, "message": str|null}, ...]}
        one result per learner, in order, decided exactly as the board decides a record.

A pre-check is advisory, so when the gateway cannot answer the caller gets a clear 503 and
may simply submit: the board's own decision does not depend on this call.

The answer must not be an oracle for a physician's date of birth, or for which board ids exist: a
caller learns only "matches" or "does not match" (718, whatever the board's reason: unknown id,
date of birth, name or namesakes; a submission still gets the board's own code). A call holds at
most MATCH_MAX_LEARNERS learners, each identity once; every learner checked takes a token from the
provider's match bucket (MATCH_LEARNERS_PER_MINUTE, MATCH_BURST); and after
MATCH_FAILURES_PER_LEARNER wrong answers in a day for one learner id, that id is not checked again
for the provider until the day has passed (429), so dates of birth cannot be tried one by one."""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict

from pars_contracts.boards import board as catalog_board
from pars_contracts.codes import ERROR_MESSAGES, resolution
from pars_contracts.values import parse_dob
from pars_runtime.logs import get_logger

from ..auth import Caller, provider_caller
from ..ratelimit import too_many
from .common import rt, settings
from .models import MatchIn
from .peers import ask, unavailable

log = get_logger(__name__)
router = APIRouter(tags=["learner records"])
NO_MATCH = 718  # "Unable to match a learner with the information provided": says nothing of why
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
async def learner_match(body: MatchIn, request: Request, caller: Annotated[Caller, Depends(provider_caller)]) -> dict:
    """Per learner, in order: `match`, and when it does not match, `718` (unable to match a learner
    with the information provided), whatever the reason: a submission gets the board's own code.
    At most `MATCH_MAX_LEARNERS` learners a call, each once; rate-limited per provider (429)."""
    found = catalog_board(body.board)
    if found is None:
        raise HTTPException(422, f"Unknown board or program {body.board!r}.")
    config = settings(request)
    if len(body.learners) > config.match_max_learners:
        raise HTTPException(422, f"At most {config.match_max_learners} learners a call.")
    identities = [identity(found.code, learner) for learner in body.learners]
    if len(set(identities)) < len(identities):
        raise HTTPException(422, "Each learner may appear once in a call.")
    failures, pool = request.app.state.match_failures, rt(request).pool
    keys = [f"{caller.provider_id}:{i}" for i in identities]
    locked = await failures.locked_for(pool, keys)
    if locked > 0:
        log.warning("learner match refused: too many wrong answers for a learner", provider_id=caller.provider_id,
                    board=found.code)
        raise too_many(locked, "wrong answers for this learner")
    request.app.state.match_limits.check(caller.provider_id, len(identities), "learner matches")
    learners = [learner.model_dump() | {"date_of_birth": parse_dob(learner.date_of_birth) or learner.date_of_birth}
                for learner in body.learners]
    answer = await _ask_gateway(request, {"board": found.code, "learners": learners})
    if len(answer.results) != len(learners):
        log.error("board gateway answered a different number of results", asked=len(learners),
                  answered=len(answer.results))
        raise unavailable(UNAVAILABLE)
    await failures.fail(pool, [key for key, result in zip(keys, answer.results, strict=True) if not result.match])
    log.info("learner match", provider_id=caller.provider_id, user_id=caller.user_id, board=found.code,
             learners=len(learners), matched=sum(r.match for r in answer.results))
    return {"board": found.code, "results": [
        {"row": n, "match": r.match, "errors": [] if r.match else [
            {"code": NO_MATCH, "message": ERROR_MESSAGES[NO_MATCH], "resolution": resolution(NO_MATCH)}]}
        for n, r in enumerate(answer.results, start=1)]}


class Named(Protocol):
    """A learner as learner match and Sandbox PARS name one (a match request's learner, a validated record)."""

    @property
    def learner_id(self) -> str | None: ...
    @property
    def npi(self) -> str | None: ...
    @property
    def first_name(self) -> str | None: ...
    @property
    def last_name(self) -> str | None: ...


def identity(board: str, learner: Named) -> str:
    """Whom a learner names: the board id (or NPI), or for a board without ids the name."""
    wanted = "".join((learner.learner_id or learner.npi or "").split()).upper()
    name = " ".join(f"{learner.last_name or ''} {learner.first_name or ''}".split()).casefold()
    return f"{board}:{wanted}" if wanted else f"{board}:name:{name}"


async def _ask_gateway(request: Request, question: dict) -> GatewayAnswer:
    config = settings(request)
    return await ask(config.board_gateway_url, "/v1/match", question, GatewayAnswer, token=config.service_token,
                     timeout=config.board_gateway_timeout, what="board gateway match", detail=UNAVAILABLE)
