"""The validator's handlers in memory: each PARS rule path from a submitted row to what the
validator emits and what its ledger then holds, and the board's decisions on the ledger. The
handlers are the service's own functions; the activity registry and ledger are the in-memory
repositories (the asyncpg ones are exercised by tests/integration/validator)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
import structlog
from validator_samples import (
    ABIM_TYPES,
    OTHER_PROVIDER,
    PROVIDER,
    SEED_ACTIVITY,
    SEED_TODAY,
    activity,
    board_activity,
    row,
)

from pars_contracts import topics
from pars_contracts.events import (
    ActivityRegistered,
    BoardDecision,
    LearnerRecordInvalid,
    LearnerRecordSubmitted,
    LearnerRecordValidated,
)
from pars_runtime import metrics
from pars_runtime.clock import Clock
from pars_validator import handlers
from pars_validator.domain import rules
from pars_validator.handlers import ValidatorBatch, key_of
from pars_validator.repositories import MemoryActivities, MemoryLedger
from tests.support.units import Emitted, batch, handle

BEFORE_THE_DELETE_DEADLINE = date(2019, 12, 1)  # deletes of reporting year 2019 are still taken


class Validator:
    """The validator's handlers on one in-memory registry and ledger, a fresh batch state per batch."""

    def __init__(self, today: date = SEED_TODAY) -> None:
        self.activities = MemoryActivities()
        self.ledger = MemoryLedger()
        self.clock = Clock(start=today)

    def state(self) -> ValidatorBatch:
        return ValidatorBatch(self.clock, lambda _conn: (self.activities, self.ledger))

    async def register(self, *activities: ActivityRegistered) -> None:
        for a in activities:
            assert await handle(handlers.activity_registered, a, self.state()) == []

    async def submit(self, *rows: LearnerRecordSubmitted) -> list[Emitted]:
        """The rows in one batch."""
        return await batch(self.state(), *[(handlers.record_submitted, r) for r in rows])

    async def decide(self, *decisions: BoardDecision) -> list[Emitted]:
        return await batch(self.state(), *[(handlers.board_decided, d) for d in decisions])

    def statuses(self) -> dict[str, str]:
        return {record_id: stored.entry.status for record_id, stored in self.ledger.rows.items()}


def rejected_with(emitted: list[Emitted]) -> list[int]:
    """The codes of the one rejection emitted."""
    (only,) = emitted
    assert (only.topic, only.type) == (topics.RECORDS_INVALID.name, "LearnerRecordInvalid")
    return [e.code for e in only.event.errors]


def validated(emitted: list[Emitted]) -> LearnerRecordValidated:
    (only,) = emitted
    assert (only.topic, only.type) == (topics.RECORDS_VALIDATED.name, "LearnerRecordValidated"), only.event
    return only.event


def board_said(record: LearnerRecordValidated, status: str | None, **changes: Any) -> BoardDecision:
    return BoardDecision(
        record_id=record.record_id, submission_id=record.submission_id, row_number=record.row_number,
        source=record.source, provider_id=record.provider_id, activity_id=record.activity_id, board=record.board,
        action=record.action, credit_id=record.credit_id, target_record_id=record.target_record_id, status=status,
        decided_at=datetime(2020, 1, 16, 21, tzinfo=UTC), **changes)


async def seeded(today: date = SEED_TODAY) -> Validator:
    validator = Validator(today)
    await validator.register(SEED_ACTIVITY)
    return validator


async def test_a_valid_add_is_validated_keyed_by_its_learner_and_held_pending() -> None:
    validator = await seeded()
    submitted = row()
    emitted = await validator.submit(submitted)
    outcome = validated(emitted)
    assert emitted[0].key == key_of(submitted, SEED_ACTIVITY)
    assert (outcome.record_id, outcome.action, outcome.board, outcome.activity_title) == (
        "rec-1", "Add", "ABIM", "An Other is an Other")
    stored = validator.ledger.rows["rec-1"]
    assert (stored.provider_id, stored.record_key, stored.entry.status, stored.entry.credit_id) == (
        PROVIDER, key_of(submitted, SEED_ACTIVITY), "Pending", outcome.credit_id)


async def test_a_row_carrying_its_activity_needs_no_registered_copy() -> None:
    validator = Validator()
    validated(await validator.submit(row(activity=SEED_ACTIVITY)))


# One row for each rejection the rules give a single field (seed day, seed activity, ABIM).
SINGLE_FIELD_REJECTIONS = {
    601: {"action": ""},
    602: {"action": "Update"},
    621: {"learner_id": ""},
    622: {"first_name": ""},
    623: {"last_name": ""},
    624: {"date_of_birth": ""},
    630: {"activity_id": ""},
    631: {"completion_date": ""},
    632: {"credits": ""},
    650: {"source": "service", "credit_id": None},
    664: {"date_of_birth": "Jun-70"},
    670: {"board": "ABA", "learner_id_type": "ABA", "credit_types": ["ABA MOCA"]},
    671: {"completion_date": "01/17/2020"},
    672: {"completion_date": "12/31/2018"},
    673: {"credits": "-1"},
    674: {"credits": "600"},
    675: {"credits": "0.3"},
    676: {"credit_types": ["Bogus"]},
    677: {"credit_types": []},
    678: {"credit_types": ["ABIM Medical Knowledge", "abim medical knowledge"]},
    680: {"credit_types": ["ABIM Patient Safety"]},
    681: {"credit_types": ["ABIM Practice Assessment"]},
    690: {"activity_id": "999999999"},
    712: {"learner_id_type": "NPI"},
    713: {"board": "ABX"},
}


@pytest.mark.parametrize(("code", "changes"), SINGLE_FIELD_REJECTIONS.items(), ids=str)
async def test_a_row_the_rules_reject_is_emitted_invalid_and_kept_out_of_the_ledger(
        code: int, changes: dict[str, Any]) -> None:
    validator = await seeded()
    submitted = row(**changes)
    emitted = await validator.submit(submitted)
    assert rejected_with(emitted) == [code]
    assert emitted[0].key == key_of(submitted, SEED_ACTIVITY)
    assert emitted[0].event.record_id == "rec-1"
    assert validator.ledger.rows == {}


async def test_another_providers_activity_is_unknown_690() -> None:
    validator = Validator()
    await validator.register(activity(provider_id=OTHER_PROVIDER))
    assert rejected_with(await validator.submit(row())) == [690]


async def test_an_add_after_march_31_of_the_next_year_is_late_705() -> None:
    validator = await seeded(today=date(2020, 4, 1))
    assert rejected_with(await validator.submit(row())) == [705]


async def test_the_latest_version_of_an_activity_is_the_one_rows_are_checked_against() -> None:
    validator = Validator()
    renamed = activity(title="Renamed", version=2)
    await validator.register(renamed, SEED_ACTIVITY)  # the older state arrives late: ignored
    assert validated(await validator.submit(row())).activity_title == "Renamed"


# ABPath takes several completions a day (ABIM would add its 717 to a repeated row's 603).
ABPATH = {"board": "ABPATH", "learner_id_type": "ABPATH", "credit_types": ["ABPath MOC Part II"]}


async def test_the_same_credit_id_again_is_a_duplicate_603_in_a_later_batch_and_in_the_same_one() -> None:
    validator = await seeded()
    validated(await validator.submit(row(**ABPATH)))
    assert rejected_with(await validator.submit(row(record_id="rec-2", **ABPATH))) == [603]
    emitted = await validator.submit(row(record_id="rec-3", credits="1", **ABPATH),
                                     row(record_id="rec-4", credits="1", **ABPATH))
    assert [e.type for e in emitted] == ["LearnerRecordValidated", "LearnerRecordInvalid"]
    assert [e.code for e in emitted[1].event.errors] == [603]
    assert set(validator.ledger.rows) == {"rec-1", "rec-3"}


async def test_a_credit_id_the_board_rejected_may_be_sent_again() -> None:
    validator = await seeded()
    first = validated(await validator.submit(row()))
    assert await validator.decide(board_said(first, "Rejected")) == []
    assert validator.statuses() == {"rec-1": "Rejected"}
    validated(await validator.submit(row(record_id="rec-2")))
    assert validator.statuses() == {"rec-1": "Rejected", "rec-2": "Pending"}


async def test_a_record_a_direct_board_refused_at_once_is_forgotten() -> None:
    validator = await seeded()
    first = validated(await validator.submit(row()))
    await validator.decide(board_said(first, None))
    assert validator.ledger.rows == {}
    validated(await validator.submit(row(record_id="rec-2")))  # not a duplicate of a record never stored


async def test_board_decisions_set_the_status_the_last_of_a_batch_winning() -> None:
    validator = await seeded()
    first = validated(await validator.submit(row()))
    await validator.decide(board_said(first, "Submitted"))
    assert validator.statuses() == {"rec-1": "Submitted"}
    await validator.decide(board_said(first, "Rejected"), board_said(first, "Accepted"))
    assert validator.statuses() == {"rec-1": "Accepted"}


async def test_abim_takes_one_completion_a_day_717() -> None:
    validator = await seeded()
    validated(await validator.submit(row()))
    assert rejected_with(await validator.submit(row(record_id="rec-2", credits="1"))) == [717]
    validated(await validator.submit(row(record_id="rec-3", credits="1", completion_date="01/12/2019")))


async def test_abp_takes_one_completion_an_activity_710() -> None:
    validator = Validator()
    await validator.register(board_activity("ABP", ["ABP MOC Part 2"]))
    abp = {"board": "ABP", "learner_id_type": "ABP", "credit_types": ["ABP MOC Part 2"], "credits": "1"}
    validated(await validator.submit(row(**abp)))
    assert rejected_with(await validator.submit(row(record_id="rec-2", completion_date="02/11/2019", **abp))) == [710]


async def test_a_learners_points_on_an_activity_stop_at_its_maximum_711_then_710() -> None:
    validator = Validator()
    await validator.register(board_activity("ABIM", ABIM_TYPES, max_points="12"))
    validated(await validator.submit(row(credits="10")))
    assert rejected_with(await validator.submit(row(record_id="rec-2", credits="4", completion_date="01/12/2019"))) == [711]
    validated(await validator.submit(row(record_id="rec-3", credits="2", completion_date="01/13/2019")))
    assert rejected_with(await validator.submit(row(record_id="rec-4", credits="1", completion_date="01/14/2019"))) == [710]


async def test_rejected_records_earn_no_points() -> None:
    validator = Validator()
    await validator.register(board_activity("ABIM", ABIM_TYPES, max_points="12"))
    first = validated(await validator.submit(row(credits="10")))
    await validator.decide(board_said(first, "Rejected"))
    validated(await validator.submit(row(record_id="rec-2", credits="4", completion_date="01/12/2019")))


async def accepted_add(today: date = BEFORE_THE_DELETE_DEADLINE) -> tuple[Validator, LearnerRecordValidated]:
    validator = await seeded(today)
    added = validated(await validator.submit(row(record_id="rec-added")))
    await validator.decide(board_said(added, "Accepted"))
    return validator, added


def delete(**changes: Any) -> LearnerRecordSubmitted:
    return row(**{"record_id": "rec-delete", "action": "Delete"} | changes)


async def test_a_delete_names_its_record_which_waits_for_the_board_then_is_deleted() -> None:
    validator, added = await accepted_add()
    emitted = await validator.submit(delete())
    asked = validated(emitted)
    assert (asked.action, asked.target_record_id, asked.credit_id) == ("Delete", "rec-added", added.credit_id)
    assert emitted[0].key == key_of(row(), SEED_ACTIVITY)  # the same key as its Add: kept in order
    assert validator.statuses() == {"rec-added": "DeletePending"}
    await validator.decide(board_said(asked, "Deleted"))
    assert validator.statuses() == {"rec-added": "Deleted"}
    assert rejected_with(await validator.submit(delete(record_id="rec-again"))) == [605]
    validated(await validator.submit(row(record_id="rec-new")))  # a deleted record's credit id is free again


async def test_a_delete_the_board_refuses_puts_the_record_back_as_it_was() -> None:
    validator, _ = await accepted_add()
    asked = validated(await validator.submit(delete()))
    await validator.decide(board_said(asked, None))
    assert validator.statuses() == {"rec-added": "Accepted"}
    assert rejected_with(await validator.submit(row(record_id="rec-2"))) == [603, 717]  # still live


async def test_a_rejected_record_may_be_deleted() -> None:
    validator = await seeded(BEFORE_THE_DELETE_DEADLINE)
    added = validated(await validator.submit(row(record_id="rec-added")))
    await validator.decide(board_said(added, "Rejected"))
    assert validated(await validator.submit(delete())).target_record_id == "rec-added"
    assert validator.statuses() == {"rec-added": "DeletePending"}


async def test_a_delete_of_no_record_is_605() -> None:
    validator = await seeded(BEFORE_THE_DELETE_DEADLINE)
    assert rejected_with(await validator.submit(delete())) == [605]


async def test_a_delete_before_the_board_decided_is_801_and_changes_nothing() -> None:
    validator = await seeded(BEFORE_THE_DELETE_DEADLINE)
    validated(await validator.submit(row(record_id="rec-added")))
    assert rejected_with(await validator.submit(delete())) == [801]
    assert validator.statuses() == {"rec-added": "Pending"}


async def test_a_delete_after_december_31_of_the_reporting_year_is_706() -> None:
    validator, _ = await accepted_add(today=BEFORE_THE_DELETE_DEADLINE)
    validator.clock = Clock(start=date(2020, 1, 2))
    assert rejected_with(await validator.submit(delete())) == [706]
    assert validator.statuses() == {"rec-added": "Accepted"}


async def test_an_add_and_its_delete_in_one_batch_the_delete_sees_the_pending_add() -> None:
    validator = await seeded(BEFORE_THE_DELETE_DEADLINE)
    emitted = await validator.submit(row(record_id="rec-added"), delete())
    assert [e.type for e in emitted] == ["LearnerRecordValidated", "LearnerRecordInvalid"]
    assert [e.code for e in emitted[1].event.errors] == [801]


async def test_a_rule_that_fails_unexpectedly_is_998_logged_with_its_traceback_and_counted(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any) -> None:
        raise ZeroDivisionError("a rule's bug")

    monkeypatch.setattr(rules, "check_learner", broken)
    validator = await seeded()
    before = metrics.RULE_FAILURES._value.get()
    with structlog.testing.capture_logs() as logs:
        emitted = await validator.submit(row())
    assert rejected_with(emitted) == [998]
    assert isinstance(emitted[0].event, LearnerRecordInvalid)
    assert metrics.RULE_FAILURES._value.get() == before + 1
    (logged,) = [entry for entry in logs if entry["log_level"] == "error"]
    assert logged["exc_info"] is True and logged["record_id"] == "rec-1"
    assert validator.ledger.rows == {}


# --- An XML or web-service Delete repeats every completion field (seed 001 567) ---

SERVICE = {"source": "service", "credit_id": "ccid:testProvider.org:123488"}


@pytest.mark.parametrize("changed", [
    {"activity_id": "200930150"}, {"learner_id": "999926"}, {"first_name": "Sue"}, {"last_name": "Laughlin"},
    {"date_of_birth": "1/2"}, {"completion_date": "01/12/2019"}, {"credits": "0.5"},
    {"credit_types": ["ABIM Medical Knowledge", "ABIM Practice Assessment"]},
])
async def test_a_web_service_delete_with_the_credit_id_but_another_field_is_605(changed: dict[str, Any]) -> None:
    validator = await seeded(BEFORE_THE_DELETE_DEADLINE)
    await validator.register(activity(activity_id="200930150"))
    added = validated(await validator.submit(row(record_id="rec-added", **SERVICE)))
    await validator.decide(board_said(added, "Accepted"))
    assert rejected_with(await validator.submit(delete(**SERVICE | changed))) == [605]
    assert validator.statuses() == {"rec-added": "Accepted"}
    # The same Delete with every field as added (spelled another way) removes it.
    same = delete(**SERVICE | {"first_name": " susan ", "date_of_birth": "01/01", "credits": "0.250"})
    assert validated(await validator.submit(same)).target_record_id == "rec-added"


async def test_the_portals_delete_button_and_a_tab_delete_are_unchanged() -> None:
    validator = await seeded(BEFORE_THE_DELETE_DEADLINE)
    added = validated(await validator.submit(row(record_id="rec-added", **SERVICE)))
    await validator.decide(board_said(added, "Accepted"))
    # The Delete button (source web) names the record by its credit id with intake's copy of it.
    button = delete(source="web", credit_id=SERVICE["credit_id"], completion_date="2019-01-11")
    assert validated(await validator.submit(button)).target_record_id == "rec-added"
