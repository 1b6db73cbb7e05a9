"""Sandbox PARS (seed S1 350, 462): a sandbox web-service credential's submission is validated and
answered exactly as in production, and nothing is stored, sent to a board or counted.

How (docs/seed-decisions.md, "Sandbox PARS"): intake builds the same row events it would publish,
with the activity snapshots it would attach, and asks the validator's read-only
`POST /v1/validate` (pars_validator.api), which decides them with its own rules against the
provider's credit ledger as its handler would, earlier rows of the call seen by later ones, and
writes nothing. A row that passes is then answered as its board would at once: a direct board's
verdict comes from the board gateway's read-only `POST /v1/match`, answered as learner match
answers it (718 for any refusal, under the provider's learner-match limits and lock: it tells as
much as a match would); a board that decides
within a day answers `Submitted`; a valid Delete answers `Deleted`. Either service away: 503
with Retry-After (api/peers.py).

Nothing here writes: no submission, record, outbox message, ledger entry or metric."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Annotated, Any, Literal

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from pars_contracts.boards import Processing
from pars_contracts.boards import board as catalog_board
from pars_contracts.codes import ERROR_MESSAGES, with_resolution
from pars_contracts.events import (
    LearnerRecordInvalid,
    LearnerRecordSubmitted,
    LearnerRecordValidated,
)
from pars_runtime.logs import get_logger

from ..auth import Caller
from ..domain.rows import RowInput
from ..store.activities import activity_snapshots
from .common import rt, settings
from .peers import ask, unavailable
from .routes_match import NO_MATCH, ask_board

log = get_logger(__name__)
VALIDATOR_AWAY = "The sandbox cannot validate right now; nothing was stored. Try again."


class Validated(BaseModel):
    type: Literal["LearnerRecordValidated"]
    payload: LearnerRecordValidated


class Invalid(BaseModel):
    type: Literal["LearnerRecordInvalid"]
    payload: LearnerRecordInvalid


class Validation(BaseModel):
    """The validator's answer (pars_validator.api): one outcome per record, in order."""

    outcomes: list[Annotated[Validated | Invalid, Field(discriminator="type")]]


def _event(caller: Caller, submission_id: str, row_number: int, row: RowInput, now: Any) -> LearnerRecordSubmitted:
    """The event intake would publish for this row (submit.submit_many), with a throwaway id; its
    activity snapshot travels beside it (validate_rows)."""
    return LearnerRecordSubmitted(
        record_id=str(uuid.uuid4()), submission_id=submission_id, upload_id=None, row_number=row_number,
        source="service", provider_id=caller.provider_id, activity_id=row.activity_id, board=row.board,
        action=row.action, learner_id_type=row.learner_id_type, learner_id=row.learner_id, npi=row.npi,
        first_name=row.first_name, last_name=row.last_name, date_of_birth=row.date_of_birth,
        completion_date=row.completion_date, credits=row.credits, credit_types=row.credit_types,
        credit_id=row.credit_id, format_errors=row.format_errors, submitted_at=now)


async def validate_rows(request: Request, caller: Caller, rows: list[RowInput],
                        ) -> list[LearnerRecordInvalid | LearnerRecordValidated]:
    """Every row's validation outcome, as the validator would decide it now; reads only."""
    runtime, config = rt(request), settings(request)
    submission_id, now = str(uuid.uuid4()), runtime.clock.now()
    wanted = {r.activity_id.strip() for r in rows if r.activity_id}
    async with runtime.pool.acquire() as conn:
        snapshots = await activity_snapshots(conn, {(caller.provider_id, a) for a in wanted})
    # Each snapshot once, under the id the rows give (trimmed), rather than a copy in every row.
    activities = {activity_id: snapshot for (_, activity_id), snapshot in snapshots.items()}
    events = [_event(caller, submission_id, n, row, now) for n, row in enumerate(rows, start=1)]
    question = {"records": [e.model_dump(mode="json", exclude={"activity"}) for e in events],
                "activities": {a: s.model_dump(mode="json") for a, s in activities.items()}}
    answer = await ask(config.validator_url, "/v1/validate", question, Validation, token=config.service_token,
                       timeout=config.validator_timeout, what="validator validation", detail=VALIDATOR_AWAY)
    if [o.payload.record_id for o in answer.outcomes] != [e.record_id for e in events]:
        log.error("the validator answered other records than asked", asked=len(events), answered=len(answer.outcomes))
        raise unavailable(VALIDATOR_AWAY)
    return [o.payload for o in answer.outcomes]


async def board_answers(request: Request, caller: Caller,
                        valid: list[LearnerRecordValidated]) -> dict[str, tuple[str | None, list[dict]]]:
    """Record id -> (status, errors) as each board would answer at once; asks nothing of a board
    that decides within a day, and sends nothing anywhere."""
    answers: dict[str, tuple[str | None, list[dict]]] = {}
    direct: dict[str, list[LearnerRecordValidated]] = defaultdict(list)
    for r in valid:
        found = catalog_board(r.board)
        if r.action == "Delete":
            answers[r.record_id] = ("Deleted", [])
        elif found is not None and found.processing is Processing.DIRECT:
            direct[found.code].append(r)
        else:
            answers[r.record_id] = ("Submitted", [])
    if not direct:
        return answers
    # A direct board's verdict says as much about a learner as learner match does: the same limits,
    # the same lock on the physician the board resolved, and like the match only 718 for a refusal
    # whatever the board's reason (a real submission gets the board's own code).
    for code, records in direct.items():
        learners = [{"learner_id": r.learner_id, "learner_id_type": r.learner_id_type, "npi": r.npi,
                     "first_name": r.first_name, "last_name": r.last_name, "date_of_birth": r.date_of_birth}
                    for r in records]
        results = await ask_board(request, caller, code, learners)
        for r, result in zip(records, results, strict=True):
            answers[r.record_id] = ("Accepted", []) if result.match else (
                None, [{"code": NO_MATCH, "message": ERROR_MESSAGES[NO_MATCH]}])
    return answers


async def answer_sandbox(request: Request, caller: Caller, rows: list[RowInput]) -> JSONResponse:
    """The production answer's shape (`?wait=` complete), with `"sandbox": true`, no submission id
    and no record ids: nothing was stored."""
    outcomes = await validate_rows(request, caller, rows)
    boards = await board_answers(request, caller, [o for o in outcomes if isinstance(o, LearnerRecordValidated)])
    answered = []
    for outcome in outcomes:
        item: dict[str, Any] = {"row": outcome.row_number, "record_id": None, "credit_id": outcome.credit_id}
        if isinstance(outcome, LearnerRecordInvalid):
            item["errors"] = with_resolution([e.model_dump(exclude_none=True) for e in outcome.errors])
        else:
            status, errors = boards.get(outcome.record_id, (None, [{"code": 998, "message": ERROR_MESSAGES[998]}]))
            if status is None:
                item["errors"] = with_resolution(errors)
            else:
                item["status"] = status
        answered.append(item)
    log.info("sandbox submission answered", provider_id=caller.provider_id, key_id=caller.key_id, rows=len(rows),
             valid=sum(1 for a in answered if "status" in a))
    return JSONResponse(status_code=200, content={"submission_id": None, "complete": True, "sandbox": True,
                                                  "rows": answered})
