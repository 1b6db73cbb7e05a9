"""`POST /v1/match`: learner-match pre-validation. Checks identities against a board's registry
with the board's own rules, before anything is submitted; reads only, stores nothing.

Request: {"board": "ABIM", "learners": [{"learner_id", "learner_id_type", "npi", "first_name",
"last_name", "date_of_birth"}]} (at most 500). Answer: {"results": [{"match", "code", "message",
"physician"}]}, one per learner, in order. `physician` is the opaque match key of the physician the
board resolved the learner to (domain/matching.py `physician_key`), also when the date of birth or
name was then wrong, null when the board knows no such physician: intake locks wrong answers on it.
Only for a caller with the service token (`Authorization: Bearer`):
intake, which answers providers with no more than "match" or 718, rate-limited (security review
L6); anyone else gets 401 before the body is read."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.requests import Request
from starlette.responses import JSONResponse

from pars_contracts.boards import board as catalog_board
from pars_runtime.ops import internal_question
from pars_runtime.service import Runtime

from . import store
from .domain.matching import decide, physician_key

Text = Annotated[str, StringConstraints(max_length=300)] | None


class Learner(BaseModel):
    model_config = ConfigDict(extra="ignore")

    learner_id: Text = None
    learner_id_type: Text = None
    npi: Text = None
    first_name: Text = None
    last_name: Text = None
    date_of_birth: Text = None
    activity_id: None = None  # a pre-check concerns no activity: 709 cannot apply


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")

    board: Annotated[str, StringConstraints(max_length=20)]
    learners: list[Learner] = Field(min_length=1, max_length=500)


MAX_BODY = 1024 * 1024  # 500 learners of 6 fields of at most 300 characters fit well below


def match_route(rt: Runtime, service_token: str):  # noqa: ANN201 - a Starlette endpoint
    async def match(request: Request) -> JSONResponse:
        question = await internal_question(
            request, service_token, Question, MAX_BODY,
            "The board gateway's match answers intake only: send the service token.")
        if isinstance(question, JSONResponse):
            return question
        found = catalog_board(question.board)
        if found is None:
            return JSONResponse({"detail": f"Unknown board {question.board!r}."}, status_code=422)
        results = []
        async with rt.pool.acquire() as conn:
            registry = await store.candidates(conn, found.code, question.learners)  # type: ignore[arg-type]
            for learner, candidates in zip(question.learners, registry, strict=True):
                verdict = decide(learner, candidates, found.code)  # type: ignore[arg-type]
                err = verdict.errors[0] if verdict.errors else None
                results.append({"match": verdict.accepted, "code": err.code if err else None,
                                "message": err.message if err else None,
                                "physician": physician_key(learner, candidates)})  # type: ignore[arg-type]
        return JSONResponse({"results": results})

    return match
