"""Submitting rows from the JSON API and answering: 202 at once, or 200 with every row's first
outcome when the caller asks to `?wait=` (the web form's immediate "Errors:" feedback)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from pars_contracts.events import Source
from pars_runtime.logs import bind_contextvars, get_logger
from pars_runtime.service import Runtime
from pars_runtime.settings import ServiceSettings

from ..auth import Caller, spend_rows
from ..domain.rows import MAX_RECORDS, RowInput
from ..grouped import Grouped
from ..ratelimit import body_done
from ..store.records import submission_rows
from ..submit import Submission, SubmittedRow, submit_many
from .common import rt, wait_for_outcomes
from .rems import refuse_unless_participant
from .sandbox import answer_sandbox

log = get_logger(__name__)


def row_fields(learner: Any) -> dict[str, Any]:
    """A LearnerIn/RecordIn as RowInput fields: trimmed strings, None where empty."""
    data = learner.model_dump(exclude={"activity_id", "board"})
    data["credits"] = None if data["credits"] is None else str(data["credits"])
    data["credit_types"] = [t.strip() for t in data["credit_types"] if t and t.strip()]
    return {k: (v.strip() or None) if isinstance(v, str) else v for k, v in data.items()}


def submission_writer(runtime: Runtime, settings: ServiceSettings) -> Grouped[Submission, list[SubmittedRow]]:
    """Group commit (grouped.py) of the web service's and the web form's submissions: those that
    arrive while one transaction runs are stored together in the next, of at most MAX_RECORDS rows
    (what one request may send). A one-record request paid a transaction of its own (BEGIN, the
    submission, the activity lookup, the record, the outbox write, COMMIT) and, downstream, a relay
    pass and Kafka batches of one; each is still answered only once its transaction committed."""
    async def store(submissions: list[Submission]) -> list[list[SubmittedRow]]:
        async with runtime.pool.acquire() as conn, conn.transaction():
            return await submit_many(conn, settings, submissions)

    return Grouped(store, MAX_RECORDS, size=lambda submission: len(submission.rows))


async def answer_submission(request: Request, caller: Caller, source: Source, rows: list[RowInput],
                            wait: float, target_record_id: str | None = None) -> JSONResponse:
    await spend_rows(request, caller, len(rows))
    await refuse_unless_participant(rt(request).pool, caller.provider_id, (r.board for r in rows),
                                    "learners cannot be reported for it, and no record was stored.")
    if caller.sandbox:  # Sandbox PARS: validated and answered, never stored (api/sandbox.py)
        return await answer_sandbox(request, caller, rows)
    runtime = rt(request)
    submission = Submission(provider_id=caller.provider_id, source=source,
                            rows=[(n, row, None) for n, row in enumerate(rows, start=1)], now=runtime.clock.now(),
                            user_email=caller.email, target_record_id=target_record_id)
    # Stored with the submissions that came meanwhile, in one transaction; answered once it committed.
    submitted = await request.app.state.submissions(submission)
    submission_id = submission.submission_id
    # From here on this request's log lines carry the id every event of the submission carries.
    bind_contextvars(correlation_id=submission_id, provider_id=caller.provider_id)
    log.info("submission accepted", source=source, rows=len(rows))
    body_done(request.scope)  # waiting for the outcomes holds no place among the bodies in flight
    if wait <= 0:
        return JSONResponse(status_code=202, content={
            "submission_id": submission_id,
            "rows": [{"row": s.row_number, "record_id": s.record_id, "credit_id": s.credit_id} for s in submitted]})
    answered = await wait_for_outcomes(request, submission_id, wait)  # None: not all outcomes in time
    return JSONResponse(status_code=202 if answered is None else 200, content={
        "submission_id": submission_id, "complete": answered is not None,
        "rows": await submission_rows(runtime.pool, submission_id) if answered is None else answered})
