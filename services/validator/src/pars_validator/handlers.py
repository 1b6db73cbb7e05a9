"""The validator's handlers: load, call the pure rules, store and emit in one transaction."""

from __future__ import annotations

from typing import Any

import asyncpg
from pydantic import BaseModel

from pars_contracts import topics
from pars_contracts.boards import metric_label
from pars_contracts.events import (
    ActivityRegistered,
    BoardDecision,
    LearnerRecordInvalid,
    LearnerRecordSubmitted,
)
from pars_runtime import metrics
from pars_runtime.clock import Clock
from pars_runtime.processor import BatchState, Handler, Unit

from . import ledger_store as store
from .domain.rules import History, credit_id_for, validate


def key_of(row: LearnerRecordSubmitted, activity: ActivityRegistered | None = None) -> str:
    """One learner on one activity and board (`topics.record_key`, as intake keyed the row)."""
    return topics.record_key(row, activity or row.activity)


class ValidatorBatch(BatchState):
    """The batch's ledger view: read once for every row of the batch, written once before commit."""

    def __init__(self) -> None:
        self.ledger = store.BatchLedger()

    async def prepare(self, conn: asyncpg.Connection, payloads: list[Any]) -> None:
        rows = [p for p in payloads if isinstance(p, LearnerRecordSubmitted)]
        if rows:
            await self.ledger.cover(conn, [(r.provider_id, key_of(r), credit_id_for(r)) for r in rows])

    async def flush(self, conn: asyncpg.Connection) -> None:
        await self.ledger.flush(conn)


Uow = Unit[ValidatorBatch]


def handlers(clock: Clock) -> dict[type[BaseModel], Handler]:
    async def activity_registered(activity: ActivityRegistered, uow: Uow) -> None:
        await store.save_activity(uow.conn, activity)

    async def record_submitted(row: LearnerRecordSubmitted, uow: Uow) -> None:
        activity = row.activity or await store.load_activity(uow.conn, row.activity_id)
        key = key_of(row, activity)
        credit_id = credit_id_for(row, activity)
        ledger = uow.state.ledger
        await ledger.cover(uow.conn, [(row.provider_id, key, credit_id)])  # loaded already, unless alone
        history = History(
            same_credit_id=ledger.entry_by_credit_id(row.provider_id, credit_id) if credit_id else None,
            learner_entries=ledger.entries_for_learner(row.provider_id, key),
        )
        outcome = validate(row, activity, history, clock.today())
        board = metric_label(row.board)
        if isinstance(outcome, LearnerRecordInvalid):
            uow.emit(topics.RECORDS_INVALID.name, key, outcome)
            metrics.RECORDS.labels("validation", "invalid", board).inc()
            for err in outcome.errors:
                metrics.ERRORS_BY_CODE.labels("validation", str(err.code)).inc()
            return
        if outcome.action == "Add":
            ledger.add_pending(outcome, key)
        else:
            assert outcome.target_record_id
            await ledger.flush(uow.conn)
            await store.mark_delete_pending(uow.conn, outcome.target_record_id)
            ledger.changed(outcome.target_record_id, "DeletePending")
        uow.emit(topics.RECORDS_VALIDATED.name, key, outcome)
        metrics.RECORDS.labels("validation", "valid", board).inc()

    async def board_decided(decision: BoardDecision, uow: Uow) -> None:
        ledger = uow.state.ledger
        if decision.action == "Add" and decision.status is not None:
            ledger.set_status(decision.record_id, decision.status)  # written with the batch's others
            return
        await ledger.flush(uow.conn)  # statements in the order they were asked for
        if decision.action == "Add":
            await store.forget(uow.conn, decision.record_id)
            ledger.forgotten(decision.record_id)
        elif decision.target_record_id:
            status = await store.finish_delete(uow.conn, decision.target_record_id, decision.status == "Deleted")
            if status:
                ledger.changed(decision.target_record_id, status)

    return {
        ActivityRegistered: activity_registered,
        LearnerRecordSubmitted: record_submitted,
        BoardDecision: board_decided,
    }
