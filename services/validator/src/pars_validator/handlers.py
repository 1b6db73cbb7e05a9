"""The validator's handlers: load, call the pure rules, store and emit in one transaction.

Which message goes to which handler is declared in subscriptions.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import asyncpg

from pars_contracts import topics
from pars_contracts.boards import metric_label
from pars_contracts.events import (
    ActivityRegistered,
    BoardDecision,
    LearnerRecordInvalid,
    LearnerRecordSubmitted,
    LearnerRecordValidated,
)
from pars_runtime import metrics
from pars_runtime.clock import Clock
from pars_runtime.processor import BatchState, Unit

from .domain.credit_id import completion_fingerprint, given_credit_id
from .domain.rules import History, Outcome, credit_id_for, validate
from .repositories import ActivityRegistry, CreditLedger


def key_of(row: LearnerRecordSubmitted, activity: ActivityRegistered | None = None) -> str:
    """One learner on one activity and board (`topics.record_key`, as intake keyed the row)."""
    return topics.record_key(row, activity or row.activity)


# The repositories on a batch's connection: PostgreSQL's in the service, memory's in tests.
Repositories = Callable[[asyncpg.Connection], tuple[ActivityRegistry, CreditLedger]]


class ValidatorBatch(BatchState):
    """What a batch's handlers share: the clock, the activity registry and the ledger, whose
    entries for every row of the batch are read at once and written once before commit."""

    activities: ActivityRegistry
    ledger: CreditLedger

    def __init__(self, clock: Clock, repositories: Repositories) -> None:
        self.clock = clock
        self._repositories = repositories
        self._open = False

    async def prepare(self, conn: asyncpg.Connection, payloads: list[Any]) -> None:
        self.activities, self.ledger = self._repositories(conn)
        self._open = True
        rows = [p for p in payloads if isinstance(p, LearnerRecordSubmitted)]
        if rows:
            await self.ledger.cover([(r.provider_id, key_of(r), credit_id_for(r)) for r in rows])

    async def flush(self, conn: asyncpg.Connection) -> None:
        if self._open:  # a batch with nothing to handle was not prepared
            await self.ledger.flush()


Uow = Unit[ValidatorBatch]


async def activity_registered(activity: ActivityRegistered, uow: Uow) -> None:
    await uow.state.activities.save(activity)


async def decide(row: LearnerRecordSubmitted, activities: ActivityRegistry, ledger: CreditLedger,
                 today: date) -> tuple[str, Outcome, str | None]:
    """The row's record key, what the rules say about it now against the provider's ledger, and
    its completion fingerprint (kept with an Add). The handler below and the sandbox's
    validation (api.py) both decide through here."""
    activity = row.activity or await activities.load(row.activity_id)
    key = key_of(row, activity)
    credit_id = credit_id_for(row, activity)
    await ledger.cover([(row.provider_id, key, credit_id)])  # read already unless the registered activity changes them
    history = History(
        same_credit_id=ledger.entry_by_credit_id(row.provider_id, credit_id) if credit_id else None,
        learner_entries=ledger.entries_for_learner(row.provider_id, key),
    )
    outcome = validate(row, activity, history, today)
    if not isinstance(outcome, LearnerRecordValidated) or outcome.action != "Add":
        return key, outcome, None
    # A derived credit id already is the fingerprint; a given one says nothing of the fields.
    return key, outcome, completion_fingerprint(row, activity) if given_credit_id(row) else credit_id


async def record_submitted(row: LearnerRecordSubmitted, uow: Uow) -> None:
    ledger = uow.state.ledger
    key, outcome, fingerprint = await decide(row, uow.state.activities, ledger, uow.state.clock.today())
    board = metric_label(row.board)
    if isinstance(outcome, LearnerRecordInvalid):
        uow.emit(topics.RECORDS_INVALID.name, key, outcome)
        metrics.RECORDS.labels("validation", "invalid", board).inc()
        for err in outcome.errors:
            metrics.ERRORS_BY_CODE.labels("validation", str(err.code)).inc()
        return
    if outcome.action == "Add":
        ledger.add_pending(outcome, key, fingerprint)
    else:
        assert outcome.target_record_id
        await ledger.mark_delete_pending(outcome.target_record_id)
    uow.emit(topics.RECORDS_VALIDATED.name, key, outcome)
    metrics.RECORDS.labels("validation", "valid", board).inc()


async def board_decided(decision: BoardDecision, uow: Uow) -> None:
    ledger = uow.state.ledger
    if decision.action == "Add" and decision.status is not None:
        ledger.set_status(decision.record_id, decision.status)
    elif decision.action == "Add":
        await ledger.forget(decision.record_id)
    elif decision.target_record_id:
        await ledger.finish_delete(decision.target_record_id, decision.status == "Deleted")
