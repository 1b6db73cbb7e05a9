"""The validator's HTTP app: health and metrics, and `POST /v1/validate`, what the PARS rules say
about records now, against this validator's ledger, writing nothing. Intake's Sandbox PARS asks
here instead of running the rules itself (services never import one another).

    POST /v1/validate   (Authorization: Bearer <service token>: intake only; 401 before the body is read)
    {"records": [LearnerRecordSubmitted without its "activity", ...],
     "activities": {"<activity id as the records give it, trimmed>": ActivityRegistered, ...}}
        the events intake would publish for a submission, and the activity snapshots it would attach
    200 {"outcomes": [{"type": "LearnerRecordValidated" | "LearnerRecordInvalid", "payload": {...}}, ...]}
        one per record, in order, decided as the validator's handler decides it: against the
        provider's ledger and the earlier records of the same request (kept in memory, never
        written), read in one READ ONLY transaction. 413 above MAX_BODY, 422 for a body that
        is no such request, 503 (Retry-After) while the database is away."""

from __future__ import annotations

from datetime import date

import asyncpg
from pydantic import BaseModel, ConfigDict, Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pars_contracts.events import ActivityRegistered, LearnerRecordSubmitted, LearnerRecordValidated
from pars_runtime.db import CONNECTION_LOST
from pars_runtime.logs import get_logger
from pars_runtime.ops import internal_question, ops_routes
from pars_runtime.service import Runtime

from . import ledger_store as store
from .domain.ledger import LedgerStatus
from .domain.rules import Outcome, credit_id_for
from .handlers import decide, key_of

log = get_logger(__name__)
# Intake's largest sandbox call (MAX_JSON_BYTES, 5 MB of rows) as events stays well below.
MAX_BODY = 64 * 1024 * 1024


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")

    records: list[LearnerRecordSubmitted] = Field(min_length=1)
    activities: dict[str, ActivityRegistered] = {}


async def validate_records(conn: asyncpg.Connection, records: list[LearnerRecordSubmitted],
                           today: date) -> list[Outcome]:
    """Each record's outcome, in order, as the handler decides it now (handlers.decide); reads only."""
    activities, ledger = store.PostgresActivities(conn), store.PostgresLedger(conn)
    records = [r if r.activity else r.model_copy(update={"activity": await activities.load(r.activity_id)})
               for r in records]
    await ledger.cover([(r.provider_id, key_of(r), credit_id_for(r)) for r in records])  # one read for all
    outcomes: list[Outcome] = []
    for row in records:
        key, outcome, fingerprint = await decide(row, activities, ledger, today)
        if isinstance(outcome, LearnerRecordValidated):  # seen by the later records, never written
            if outcome.action == "Add":
                ledger.add_pending(outcome, key, fingerprint)
            else:
                ledger.batch.changed(outcome.target_record_id, LedgerStatus.DELETE_PENDING)
        outcomes.append(outcome)
    return outcomes


def validate_route(rt: Runtime, service_token: str):  # noqa: ANN201 - a Starlette endpoint
    async def validate_endpoint(request: Request) -> JSONResponse:
        question = await internal_question(
            request, service_token, Question, MAX_BODY,
            "The validator's validation answers intake only: send the service token.")
        if isinstance(question, JSONResponse):
            return question
        records = [r.model_copy(update={"activity": question.activities.get((r.activity_id or "").strip())})
                   for r in question.records]
        try:
            async with rt.pool.acquire() as conn, conn.transaction(readonly=True):
                outcomes = await validate_records(conn, records, rt.clock.today())
        except (*CONNECTION_LOST, OSError) as exc:
            log.warning("database unavailable: validation answered 503", error=repr(exc)[:300])
            return JSONResponse({"detail": "The validator's database is unavailable; try again shortly."},
                                status_code=503, headers={"Retry-After": "2"})
        return JSONResponse({"outcomes": [{"type": type(o).__name__, "payload": o.model_dump(mode="json")}
                                          for o in outcomes]})

    return validate_endpoint


def http_app(service_token: str):  # noqa: ANN201 - builds the service's ASGI app from its runtime
    def build(rt: Runtime) -> Starlette:
        checks = {"postgres": rt.check_postgres, "kafka": rt.check_kafka}
        return Starlette(routes=[*ops_routes(rt.name, checks),
                                 Route("/v1/validate", validate_route(rt, service_token), methods=["POST"])])

    return build
