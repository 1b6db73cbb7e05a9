"""Intake's stream handlers in memory: what each board decision and each upstream completion
does to the batch's state. Recording the outcomes themselves is outcomes.py's (the status
changes they publish: test_intake_lifecycle.py; the SQL and upload counts: the system suites)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from pars_contracts.codes import ErrorDetail, error
from pars_contracts.envelope import wrap
from pars_contracts.events import BoardDecision, LearnerRecordInvalid, UpstreamCompletion
from pars_intake.handlers import UpstreamBatch, board_decided, record_invalid, upstream_completion
from pars_intake.outcomes import Outcome
from pars_intake.settings import IntakeSettings
from pars_runtime.processor import DeadLetter, Unit

DECIDED_AT = datetime(2026, 3, 4, 5, 6, tzinfo=UTC)
PROVIDER = "1000001"


class RecordingOutcomes:
    """Stands in for OutcomesBatch: keeps what the handler asked of it, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def first_outcome(self, outcome: Outcome, emit: object) -> None:
        self.calls.append(("first", outcome))

    async def deleted(self, conn: object, emit: object, record_id: str | None, decided_at: datetime) -> None:
        self.calls.append(("deleted", record_id))

    async def rejected(self, conn: object, emit: object, record_id: str, errors: list[ErrorDetail],
                       decided_at: datetime) -> None:
        self.calls.append(("rejected", record_id, errors, decided_at))


def unit(event: Any, state: Any, topic_provider_id: str | None = None) -> Unit[Any]:
    envelope = wrap(event, producer="test", correlation_id="c-1", provider_id=getattr(event, "provider_id", None))
    return Unit(None, envelope, state, None, "topic", topic_provider_id, [])  # type: ignore[arg-type]


def decision(status: str | None, action: str = "Add", errors: list[ErrorDetail] | None = None,
             target: str | None = None) -> BoardDecision:
    return BoardDecision(record_id="r-1", submission_id="s-1", row_number=1, source="service", provider_id=PROVIDER,
                         activity_id="200000001", board="ABIM", action=action, credit_id="ccid:x:1",
                         target_record_id=target, status=status, errors=errors or [], decided_at=DECIDED_AT)


def handled(handler: Any, event: Any) -> list[tuple[Any, ...]]:
    state = RecordingOutcomes()
    asyncio.run(handler(event, unit(event, state)))
    return state.calls


def test_an_invalid_row_gets_its_errors_as_first_outcome() -> None:
    event = LearnerRecordInvalid(record_id="r-1", submission_id="s-1", row_number=1, source="upload",
                                 provider_id=PROVIDER, credit_id="ccid:derived:1", errors=[error(690)])
    assert handled(record_invalid, event) == [("first", Outcome("r-1", "Invalid", [error(690)], None, "ccid:derived:1"))]


def test_a_direct_boards_refusal_is_the_first_outcome_without_status() -> None:
    assert handled(board_decided, decision(None, errors=[error(664)])) == [
        ("first", Outcome("r-1", "Refused", [error(664)], None, "ccid:x:1", decided_at=DECIDED_AT))]


@pytest.mark.parametrize("status", ["Submitted", "Accepted"])
def test_submitted_or_accepted_is_the_first_outcome_or_else_a_later_status(status: str) -> None:
    assert handled(board_decided, decision(status)) == [
        ("first", Outcome("r-1", status, [], status, "ccid:x:1", update_status_if_not_first=True,
                          decided_at=DECIDED_AT))]


def test_a_processed_delete_marks_its_target_deleted_then_records_the_rows_outcome() -> None:
    assert handled(board_decided, decision("Deleted", action="Delete", target="r-0")) == [
        ("deleted", "r-0"), ("first", Outcome("r-1", "Deleted", [], "Deleted", "ccid:x:1", decided_at=DECIDED_AT))]


def test_a_boards_rejection_keeps_the_record_with_its_errors_and_is_no_first_outcome() -> None:
    assert handled(board_decided, decision("Rejected", errors=[error(661)])) == [
        ("rejected", "r-1", [error(661)], DECIDED_AT)]


def completion(board: str = "ABIM", provider_id: str = PROVIDER) -> UpstreamCompletion:
    return UpstreamCompletion(provider_id=provider_id, activity_id="200000001", board=board, learner_id="123456",
                              first_name="Ada", last_name="Lovelace", date_of_birth="01/02",
                              completion_date="2026-01-05", credits="1", credit_types=["ABIM Medical Knowledge"],
                              credit_id="ccid:lms:1")


def upstream_state(known: bool = True, rems_participant: bool = False) -> UpstreamBatch:
    settings = IntakeSettings(admin_token="handlers-test-admin-token-0123456789")
    state = UpstreamBatch(settings, settings.clock())
    state.providers[PROVIDER] = known  # looked up once per batch; here already known
    state.rems[PROVIDER] = rems_participant
    return state


def test_a_completion_on_its_providers_topic_becomes_that_providers_one_row_submission() -> None:
    state, event = upstream_state(), completion()
    uow = unit(event, state, topic_provider_id=PROVIDER)
    asyncio.run(upstream_completion(event, uow))
    [submission] = state.waiting
    assert (submission.provider_id, submission.source, submission.source_message_id) == (
        PROVIDER, "stream", uow.envelope.message_id)
    [(number, row, cells)] = submission.rows
    assert (number, row.learner_id, row.credit_id, row.format_errors, cells) == (1, "123456", "ccid:lms:1", [], None)


def test_another_providers_completion_or_an_unknown_provider_is_a_dead_letter() -> None:
    with pytest.raises(DeadLetter, match="is not this topic's provider"):
        asyncio.run(upstream_completion(completion(provider_id="1000002"),
                                        unit(completion(provider_id="1000002"), upstream_state(), PROVIDER)))
    with pytest.raises(DeadLetter, match="unknown provider"):
        asyncio.run(upstream_completion(completion(), unit(completion(), upstream_state(known=False), PROVIDER)))


@pytest.mark.parametrize(("participant", "codes"), [(False, [713]), (True, [])])
def test_a_rems_completion_is_713_unless_the_provider_participates(participant: bool, codes: list[int]) -> None:
    state, event = upstream_state(rems_participant=participant), completion(board="REMS")
    asyncio.run(upstream_completion(event, unit(event, state, PROVIDER)))
    errors = state.waiting[0].rows[0][1].format_errors
    assert [e.code for e in errors] == codes
    # The seed's message exactly (it has one for 713); why, beside it.
    assert all(e.message == "Activity registration type is not valid." and "REMS" in (e.hint or "") for e in errors)
