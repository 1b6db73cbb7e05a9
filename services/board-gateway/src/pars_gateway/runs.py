"""The within-a-day boards' runs: every due record of the durable schedule is decided once.

A run claims due records with FOR UPDATE SKIP LOCKED and decides them in the same transaction
as their events (outbox), so a second gateway instance never takes the same record, and a crash
mid-run rolls the claim back: the records are still Submitted, and the next run decides them."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from datetime import datetime, timedelta

from pars_contracts import topics
from pars_contracts.events import BoardBatchDecided, LearnerRecordValidated, RejectedLearner, Status
from pars_runtime.loops import every
from pars_runtime.messages import Emitter
from pars_runtime.service import Runtime

from . import store
from .boards import verdicts
from .domain.matching import Verdict
from .domain.throttle import ANSWER_WINDOW
from .handlers import answer_at, decision, key_of
from .operations import count_decision
from .repositories import BoardStore

IDLE_POLL = timedelta(seconds=0.25)  # how often an idle runner looks for newly scheduled records
# While another instance holds the due records, they are due but not ours to claim: no busy loop.
MIN_PAUSE = timedelta(seconds=0.01)


def rejected_learner(record: LearnerRecordValidated, verdict: Verdict) -> RejectedLearner:
    err = verdict.errors[0]
    return RejectedLearner(
        record_id=record.record_id, first_name=record.first_name, last_name=record.last_name,
        learner_id=record.learner_id, activity_id=record.activity_id, activity_title=record.activity_title,
        completion_date=record.completion_date, code=err.code, message=err.message,
        submitted_by=record.submitted_by)


async def paced(board_store: BoardStore, decided: list[tuple[LearnerRecordValidated, Verdict]], held: set[str],
                now: datetime, per_physician: int) -> list[tuple[LearnerRecordValidated, Verdict]]:
    """The verdicts a run gives now. A within-a-day board answers one provider about one physician
    at most `per_physician` times a window, as a direct board does (domain/throttle.py, security
    review N3): else one run's answers to 366 dates of birth would tell the right one. Beyond,
    the record's answer is held back, due later, and given by the run then (records in `held`,
    counted when they were held back, are answered when they come due)."""
    pairs = sorted({(r.provider_id, v.physician) for r, v in decided if v.physician and r.record_id not in held})
    answered = await board_store.answer_counts(pairs, now - ANSWER_WINDOW) if pairs else {}
    given = []
    for record, verdict in decided:
        until = None if record.record_id in held else await answer_at(
            board_store, answered, record, verdict, now, per_physician, ANSWER_WINDOW)
        if until is None:
            given.append((record, verdict))
        else:
            await board_store.hold(record.record_id, until)
    return given


async def run_boards_once(rt: Runtime, limit: int, per_physician: int) -> int:
    """One run: decides up to `limit` due records; one BoardBatchDecided per board and provider."""
    now = rt.clock.now()
    async with rt.pool.acquire() as conn, conn.transaction():
        due = await store.claim_due(conn, now, limit)
        if not due:
            return 0
        emitter = Emitter(rt.name, rt.settings.topic, correlation_id=f"board-run:{uuid.uuid4()}")
        groups: dict[tuple[str, str], list[tuple[LearnerRecordValidated, Verdict]]] = defaultdict(list)
        board_store = store.PostgresBoardStore(conn)
        found = await verdicts(board_store, [record for record, _ in due])
        held = {record.record_id for record, was_held in due if was_held}
        for record, verdict in await paced(board_store, found, held, now, per_physician):
            groups[(record.board, record.provider_id)].append((record, verdict))
        decided: list[tuple[str, str, str]] = []
        for (board_code, provider_id), items in groups.items():
            batch_id = str(uuid.uuid4())
            for record, verdict in items:
                status: Status = "Accepted" if verdict.accepted else "Rejected"
                decided.append((record.record_id, status, batch_id))
                emitter.emit(topics.BOARD_DECISIONS.name, key_of(record),
                             decision(record, status, now, verdict.errors, batch_id),
                             provider_id=provider_id, correlation_id=record.submission_id)
            rejected = [rejected_learner(r, v) for r, v in items if not v.accepted]
            emitter.emit(topics.BOARD_BATCHES.name, provider_id, BoardBatchDecided(
                batch_id=batch_id, board=board_code, provider_id=provider_id, decided_at=now,
                accepted=len(items) - len(rejected), rejected=rejected), provider_id=provider_id)
        await store.record_decisions(conn, decided, now)
        await emitter.flush(conn)
    for items in groups.values():  # counted once committed
        for record, verdict in items:
            count_decision(record.board, "Accepted" if verdict.accepted else "Rejected", verdict.errors)
    return len(due)


def board_runs(limit: int, per_physician: int):  # noqa: ANN201 - a runtime task
    async def run_boards(rt: Runtime, stop: asyncio.Event) -> None:
        """Decides due records as long as there are any; then sleeps until the next one is due.
        A failed run (database away) rolled back whatever it claimed: it is logged and retried."""
        async def run() -> float:
            if await run_boards_once(rt, limit, per_physician) > 0:
                return 0  # there may be more due: at once
            async with rt.pool.acquire() as conn:
                upcoming = await store.next_due(conn)
            if upcoming is None:
                return IDLE_POLL.total_seconds()
            return max(min(upcoming - rt.clock.now(), IDLE_POLL), MIN_PAUSE).total_seconds()

        await every(IDLE_POLL.total_seconds(), run, stop, name="run_boards", failure="board run failed; retrying")

    return run_boards
