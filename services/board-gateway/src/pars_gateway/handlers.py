"""The gateway's handlers and its board runs."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from datetime import datetime

from pars_contracts import topics
from pars_contracts.boards import Processing, board
from pars_contracts.events import (
    BoardBatchDecided,
    BoardDecision,
    BoardPhysiciansAdded,
    LearnerRecordValidated,
    RejectedLearner,
    Status,
)
from pars_runtime import metrics
from pars_runtime.clock import Clock
from pars_runtime.consumer import Context, Handler
from pars_runtime.logs import get_logger
from pars_runtime.messages import Emitter

from . import store
from .boards import BoardAdapter, SimulatedBoard
from .domain.matching import Verdict
from .domain.schedule import due_at

log = get_logger(__name__)
ADAPTERS: dict[str, BoardAdapter] = {}


def adapter(code: str) -> BoardAdapter:
    return ADAPTERS.setdefault(code, SimulatedBoard(code))


def key_of(r: LearnerRecordValidated) -> str:
    return topics.record_key(r.activity_id, r.board, r.learner_id, r.last_name, r.date_of_birth)


def decision(r: LearnerRecordValidated, status: Status | None, now: datetime, errors: tuple = (),
             batch_id: str | None = None) -> BoardDecision:
    return BoardDecision(
        record_id=r.record_id, submission_id=r.submission_id, upload_id=r.upload_id, row_number=r.row_number,
        source=r.source, provider_id=r.provider_id, activity_id=r.activity_id, board=r.board, action=r.action,
        credit_id=r.credit_id, target_record_id=r.target_record_id, status=status, errors=list(errors),
        batch_id=batch_id, decided_at=now)


def handlers(clock: Clock, time_scale: float) -> dict[str, Handler]:
    async def record_validated(ctx: Context, record: LearnerRecordValidated) -> None:
        now = clock.now()
        board_adapter = adapter(record.board)
        if record.action == "Delete":
            acknowledged = await board_adapter.delete(ctx.conn, record)
            ctx.emit(topics.BOARD_DECISIONS.name, key_of(record),
                     decision(record, "Deleted" if acknowledged else None, now, () if acknowledged else (998,)))
            return
        catalog = board(record.board)
        if catalog is not None and catalog.processing is Processing.DIRECT:
            verdict = await board_adapter.verify(ctx.conn, record)
            # A direct board's non-match is an immediate error; the record is not saved.
            status: Status | None = "Accepted" if verdict.accepted else None
            ctx.emit(topics.BOARD_DECISIONS.name, key_of(record), decision(record, status, now, verdict.errors))
            metrics.RECORDS.labels("board", status or "refused", record.board).inc()
            return
        if await store.schedule(ctx.conn, record, now, due_at(record.board, now, time_scale)):
            ctx.emit(topics.BOARD_DECISIONS.name, key_of(record), decision(record, "Submitted", now))
            metrics.RECORDS.labels("board", "Submitted", record.board).inc()

    async def physicians_added(ctx: Context, event: BoardPhysiciansAdded) -> None:
        await store.add_physicians(ctx.conn, event.board.upper(), event.physicians)

    return {"LearnerRecordValidated": record_validated, "BoardPhysiciansAdded": physicians_added}


async def run_boards_once(rt, limit: int = 500) -> int:  # noqa: ANN001 - the runtime
    """One board run: decide every due record, in one transaction with its events."""
    now = rt.clock.now()
    async with rt.pool.acquire() as conn, conn.transaction():
        due = await store.claim_due(conn, now, limit)
        if not due:
            return 0
        emitter = Emitter("board-gateway", rt.settings.topic, correlation_id=f"board-run:{uuid.uuid4()}")
        groups: dict[tuple[str, str], list[tuple[LearnerRecordValidated, Verdict]]] = defaultdict(list)
        for record in due:
            verdict = await adapter(record.board).verify(conn, record)
            groups[(record.board, record.provider_id)].append((record, verdict))
        decided = []
        for (board_code, provider_id), items in groups.items():
            batch_id = str(uuid.uuid4())
            rejected = []
            for record, verdict in items:
                status: Status = "Accepted" if verdict.accepted else "Rejected"
                decided.append((record.record_id, status, batch_id))
                emitter.emit(topics.BOARD_DECISIONS.name, key_of(record),
                             decision(record, status, now, verdict.errors, batch_id), provider_id=provider_id,
                             correlation_id=record.submission_id)
                metrics.RECORDS.labels("board", status, board_code).inc()
                if not verdict.accepted:
                    err = verdict.errors[0]
                    rejected.append(RejectedLearner(
                        record_id=record.record_id, first_name=record.first_name, last_name=record.last_name,
                        learner_id=record.learner_id, activity_id=record.activity_id,
                        activity_title=record.activity_title, completion_date=record.completion_date,
                        code=err.code, message=err.message))
                    metrics.ERRORS_BY_CODE.labels("board", str(err.code)).inc()
            emitter.emit(topics.BOARD_BATCHES.name, provider_id, BoardBatchDecided(
                batch_id=batch_id, board=board_code, provider_id=provider_id, decided_at=now,
                accepted=len(items) - len(rejected), rejected=rejected), provider_id=provider_id)
        await store.record_decisions(conn, decided, now)
        await emitter.flush(conn)
    return len(due)


async def board_runs(rt, stop: asyncio.Event) -> None:  # noqa: ANN001
    """Runs the boards' schedules: every due record is decided, however often we restart."""
    while not stop.is_set():
        try:
            if await run_boards_once(rt) > 0:
                continue
        except Exception as exc:  # noqa: BLE001 - database away: nothing claimed is lost (rolled back)
            log.warning("board run failed; retrying", error=repr(exc))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.25)
