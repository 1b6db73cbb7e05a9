"""The validator's handlers: load, call the pure rules, store and emit in one transaction."""

from __future__ import annotations

from pars_contracts import topics
from pars_contracts.events import (
    ActivityRegistered,
    BoardDecision,
    LearnerRecordInvalid,
    LearnerRecordSubmitted,
)
from pars_runtime import metrics
from pars_runtime.clock import Clock
from pars_runtime.consumer import Context, Handler

from . import ledger_store as store
from .domain.rules import History, credit_id_for, validate


def handlers(clock: Clock) -> dict[str, Handler]:
    async def activity_registered(ctx: Context, activity: ActivityRegistered) -> None:
        await store.save_activity(ctx.conn, activity)

    async def record_submitted(ctx: Context, row: LearnerRecordSubmitted) -> None:
        key = topics.record_key(row.activity_id, row.board, row.learner_id, row.last_name, row.date_of_birth)
        activity = row.activity or await store.load_activity(ctx.conn, row.activity_id)
        credit_id = credit_id_for(row)
        history = History(
            same_credit_id=await store.entry_by_credit_id(ctx.conn, row.provider_id, credit_id) if credit_id else None,
            learner_entries=await store.entries_for_learner(ctx.conn, row.provider_id, key),
        )
        outcome = validate(row, activity, history, clock.today())
        board = (row.board or "").upper()[:10]
        if isinstance(outcome, LearnerRecordInvalid):
            ctx.emit(topics.RECORDS_INVALID.name, key, outcome)
            metrics.RECORDS.labels("validation", "invalid", board).inc()
            for err in outcome.errors:
                metrics.ERRORS_BY_CODE.labels("validation", str(err.code)).inc()
            return
        if outcome.action == "Add":
            await store.add_pending(ctx.conn, outcome, key)
        else:
            assert outcome.target_record_id
            await store.mark_delete_pending(ctx.conn, outcome.target_record_id)
        ctx.emit(topics.RECORDS_VALIDATED.name, key, outcome)
        metrics.RECORDS.labels("validation", "valid", board).inc()

    async def board_decided(ctx: Context, decision: BoardDecision) -> None:
        if decision.action == "Add":
            if decision.status is None:
                await store.forget(ctx.conn, decision.record_id)
            else:
                await store.set_status(ctx.conn, decision.record_id, decision.status)
        elif decision.target_record_id:
            await store.finish_delete(ctx.conn, decision.target_record_id, decision.status == "Deleted")

    return {
        "ActivityRegistered": activity_registered,
        "LearnerRecordSubmitted": record_submitted,
        "BoardDecision": board_decided,
    }
