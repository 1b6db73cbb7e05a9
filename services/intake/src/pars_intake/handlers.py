"""Intake's consumers: the read models follow the validator's and the board's decisions, and
upstream systems' completion events enter the pipeline here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date

import asyncpg
import orjson
from pydantic import BaseModel

from pars_contracts import topics
from pars_contracts.boards import is_rems
from pars_contracts.codes import ErrorDetail
from pars_contracts.events import (
    MAX_REPORT_PART_CHARS,
    BoardDecision,
    LearnerRecordInvalid,
    Status,
    UploadCompleted,
    UploadErrorReportPart,
    UpstreamCompletion,
    UpstreamOutcome,
)
from pars_runtime import metrics
from pars_runtime.clock import CENTRAL, Clock
from pars_runtime.messages import Outgoing
from pars_runtime.processor import BatchState, DeadLetter, Handler, Unit
from pars_runtime.settings import ServiceSettings

from .domain.rems import NOT_PARTICIPATING
from .domain.reports import error_report_tsv, report_parts
from .domain.upstream import upstream_problem, upstream_row
from .store import provider_exists
from .store.providers import is_rems_participant
from .submit import Submission, submit_many
from .waiters import Waiters

PROCESSED = ("Submitted", "Accepted", "Deleted")
Emit = Callable[..., Outgoing]  # Emitter.emit: (topic, key, event, *, provider_id=, correlation_id=)


UploadCounter = Callable[[str, bool], Awaitable[None]]  # (upload id, processed)


_FIRST_OUTCOME = (
    "UPDATE records r SET outcome = t.outcome, errors = t.errors::jsonb, status = coalesce(t.status, r.status), "
    "first_outcome_at = now(), updated_at = now(), credit_id = coalesce(r.credit_id, t.credit_id) "
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS t(record_id, outcome, errors, status, "
    "credit_id) WHERE r.record_id = t.record_id AND r.record_id = ANY($1::text[]) AND r.outcome IS NULL "
    "RETURNING r.record_id, submission_id, upload_id, source, source_message_id, provider_id, r.credit_id")


@dataclass
class Outcome:
    """A row's outcome as a consumer learns it; only the first one a row gets is counted."""

    record_id: str
    outcome: str
    errors: list[ErrorDetail]
    status: Status | None
    credit_id: str | None = None  # the one the validator derived for a row that carried none
    # A later status (Accepted after Submitted) updates the record; its first outcome stays.
    update_status_if_not_first: bool = False


async def record_first_outcome(conn: asyncpg.Connection, emit: Emit, record_id: str, outcome: str,
                               errors: list[ErrorDetail], status: Status | None) -> str | None:
    """One row's first outcome (the sweep's 998); see `record_first_outcomes`."""
    found = await record_first_outcomes(conn, [(Outcome(record_id, outcome, errors, status), emit)], None)
    return found[0]


async def record_first_outcomes(conn: asyncpg.Connection, outcomes: list[tuple[Outcome, Emit]],
                                count: UploadCounter | None) -> list[str | None]:
    """Rows' first outcomes, each counted once, in one statement: the uploads' progress and the
    upstream outcomes follow. Returns, per outcome, the row's submission id (for its waiters),
    or None when it was not the row's first (the row had one, or an earlier one of this list)."""
    candidates: dict[str, Outcome] = {}
    for o, _ in outcomes:
        candidates.setdefault(o.record_id, o)
    rows = await conn.fetch(_FIRST_OUTCOME, list(candidates), [o.outcome for o in candidates.values()],
                            [orjson.dumps([e.model_dump() for e in o.errors]).decode() for o in candidates.values()],
                            [o.status for o in candidates.values()], [o.credit_id for o in candidates.values()])
    firsts = {r["record_id"]: r for r in rows}
    result: list[str | None] = []
    later_statuses = []
    for o, emit in outcomes:
        row = firsts.get(o.record_id) if candidates[o.record_id] is o else None
        if row is None:
            result.append(None)
            if o.update_status_if_not_first:
                later_statuses.append((o.record_id, o.status))
            continue
        if row["upload_id"]:
            if count is None:
                await count_upload_rows(conn, emit, row["upload_id"], 1, int(o.outcome in PROCESSED))
            else:
                await count(row["upload_id"], o.outcome in PROCESSED)
        if row["source"] == "stream" and row["source_message_id"]:
            emit(topics.outcomes_topic(row["provider_id"]), row["provider_id"], UpstreamOutcome(
                source_message_id=row["source_message_id"], provider_id=row["provider_id"], record_id=o.record_id,
                credit_id=row["credit_id"], status=o.status if o.outcome in PROCESSED else None, errors=o.errors),
                provider_id=row["provider_id"], correlation_id=row["submission_id"])
        result.append(str(row["submission_id"]))
    if later_statuses:
        await conn.executemany("UPDATE records SET status = $2, updated_at = now() WHERE record_id = $1 "
                               "AND status IS DISTINCT FROM 'Deleted'", later_statuses)
    return result


async def count_upload_rows(conn: asyncpg.Connection, emit: Emit, upload_id: str, done: int, processed: int) -> None:
    """Adds rows that got their first outcome to the upload; the last one completes it."""
    upload = await conn.fetchrow(
        "UPDATE uploads SET done = done + $2, processed = processed + $3, not_processed = not_processed + $2 - $3 "
        "WHERE upload_id = $1 RETURNING *", upload_id, done, processed)
    if upload is None or upload["done"] < upload["records"]:
        return
    completed = await conn.fetchrow(
        "UPDATE uploads SET status = 'completed', completed_at = now() WHERE upload_id = $1 AND status = 'processing' "
        "RETURNING *", upload_id)
    if completed is None:
        return
    failed = await not_processed_rows(conn, upload_id)
    by_code = Counter(e.code for _, errs, _ in failed for e in errs)
    metrics.UPLOAD_SECONDS.observe((completed["completed_at"] - completed["created_at"]).total_seconds())
    # The report travels in bounded parts, on the completion's topic and key so they arrive first;
    # the completion itself carries counts and references only (review H3).
    parts = report_parts(error_report_tsv(failed), MAX_REPORT_PART_CHARS) if failed else []
    for number, text in enumerate(parts, 1):
        emit(topics.UPLOADS_COMPLETED.name, completed["provider_id"], UploadErrorReportPart(
            upload_id=upload_id, provider_id=completed["provider_id"], part=number, parts=len(parts), tsv=text),
            provider_id=completed["provider_id"], correlation_id=upload_id)
    emit(topics.UPLOADS_COMPLETED.name, completed["provider_id"], UploadCompleted(
        upload_id=upload_id, provider_id=completed["provider_id"], uploader_email=completed["user_email"],
        file_name=completed["file_name"], file_format=completed["file_format"], uploaded_at=completed["created_at"],
        completed_at=completed["completed_at"], records=completed["records"], processed=completed["processed"],
        not_processed=completed["not_processed"], errors_by_code=dict(by_code),
        error_report_file_name=error_report_name(completed["file_name"]), error_report_parts=len(parts)),
        provider_id=completed["provider_id"], correlation_id=upload_id)


def error_report_name(file_name: str) -> str:
    stem = file_name.rsplit(".", 1)[0] or "upload"
    return f"{stem}_errors.txt"


async def not_processed_rows(conn: asyncpg.Connection, upload_id: str,
                             ) -> list[tuple[list[str], list[ErrorDetail], date | None]]:
    """The upload's rows for its error report: those PARS or a direct board refused, and those a
    deferred board rejected later (with the US Central date of the board's decision)."""
    rows = await conn.fetch(
        "SELECT columns, errors, CASE WHEN outcome IN ('Invalid', 'Refused') THEN NULL ELSE rejected_at END "
        "AS rejected_at FROM records WHERE upload_id = $1 AND (outcome IN ('Invalid', 'Refused') "
        "OR status = 'Rejected') ORDER BY row_number", upload_id)
    return [(orjson.loads(r["columns"]), [ErrorDetail.model_validate(e) for e in orjson.loads(r["errors"])],
             r["rejected_at"].astimezone(CENTRAL).date() if r["rejected_at"] else None)
            for r in rows]


class OutcomesBatch(BatchState):
    """The internal group's batch: rows' first outcomes are gathered and recorded together, then
    each upload's counters are written once (one statement per upload instead of one per row).
    A handler that writes to the records itself first records what was gathered before it
    (`record_outcomes`), so that writes keep their order."""

    def __init__(self, waiters: Waiters) -> None:
        self.waiters = waiters
        self.gathered: list[tuple[Outcome, Emit]] = []
        self.tally: dict[str, list[int]] = {}  # upload id -> [rows done, rows processed]
        self.tally_emit: Emit | None = None  # the completions go out as caused by the batch's first outcome
        self.woken: list[str] = []  # submissions whose waiters learn their rows' outcomes at commit

    def first_outcome(self, outcome: Outcome, emit: Emit) -> None:
        self.gathered.append((outcome, emit))

    async def record_outcomes(self, conn: asyncpg.Connection) -> None:
        if not self.gathered:
            return
        outcomes, self.gathered = self.gathered, []
        self.tally_emit = self.tally_emit or outcomes[0][1]

        async def count(upload_id: str, processed: bool) -> None:
            entry = self.tally.setdefault(upload_id, [0, 0])
            entry[0] += 1
            entry[1] += int(processed)

        self.woken += [s for s in await record_first_outcomes(conn, outcomes, count) if s]

    async def flush(self, conn: asyncpg.Connection) -> None:
        await self.record_outcomes(conn)
        for upload_id, (done, processed) in sorted(self.tally.items()):
            assert self.tally_emit is not None
            await count_upload_rows(conn, self.tally_emit, upload_id, done, processed)
        self.tally.clear()

    def committed(self) -> None:
        self.waiters.wake_all(self.woken)


class UpstreamBatch(BatchState):
    """The upstream group's batch: providers and REMS participation looked up once per provider,
    and each event's submission stored together with the others before the batch commits."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.providers: dict[str, bool] = {}
        self.rems: dict[str, bool] = {}
        self.waiting: list[Submission] = []

    async def flush(self, conn: asyncpg.Connection) -> None:
        if self.waiting:
            await submit_many(conn, self.settings, self.waiting)
            self.waiting = []


def internal_handlers() -> dict[type[BaseModel], Handler]:
    """The internal group follows the validator's and the boards' decisions."""
    async def record_invalid(event: LearnerRecordInvalid, uow: Unit[OutcomesBatch]) -> None:
        uow.state.first_outcome(Outcome(event.record_id, "Invalid", event.errors, None, event.credit_id), uow.emit)

    async def board_decided(d: BoardDecision, uow: Unit[OutcomesBatch]) -> None:
        state = uow.state
        if d.status is None:
            state.first_outcome(Outcome(d.record_id, "Refused", d.errors, None, d.credit_id), uow.emit)
        elif d.action == "Delete":
            await state.record_outcomes(uow.conn)
            await uow.conn.execute(
                "UPDATE records SET status = 'Deleted', updated_at = now() WHERE record_id = $1", d.target_record_id)
            state.first_outcome(Outcome(d.record_id, "Deleted", [], "Deleted", d.credit_id), uow.emit)
        elif d.status in ("Submitted", "Accepted"):
            state.first_outcome(Outcome(d.record_id, d.status, [], d.status, d.credit_id,
                                        update_status_if_not_first=True), uow.emit)
        else:  # Rejected by the board: the record stays, with the board's error
            await state.record_outcomes(uow.conn)
            await uow.conn.execute(
                "UPDATE records SET status = 'Rejected', errors = $2, rejected_at = $3, updated_at = now() "
                "WHERE record_id = $1", d.record_id, orjson.dumps([e.model_dump() for e in d.errors]).decode(),
                d.decided_at)

    return {LearnerRecordInvalid: record_invalid, BoardDecision: board_decided}


def upstream_handlers(clock: Clock) -> dict[type[BaseModel], Handler]:
    """The upstream group takes completions and nothing else: a decision forged on an inbound
    topic must never reach `board_decided`."""
    async def upstream_completion(event: UpstreamCompletion, uow: Unit[UpstreamBatch]) -> None:
        problem = upstream_problem(event, uow.envelope.provider_id, uow.topic_provider_id)
        if problem:
            raise DeadLetter(problem)
        state = uow.state
        if event.provider_id not in state.providers:
            state.providers[event.provider_id] = await provider_exists(uow.conn, event.provider_id)
        if not state.providers[event.provider_id]:
            raise DeadLetter(f"unknown provider {event.provider_id[:20]!r}")
        row = upstream_row(event)
        if is_rems(row.board):
            # Only a participating provider reports REMS learners (seed 001 258-266): anyone else's
            # row gets its outcome with the reason (not a dead letter: the row is the provider's).
            if event.provider_id not in state.rems:
                state.rems[event.provider_id] = await is_rems_participant(uow.conn, event.provider_id)
            if not state.rems[event.provider_id]:
                why = ErrorDetail(code=713, message=NOT_PARTICIPATING.format(what="this completion names REMS."))
                row = row.model_copy(update={"format_errors": [*row.format_errors, why]})
        # Each event is its own submission; the batch's are stored together before it commits.
        state.waiting.append(Submission(provider_id=event.provider_id, source="stream", rows=[(1, row, None)],
                                        now=clock.now(), source_message_id=uow.envelope.message_id))

    return {UpstreamCompletion: upstream_completion}
