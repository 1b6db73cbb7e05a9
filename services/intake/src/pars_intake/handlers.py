"""Intake's stream handlers (subscriptions.py says which message of which topic reaches which):
the read model follows the validator's and the boards' decisions, and upstream systems'
completion events enter the pipeline here. What a decision does to a row is outcomes.py's."""

from __future__ import annotations

import asyncpg

from pars_contracts.boards import is_rems
from pars_contracts.codes import error
from pars_contracts.events import BoardDecision, LearnerRecordInvalid, UpstreamCompletion
from pars_runtime.clock import Clock
from pars_runtime.processor import BatchState, DeadLetter, Unit
from pars_runtime.settings import ServiceSettings

from .domain.rems import NOT_PARTICIPATING
from .domain.upstream import upstream_problem, upstream_row
from .outcomes import Outcome, OutcomesBatch
from .store import provider_exists
from .store.providers import is_rems_participant
from .submit import Submission, submit_many

# --- the validator's and the boards' decisions (group "intake", state OutcomesBatch) --------------


async def record_invalid(event: LearnerRecordInvalid, uow: Unit[OutcomesBatch]) -> None:
    uow.state.first_outcome(Outcome(event.record_id, "Invalid", event.errors, None, event.credit_id), uow.emit)


async def board_decided(d: BoardDecision, uow: Unit[OutcomesBatch]) -> None:
    state = uow.state
    if d.status is None:
        state.first_outcome(Outcome(d.record_id, "Refused", d.errors, None, d.credit_id, decided_at=d.decided_at),
                            uow.emit)
    elif d.action == "Delete":
        await state.deleted(uow.conn, uow.emit, d.target_record_id, d.decided_at)
        state.first_outcome(Outcome(d.record_id, "Deleted", [], "Deleted", d.credit_id, decided_at=d.decided_at),
                            uow.emit)
    elif d.status in ("Submitted", "Accepted"):
        state.first_outcome(Outcome(d.record_id, d.status, [], d.status, d.credit_id,
                                    update_status_if_not_first=True, decided_at=d.decided_at), uow.emit)
    else:  # Rejected by the board: the record stays, with the board's error
        await state.rejected(uow.conn, uow.emit, d.record_id, d.errors, d.decided_at)


# --- upstream systems' completions (group "intake-upstream", state UpstreamBatch) -----------------


class UpstreamBatch(BatchState):
    """The upstream group's batch: providers and REMS participation looked up once per provider,
    and each event's submission stored together with the others before the batch commits."""

    def __init__(self, settings: ServiceSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.providers: dict[str, bool] = {}
        self.rems: dict[str, bool] = {}
        self.waiting: list[Submission] = []

    async def flush(self, conn: asyncpg.Connection) -> None:
        if self.waiting:
            await submit_many(conn, self.settings, self.waiting)
            self.waiting = []


async def upstream_completion(event: UpstreamCompletion, uow: Unit[UpstreamBatch]) -> None:
    """The upstream group takes completions and nothing else: a decision forged on an inbound
    topic must never reach `board_decided`."""
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
            why = error(713, hint=NOT_PARTICIPATING.format(what="this completion names REMS."))
            row = row.model_copy(update={"format_errors": [*row.format_errors, why]})
    # Each event is its own submission; the batch's are stored together before it commits.
    state.waiting.append(Submission(provider_id=event.provider_id, source="stream", rows=[(1, row, None)],
                                    now=state.clock.now(), source_message_id=uow.envelope.message_id))
