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
provider's match bucket (MATCH_LEARNERS_PER_MINUTE, MATCH_BURST; kept in PostgreSQL like the rate
limits, so every intake instance spends the same one); and after
MATCH_FAILURES_PER_LEARNER wrong answers in a day for one physician, that physician is not checked
again for the provider until the day has passed (429), so dates of birth cannot be tried one by one.

The wrong answers are counted on the physician the board resolved the learner to (the gateway's
opaque `physician` key), not on the id or name the caller sent: the board finds a physician by
learner id, then NPI, and compares names without accents, so another id or spelling of the same
physician would otherwise start a fresh count (security review N3). A learner the board does not
know is counted on what the caller sent. Each different date of birth or name tried on one
physician in a call is a wrong answer of its own, and a call whose wrong answers pass the day's
limit is not answered (429, counted all the same), nor is one on a locked physician, a match
included."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict

from pars_contracts.boards import board as catalog_board
from pars_contracts.codes import ERROR_MESSAGES, resolution
from pars_contracts.values import parse_dob
from pars_runtime.logs import get_logger

from ..auth import Caller, provider_caller
from ..ratelimit import FailureWindow, too_many
from ..store.match_failures import Db
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
    physician: str | None = None  # the gateway's opaque key of the physician it resolved (None: none)


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
    identities = [identity(found.code, learner.model_dump()) for learner in body.learners]
    if len(set(identities)) < len(identities):
        raise HTTPException(422, "Each learner may appear once in a call.")
    learners = [learner.model_dump() | {"date_of_birth": parse_dob(learner.date_of_birth) or learner.date_of_birth}
                for learner in body.learners]
    results = await ask_board(request, caller, found.code, learners)
    log.info("learner match", provider_id=caller.provider_id, user_id=caller.user_id, board=found.code,
             learners=len(learners), matched=sum(r.match for r in results))
    return {"board": found.code, "results": [
        {"row": n, "match": r.match, "errors": [] if r.match else [
            {"code": NO_MATCH, "message": ERROR_MESSAGES[NO_MATCH], "resolution": resolution(NO_MATCH)}]}
        for n, r in enumerate(results, start=1)]}


def identity(board: str, learner: Mapping[str, Any]) -> str:
    """Whom a learner names as the caller sent it: the board id (or NPI), or for a board without ids
    the name. Counts wrong answers only on a learner the board does not know (ask_board)."""
    wanted = "".join((learner.get("learner_id") or learner.get("npi") or "").split()).upper()
    name = " ".join(f"{learner.get('last_name') or ''} {learner.get('first_name') or ''}".split()).casefold()
    return f"{board}:{wanted}" if wanted else f"{board}:name:{name}"


async def ask_board(request: Request, caller: Caller, board: str, learners: list[dict]) -> list[GatewayResult]:
    """The board's verdict on each learner (the gateway's `POST /v1/match` question's learners), under
    the provider's learner-match limits; wrong answers are counted on the physician the board
    resolved (learner match and Sandbox PARS alike). 429 when a learner's physician, or what the
    caller sent for one the board does not know, is locked, or when the call's wrong answers on one
    physician pass what is left of the day's (then they are counted all the same)."""
    failures, pool = request.app.state.match_failures, rt(request).pool
    sent = [lock_key(caller.provider_id, identity(board, learner)) for learner in learners]
    await _refuse_if_locked(failures, pool, sent, caller, board)
    await request.app.state.match_limits.check(pool, caller.provider_id, len(learners), "learner matches")
    answer = await _ask_gateway(request, {"board": board, "learners": learners})
    if len(answer.results) != len(learners):
        log.error("board gateway answered a different number of results", asked=len(learners),
                  answered=len(answer.results))
        raise unavailable(UNAVAILABLE)
    keys = [lock_key(caller.provider_id, f"{board}:physician:{r.physician}") if r.physician else key
            for key, r in zip(sent, answer.results, strict=True)]
    spent = await failures.counts(pool, sorted(set(keys)))
    if any(spent.get(key, 0) >= failures.limit for key in keys):  # another id or spelling of a locked physician
        await _refuse_if_locked(failures, pool, keys, caller, board)
    # Each different date of birth or name tried on one physician is one wrong answer: one call
    # with several ids of the physician must not try more than a day allows. Counted before the
    # answer, which is withheld (429) when they pass the limit, so that the call tells nothing.
    wrong: dict[str, set[tuple[str, ...]]] = {}
    for key, learner, result in zip(keys, learners, answer.results, strict=True):
        if not result.match:
            wrong.setdefault(key, set()).add(_guess(learner))
    await failures.fail(pool, [key for key, guesses in wrong.items() for _ in guesses])
    if any(spent.get(key, 0) + len(guesses) > failures.limit for key, guesses in wrong.items()):
        await _refuse_if_locked(failures, pool, list(wrong), caller, board)
    return answer.results


def lock_key(provider_id: str, whom: str) -> str:
    return f"{provider_id}:{whom}"


async def _refuse_if_locked(failures: FailureWindow, pool: Db, keys: list[str], caller: Caller, board: str) -> None:
    locked = await failures.locked_for(pool, keys)
    if locked > 0:
        log.warning("learner match refused: too many wrong answers for a learner", provider_id=caller.provider_id,
                    board=board)
        raise too_many(locked, "wrong answers for this learner")


def _guess(learner: dict) -> tuple[str, ...]:
    """What a learner tries on a physician: a date of birth and a name, compared as the board does
    (case, accents and spaces aside)."""
    return tuple(_fold(str(learner.get(f) or "")) for f in ("date_of_birth", "first_name", "last_name"))


def _fold(text: str) -> str:
    bare = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(bare.split()).casefold()


async def _ask_gateway(request: Request, question: dict) -> GatewayAnswer:
    config = settings(request)
    return await ask(config.board_gateway_url, "/v1/match", question, GatewayAnswer, token=config.service_token,
                     timeout=config.board_gateway_timeout, what="board gateway match", detail=UNAVAILABLE)
