"""The gateway's handlers in memory: a direct board's decision at once (match or the board's
code), a within-a-day board's schedule, deletes, and physicians joining a registry. The handlers
are the service's own functions on the in-memory store (the asyncpg one: tests/integration/gateway)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from pars_contracts import topics
from pars_contracts.events import BoardDecision, BoardPhysiciansAdded, LearnerRecordValidated, Physician
from pars_gateway import handlers
from pars_gateway.domain.schedule import DEFAULT_SCHEDULE, due_at
from pars_gateway.handlers import GatewayBatch, key_of
from pars_gateway.repositories import MemoryBoardStore
from pars_runtime.clock import Clock
from tests.support.units import Emitted, batch, handle

SCALE = 1440.0  # a simulated day in a real minute, as the demo runs
PERIODS = {code: timedelta(hours=hours) for code, hours in DEFAULT_SCHEDULE.items()}
SUBMITTED_AT = datetime(2020, 1, 16, 20, 31, tzinfo=UTC)
SUSAN = Physician(learner_id="999925", id_type="ABO", first_name="Susan", last_name="O'Laughlin",
                  date_of_birth="01/01")


class Gateway:
    def __init__(self) -> None:
        self.store = MemoryBoardStore()
        self.clock = Clock(start=date(2020, 1, 16))

    def state(self) -> GatewayBatch:
        return GatewayBatch(self.clock, SCALE, PERIODS, lambda _conn: self.store)

    async def add(self, board: str, *physicians: Physician) -> None:
        event = BoardPhysiciansAdded(board=board, physicians=list(physicians))
        assert await handle(handlers.physicians_added, event, self.state()) == []

    async def send(self, *records: LearnerRecordValidated | BoardPhysiciansAdded) -> list[Emitted]:
        """The messages in one batch."""
        return await batch(self.state(), *[
            (handlers.physicians_added if isinstance(r, BoardPhysiciansAdded) else handlers.record_validated, r)
            for r in records])


def record(board: str = "ABO", **changes: Any) -> LearnerRecordValidated:
    fields: dict[str, Any] = {
        "record_id": "rec-1", "submission_id": "sub-1", "row_number": 1, "source": "web", "provider_id": "0012345",
        "activity_id": "200930149", "activity_title": "An Other is an Other", "reporting_year": 2019,
        "board": board, "action": "Add", "learner_id_type": board, "learner_id": "999925", "first_name": "Susan",
        "last_name": "O'Laughlin", "date_of_birth": "01/01", "completion_date": date(2019, 1, 11),
        "credits": Decimal("1"), "credit_types": ["x"], "credit_id": "ccid:test:1", "submitted_at": SUBMITTED_AT}
    return LearnerRecordValidated(**(fields | changes))


def decided(emitted: list[Emitted]) -> BoardDecision:
    (only,) = emitted
    assert (only.topic, only.type) == (topics.BOARD_DECISIONS.name, "BoardDecision")
    return only.event


def refused_with(emitted: list[Emitted]) -> list[int]:
    decision = decided(emitted)
    assert decision.status is None
    return [e.code for e in decision.errors]


async def test_a_direct_board_accepts_a_learner_its_registry_knows_at_once() -> None:
    gateway = Gateway()
    await gateway.add(" abo ", SUSAN)
    sent = record()
    emitted = await gateway.send(sent)
    decision = decided(emitted)
    assert emitted[0].key == key_of(sent)
    assert (decision.record_id, decision.status, decision.errors, decision.action) == ("rec-1", "Accepted", [], "Add")
    assert decision.credit_id == "ccid:test:1" and decision.decided_at.date() == date(2020, 1, 16)
    assert gateway.store.scheduled == {}  # a direct board's record is not kept for a run


@pytest.mark.parametrize(("changes", "code"), [
    ({"learner_id": "1000000"}, 661),  # not in the registry
    ({"date_of_birth": "02/02"}, 664),
    ({"first_name": "Sue"}, 665),
    ({"activity_id": "200930150"}, 709),  # reported outside PARS for that activity
])
async def test_a_direct_board_refuses_a_learner_it_cannot_match_with_its_code(changes: dict[str, Any], code: int) -> None:
    gateway = Gateway()
    await gateway.add("ABO", SUSAN.model_copy(update={"reported_elsewhere": ["200930150"]}))
    assert refused_with(await gateway.send(record(**changes))) == [code]


async def test_a_batch_of_direct_records_is_decided_record_by_record() -> None:
    gateway = Gateway()
    await gateway.add("ABO", SUSAN)
    emitted = await gateway.send(record(), record(record_id="rec-2", learner_id="1000000"),
                                 record(record_id="rec-3", board="REMS", learner_id_type="NPI", learner_id="1234567893"))
    assert [(e.event.record_id, e.event.status) for e in emitted] == [
        ("rec-1", "Accepted"), ("rec-2", None), ("rec-3", "Accepted")]  # REMS: a program, no registry


async def test_after_five_refusals_on_one_physician_a_providers_answers_on_them_are_held_back() -> None:
    """One call of 366 rows for Susan would find her date of birth from the board's codes (returned
    by `?wait=`): five refusals on her for one provider are answered at once, then every answer on
    her, the right date's acceptance too, waits for later runs, five a day; other physicians and
    other providers are answered at once."""
    gateway = Gateway()
    await gateway.add("ABO", SUSAN, SUSAN.model_copy(update={"learner_id": "999926", "first_name": "Sam"}))
    guesses = [record(record_id=f"guess-{n}", date_of_birth=f"02/{n + 1:02d}") for n in range(5)]
    assert [refused_with([e]) for e in await gateway.send(*guesses)] == [[664]] * 5
    later = [record(record_id="guess-6", date_of_birth="03/01"), record(record_id="right", learner_id=" 999925 "),
             record(record_id="junk-id", learner_id="JUNK", npi=None)]
    before = gateway.clock.now()
    emitted = await gateway.send(*later)
    assert [(e.event.record_id, e.event.status, e.event.errors) for e in emitted] == [
        ("guess-6", "Submitted", []), ("right", "Submitted", []), ("junk-id", None, emitted[2].event.errors)]
    assert [gateway.store.scheduled[r].held for r in ("guess-6", "right")] == [True, True]
    assert all(gateway.store.scheduled[r].due_at >= before + timedelta(days=1) for r in ("guess-6", "right"))
    other_physician = record(record_id="sam", learner_id="999926", first_name="Sam")
    other_provider = record(record_id="elsewhere", provider_id="0099999", date_of_birth="04/04")
    assert [(e.event.status, [x.code for x in e.event.errors]) for e in await gateway.send(other_physician, other_provider)] \
        == [("Accepted", []), (None, [664])]


async def test_a_record_after_its_physician_joined_in_the_same_batch_is_matched() -> None:
    gateway = Gateway()
    emitted = await gateway.send(record(), BoardPhysiciansAdded(board="ABO", physicians=[SUSAN]),
                                 record(record_id="rec-2"))
    assert [(e.event.record_id, e.event.status) for e in emitted] == [("rec-1", None), ("rec-2", "Accepted")]


async def test_a_within_a_day_board_schedules_the_record_for_its_run_and_says_submitted_once() -> None:
    gateway = Gateway()
    sent = record("ABIM")
    decision = decided(await gateway.send(sent))
    assert (decision.record_id, decision.status, decision.errors) == ("rec-1", "Submitted", [])
    held = gateway.store.scheduled["rec-1"]
    assert (held.record, held.status, held.submitted_at) == (sent, "Submitted", SUBMITTED_AT)
    assert held.due_at == due_at(SUBMITTED_AT, timedelta(hours=1), SCALE)  # ABIM runs hourly
    assert await gateway.send(sent) == []  # a redelivery: already scheduled


async def test_the_schedule_follows_each_boards_period() -> None:
    gateway = Gateway()
    await gateway.send(record("ABS", learner_id=None, learner_id_type="ABS"))
    assert gateway.store.scheduled["rec-1"].due_at == due_at(SUBMITTED_AT, timedelta(hours=24), SCALE)
    assert due_at(SUBMITTED_AT, timedelta(hours=24), SCALE) != due_at(SUBMITTED_AT, timedelta(hours=1), SCALE)


def delete_of(board: str = "ABO", **changes: Any) -> LearnerRecordValidated:
    return record(board, **{"record_id": "rec-delete", "action": "Delete", "target_record_id": "rec-1"} | changes)


async def test_a_delete_of_a_decided_record_is_deleted_by_the_board() -> None:
    gateway = Gateway()
    await gateway.send(record("ABIM"))
    gateway.store.scheduled["rec-1"].status = "Accepted"  # the board's run decided it
    decision = decided(await gateway.send(delete_of("ABIM")))
    assert (decision.record_id, decision.target_record_id, decision.status, decision.action) == (
        "rec-delete", "rec-1", "Deleted", "Delete")
    assert gateway.store.scheduled["rec-1"].status == "Deleted"


async def test_a_delete_of_a_direct_boards_record_is_deleted() -> None:
    gateway = Gateway()
    assert decided(await gateway.send(delete_of())).status == "Deleted"


async def test_a_delete_of_a_record_still_waiting_for_its_run_is_refused_801() -> None:
    gateway = Gateway()
    await gateway.send(record("ABIM"))
    assert refused_with(await gateway.send(delete_of("ABIM"))) == [801]
    assert gateway.store.scheduled["rec-1"].status == "Submitted"


async def test_a_board_the_catalog_does_not_know_is_refused_998() -> None:
    gateway = Gateway()
    assert refused_with(await gateway.send(record("ABX"))) == [998]


async def test_physicians_join_their_boards_registry_replacing_an_earlier_entry() -> None:
    gateway = Gateway()
    await gateway.add("ABO", SUSAN)
    await gateway.add(" abo", SUSAN.model_copy(update={"date_of_birth": "02/02"}))
    (found,) = await gateway.store.candidates("ABO", [record()])
    assert [p.date_of_birth for p in found] == ["02/02"]
    assert refused_with(await gateway.send(record())) == [664]
