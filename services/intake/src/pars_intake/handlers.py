"""Intake's consumers: the read models follow the validator's and the board's decisions, and
upstream systems' completion events enter the pipeline here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable

import asyncpg
import orjson

from pars_contracts import topics
from pars_contracts.codes import ErrorDetail
from pars_contracts.envelope import Envelope
from pars_contracts.events import (
    BoardDecision,
    LearnerRecordInvalid,
    Status,
    UploadCompleted,
    UpstreamCompletion,
    UpstreamOutcome,
)
from pars_runtime import metrics
from pars_runtime.clock import Clock
from pars_runtime.consumer import Context, DeadLetter, Handler
from pars_runtime.settings import ServiceSettings

from .domain.reports import error_report_tsv
from .domain.upstream import upstream_problem, upstream_row
from .store import provider_exists
from .submit import Submission, submit_many
from .waiters import Waiters

PROCESSED = ("Submitted", "Accepted", "Deleted")
Emit = Callable[..., Envelope]  # Emitter.emit: (topic, key, event, *, provider_id=, correlation_id=)


UploadCounter = Callable[[str, bool], Awaitable[None]]  # (upload id, processed)


async def record_first_outcome(conn: asyncpg.Connection, emit: Emit, record_id: str, outcome: str,
                               errors: list[ErrorDetail], status: Status | None, credit_id: str | None = None,
                               count: UploadCounter | None = None) -> str | None:
    """A row's first outcome, counted once: the upload's progress and the upstream outcome follow.
    Returns the row's submission id (for its waiters), or None when the row already had one.
    `credit_id`: the one the validator derived for a row that carried none (deletes need it)."""
    row = await conn.fetchrow(
        "UPDATE records SET outcome = $2, errors = $3, status = coalesce($4, status), first_outcome_at = now(), "
        "updated_at = now(), credit_id = coalesce(credit_id, $5) WHERE record_id = $1 AND outcome IS NULL "
        "RETURNING submission_id, upload_id, source, source_message_id, provider_id, credit_id",
        record_id, outcome, orjson.dumps([e.model_dump() for e in errors]).decode(), status, credit_id)
    if row is None:
        return None  # already had its first outcome (or unknown): nothing to count twice
    if row["upload_id"]:
        if count is None:
            await count_upload_rows(conn, emit, row["upload_id"], 1, int(outcome in PROCESSED))
        else:
            await count(row["upload_id"], outcome in PROCESSED)
    if row["source"] == "stream" and row["source_message_id"]:
        emit(topics.UPSTREAM_OUTCOMES.name, row["provider_id"], UpstreamOutcome(
            source_message_id=row["source_message_id"], provider_id=row["provider_id"], record_id=record_id,
            credit_id=row["credit_id"], status=status if outcome in PROCESSED else None, errors=errors),
            provider_id=row["provider_id"], correlation_id=row["submission_id"])
    return str(row["submission_id"])


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
    by_code = Counter(e.code for _, errs in failed for e in errs)
    metrics.UPLOAD_SECONDS.observe((completed["completed_at"] - completed["created_at"]).total_seconds())
    emit(topics.UPLOADS_COMPLETED.name, completed["provider_id"], UploadCompleted(
        upload_id=upload_id, provider_id=completed["provider_id"], uploader_email=completed["user_email"],
        file_name=completed["file_name"], file_format=completed["file_format"], uploaded_at=completed["created_at"],
        completed_at=completed["completed_at"], records=completed["records"], processed=completed["processed"],
        not_processed=completed["not_processed"], errors_by_code=dict(by_code),
        error_report_file_name=error_report_name(completed["file_name"]), error_report_tsv=error_report_tsv(failed)),
        provider_id=completed["provider_id"], correlation_id=upload_id)


def batched_upload_counter(ctx: Context) -> UploadCounter:
    """Counts a batch's rows per upload and writes each upload's counters once, before the
    batch commits: one statement per upload instead of one per row."""
    tally: dict[str, list[int]] = ctx.batch.setdefault("upload_tally", {})

    async def flush() -> None:
        for upload_id, (done, processed) in sorted(tally.items()):
            await count_upload_rows(ctx.conn, ctx.emit, upload_id, done, processed)
        tally.clear()

    async def count(upload_id: str, processed: bool) -> None:
        entry = tally.setdefault(upload_id, [0, 0])
        entry[0] += 1
        entry[1] += int(processed)
        ctx.before_commit.setdefault("upload_tally", flush)

    return count


def error_report_name(file_name: str) -> str:
    stem = file_name.rsplit(".", 1)[0] or "upload"
    return f"{stem}_errors.txt"


async def not_processed_rows(conn: asyncpg.Connection, upload_id: str) -> list[tuple[list[str], list[ErrorDetail]]]:
    rows = await conn.fetch(
        "SELECT columns, errors FROM records WHERE upload_id = $1 AND outcome IN ('Invalid', 'Refused') "
        "ORDER BY row_number", upload_id)
    return [(orjson.loads(r["columns"]), [ErrorDetail.model_validate(e) for e in orjson.loads(r["errors"])])
            for r in rows]


def handlers(settings: ServiceSettings, clock: Clock, waiters: Waiters) -> dict[str, Handler]:
    async def first_outcome(ctx: Context, record_id: str, outcome: str, errors: list[ErrorDetail],
                            status: Status | None, credit_id: str | None) -> bool:
        submission_id = await record_first_outcome(ctx.conn, ctx.emit, record_id, outcome, errors, status, credit_id,
                                                   batched_upload_counter(ctx))
        if submission_id:
            ctx.after_commit.append(lambda: waiters.wake(submission_id))
        return submission_id is not None

    async def record_invalid(ctx: Context, event: LearnerRecordInvalid) -> None:
        await first_outcome(ctx, event.record_id, "Invalid", event.errors, None, event.credit_id)

    async def board_decided(ctx: Context, d: BoardDecision) -> None:
        if d.status is None:
            await first_outcome(ctx, d.record_id, "Refused", d.errors, None, d.credit_id)
        elif d.action == "Delete":
            await ctx.conn.execute(
                "UPDATE records SET status = 'Deleted', updated_at = now() WHERE record_id = $1", d.target_record_id)
            await first_outcome(ctx, d.record_id, "Deleted", [], "Deleted", d.credit_id)
        elif d.status in ("Submitted", "Accepted"):
            if not await first_outcome(ctx, d.record_id, d.status, [], d.status, d.credit_id):
                # A later status (Accepted after Submitted) updates the record; the first outcome stays.
                await ctx.conn.execute("UPDATE records SET status = $2, updated_at = now() WHERE record_id = $1 "
                                       "AND status IS DISTINCT FROM 'Deleted'", d.record_id, d.status)
        else:  # Rejected by the board: the record stays, with the board's error
            await ctx.conn.execute(
                "UPDATE records SET status = 'Rejected', errors = $2, updated_at = now() WHERE record_id = $1",
                d.record_id, orjson.dumps([e.model_dump() for e in d.errors]).decode())

    async def store_upstream(conn: asyncpg.Connection, waiting: list[Submission]) -> None:
        await submit_many(conn, settings, waiting)

    async def upstream_completion(ctx: Context, event: UpstreamCompletion) -> None:
        problem = upstream_problem(event, ctx.envelope.provider_id)
        if problem:
            raise DeadLetter(problem)
        known: dict[str, bool] = ctx.batch.setdefault("providers", {})
        if event.provider_id not in known:
            known[event.provider_id] = await provider_exists(ctx.conn, event.provider_id)
        if not known[event.provider_id]:
            raise DeadLetter(f"unknown provider {event.provider_id[:20]!r}")
        # Each event is its own submission; the batch's are stored together before it commits.
        waiting: list[Submission] = ctx.batch.setdefault("upstream", [])
        waiting.append(Submission(provider_id=event.provider_id, source="stream", rows=[(1, upstream_row(event), None)],
                                  now=clock.now(), source_message_id=ctx.envelope.message_id))
        ctx.before_commit.setdefault("upstream", lambda: store_upstream(ctx.conn, waiting))

    return {
        "LearnerRecordInvalid": record_invalid,
        "BoardDecision": board_decided,
        "UpstreamCompletion": upstream_completion,
    }
