"""The gateway's handlers: a validated record goes to its board (decided at once, or scheduled),
a delete goes to the board, and the admin API's physicians join a board's registry.

Which message goes to which handler is declared in subscriptions.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from pars_contracts import topics
from pars_contracts.boards import Processing, board
from pars_contracts.codes import ErrorDetail
from pars_contracts.events import BoardDecision, BoardPhysiciansAdded, LearnerRecordValidated, Status
from pars_runtime import metrics
from pars_runtime.clock import Clock
from pars_runtime.logs import get_logger
from pars_runtime.processor import BatchState, Unit

from .boards import adapter, verdicts
from .domain.matching import Verdict, reject
from .domain.schedule import due_at
from .domain.throttle import ANSWER_WINDOW, held_until
from .operations import count_decision
from .repositories import BoardStore

log = get_logger(__name__)


def key_of(r: LearnerRecordValidated) -> str:
    # A validated record carries the board and learner id the validator resolved: its key is
    # the one the validator gave it (topics.record_key says when a name-keyed one differs).
    return topics.record_key(r)


def decision(r: LearnerRecordValidated, status: Status | None, now: datetime,
             errors: tuple[ErrorDetail, ...] = (), batch_id: str | None = None) -> BoardDecision:
    return BoardDecision(
        record_id=r.record_id, submission_id=r.submission_id, upload_id=r.upload_id, row_number=r.row_number,
        source=r.source, provider_id=r.provider_id, activity_id=r.activity_id, board=r.board, action=r.action,
        credit_id=r.credit_id, target_record_id=r.target_record_id, status=status, errors=list(errors),
        batch_id=batch_id, decided_at=now)


class GatewayBatch(BatchState):
    """What a batch's handlers share: the clock, simulated board time (its scale and each
    within-a-day board's period between runs), the store, and the direct boards' verdicts on the
    batch's records, one registry query per board."""

    store: BoardStore

    def __init__(self, clock: Clock, time_scale: float, periods: dict[str, timedelta],
                 stores: Callable[[asyncpg.Connection], BoardStore], answers_per_physician: int = 5,
                 answer_window: timedelta = ANSWER_WINDOW) -> None:
        self.clock = clock
        self.time_scale = time_scale
        self.periods = periods
        self.answers_per_physician = answers_per_physician  # BOARD_REFUSALS_PER_PHYSICIAN (domain/throttle.py)
        self.answer_window = answer_window
        self._stores = stores
        self.verdicts: dict[str, Verdict] = {}
        self.answered: dict[tuple[str, str], int] = {}  # (provider id, physician) -> answers in the window

    async def prepare(self, conn: asyncpg.Connection, payloads: list[Any]) -> None:
        self.store = self._stores(conn)
        # Not when the batch also changes a registry: its records must see the registry as of their turn.
        if any(isinstance(p, BoardPhysiciansAdded) for p in payloads):
            return
        direct = [p for p in payloads if isinstance(p, LearnerRecordValidated) and p.action == "Add"
                  and (found := board(p.board)) is not None and found.processing is Processing.DIRECT]
        decided = await verdicts(self.store, direct)
        self.verdicts = {record.record_id: verdict for record, verdict in decided}
        # How many answers each provider has had on each physician of the batch: one query, not one a record.
        pairs = sorted({(record.provider_id, v.physician) for record, v in decided if v.physician})
        if pairs:
            self.answered = await self.store.answer_counts(pairs, self.clock.now() - self.answer_window)


Uow = Unit[GatewayBatch]


def answer(uow: Uow, record: LearnerRecordValidated, status: Status | None, verdict: Verdict) -> None:
    """Emits the board's word at once; status None is an immediate error (the record is not saved)."""
    uow.emit(topics.BOARD_DECISIONS.name, key_of(record),
             decision(record, status, uow.state.clock.now(), verdict.errors))
    uow.after_commit(lambda: count_decision(record.board, status or "Refused", verdict.errors))


async def record_validated(record: LearnerRecordValidated, uow: Uow) -> None:
    catalog, board_adapter = board(record.board), adapter(record.board)
    store = uow.state.store
    if catalog is None or board_adapter is None:
        answer(uow, record, None, reject(998))  # the validator lets no such board through
    elif record.action == "Delete":
        # The validator holds a delete until the board has decided the record (801); should
        # one come earlier all the same, the board is not asked.
        if await store.status_of(record.target_record_id) == "Submitted":
            answer(uow, record, None, reject(801))
            return
        verdict = await board_adapter.delete(store, record)
        if verdict.accepted:
            await store.mark_deleted(record.target_record_id)
        answer(uow, record, "Deleted" if verdict.accepted else None, verdict)
    elif catalog.processing is Processing.DIRECT:
        found = uow.state.verdicts.get(record.record_id)
        if found is not None:
            verdict = found
        else:  # not decided by `prepare` (a batch that changed a registry)
            (verdict,) = await board_adapter.verify(store, [record])
        if not await held_back(uow, record, verdict):
            answer(uow, record, "Accepted" if verdict.accepted else None, verdict)
    else:  # within a day: the promise counts from the provider's submission, not from our receipt
        due = due_at(record.submitted_at, uow.state.periods[catalog.code], uow.state.time_scale)
        if await store.schedule(record, record.submitted_at, due):
            uow.emit(topics.BOARD_DECISIONS.name, key_of(record),
                     decision(record, "Submitted", uow.state.clock.now()))
            metrics.RECORDS.labels("board", "Submitted", record.board).inc()


async def answer_at(store: BoardStore, answered: dict[tuple[str, str], int], record: LearnerRecordValidated,
                    verdict: Verdict, now: datetime, limit: int, window: timedelta) -> datetime | None:
    """When a board may give this answer (domain/throttle.py): None for now, else the time it is
    held back to. Counts the answer on the record's (provider, physician) pair in `answered` and in
    the store, unless it is an acceptance given at once (only refusals, and answers held back,
    tell something). `answered` holds each pair's answers in the window; a pair not in it is read."""
    if verdict.physician is None:
        return None  # a physician the board does not know: nothing about a person to find
    since, pair = now - window, (record.provider_id, verdict.physician)
    if pair not in answered:
        answered[pair] = await store.answers_since(*pair, since)
    until = held_until(answered[pair], now, limit, window)
    if until is None and verdict.accepted:
        return None
    await store.add_answer(*pair, until or now, since)
    answered[pair] += 1
    return until


async def held_back(uow: Uow, record: LearnerRecordValidated, verdict: Verdict) -> bool:
    """Holds back a direct board's answer on a physician this provider has had too many answers on
    (domain/throttle.py): the record is scheduled, Submitted now, decided by the board's run later."""
    state = uow.state
    now = state.clock.now()
    until = await answer_at(state.store, state.answered, record, verdict, now, state.answers_per_physician,
                            state.answer_window)
    if until is None:
        return False
    if await state.store.schedule(record, record.submitted_at, until, held=True):
        uow.emit(topics.BOARD_DECISIONS.name, key_of(record), decision(record, "Submitted", now))
        metrics.RECORDS.labels("board", "Submitted", record.board).inc()
    log.info("a direct board's answer held back: too many on one physician", provider_id=record.provider_id,
             board=record.board, until=until.isoformat())
    return True


async def physicians_added(event: BoardPhysiciansAdded, uow: Uow) -> None:
    await uow.state.store.add_physicians(event.board.strip().upper(), event.physicians)
