"""Deletes: 605, 801, 706, what a Delete must carry, and what a valid one says."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from validator_samples import (
    SEED_ACTIVITY,
    board_activity,
    codes,
    entry,
    row,
    stored,
    valid,
)
from validator_samples import run as run_on_seed_day

from pars_contracts.events import (
    ActivityRegistered,
    LearnerRecordInvalid,
    LearnerRecordSubmitted,
)
from pars_validator.domain.ledger import History
from pars_validator.domain.rules import Outcome, credit_id_for

BEFORE_THE_DELETE_DEADLINE = date(2019, 12, 1)

BY_CREDIT_ID = {"source": "service", "credit_id": "ccid:testProvider.org:123488"}


def run(submitted: LearnerRecordSubmitted, on: ActivityRegistered | None = SEED_ACTIVITY,
        history: History | None = None, today: date = BEFORE_THE_DELETE_DEADLINE) -> Outcome:
    return run_on_seed_day(submitted, on=on, history=history, today=today)


def delete_of(added: dict[str, object] | None = None, **changes: object) -> LearnerRecordSubmitted:
    return row(**(added or {}) | {"action": "Delete"} | changes)


def test_valid_delete_names_the_record_it_removes() -> None:
    original = stored(row(), status="Accepted", record_id="rec-added")
    outcome = valid(run(delete_of(), history=History(same_credit_id=original)))
    assert (outcome.action, outcome.target_record_id, outcome.credit_id) == (
        "Delete", "rec-added", original.credit_id)
    assert (outcome.completion_date, outcome.credits, outcome.board) == (
        date(2019, 1, 11), Decimal("0.25"), "ABIM")


def test_a_rejected_record_may_be_deleted() -> None:
    history = History(same_credit_id=stored(row(), status="Rejected"))
    assert codes(run(delete_of(), history=history)) == []


def test_delete_with_the_same_information_finds_its_add_however_spelled() -> None:
    # Seed 001 line 559: a tab Delete carries "the same information as what was entered into
    # PARS originally"; the name and date of birth are part of it (the derived credit id holds
    # them, lines 529-530), spelled any way that means the same.
    added = row(credits="4", credit_types=["ABIM Medical Knowledge"], completion_date="01/11/2019",
                date_of_birth="10/01")
    deleted = delete_of(credits="4.00", credit_types=["abim medical knowledge"],
                        completion_date="2019-01-11", board="abim", learner_id=" 999925 ",
                        first_name=" SUSAN ", last_name="o'laughlin", date_of_birth="1-Oct")
    assert credit_id_for(deleted) == credit_id_for(added)
    assert codes(run(deleted, history=History(same_credit_id=stored(added)))) == []


@pytest.mark.parametrize("changes", [{"date_of_birth": "12/07"}, {"first_name": "Sue"},
                                     {"last_name": "Laughlin"}])
def test_delete_with_another_name_or_birthday_is_another_record(changes: dict[str, str]) -> None:
    assert credit_id_for(delete_of(**changes)) != credit_id_for(row())


def test_state_delete_finds_an_add_that_took_the_default_credit_type() -> None:
    maine = {"board": "ME-MD", "activity_id": "200930280", "learner_id_type": "LICENSE",
             "learner_id": "MD9966", "credits": "14", "completion_date": "07/18/2019"}
    added = row(**maine, credit_types=[])
    deleted = delete_of(maine, credit_types=["AMA PRA Category 1 Credit"])
    assert credit_id_for(deleted) == credit_id_for(added)


def test_delete_by_given_credit_id_needs_nothing_else() -> None:
    deleted = delete_of(BY_CREDIT_ID, learner_id=None, first_name=None, last_name=None,
                        date_of_birth=None, completion_date=None, credits=None, credit_types=[])
    history = History(same_credit_id=entry("Accepted", credit_id=BY_CREDIT_ID["credit_id"]))
    assert valid(run(deleted, history=history)).target_record_id == "rec-0"


@pytest.mark.parametrize("history", [History(), History(same_credit_id=entry("Deleted"))])
def test_605_record_not_found(history: History) -> None:
    assert codes(run(delete_of(BY_CREDIT_ID), history=history)) == [605]


@pytest.mark.parametrize("status", ["Pending", "Submitted", "DeletePending"])
def test_801_record_awaiting_the_board(status: str) -> None:
    history = History(same_credit_id=entry(status))
    assert codes(run(delete_of(BY_CREDIT_ID), history=history)) == [801]


def test_706_deletes_until_december_31_of_the_records_reporting_year() -> None:
    history = History(same_credit_id=entry("Accepted", reporting_year=2019))
    assert codes(run(delete_of(BY_CREDIT_ID), history=history, today=date(2019, 12, 31))) == []
    assert codes(run(delete_of(BY_CREDIT_ID), history=history, today=date(2020, 1, 1))) == [706]


def test_801_and_706_together() -> None:
    history = History(same_credit_id=entry("Submitted", reporting_year=2018))
    assert codes(run(delete_of(BY_CREDIT_ID), history=history)) == [706, 801]


def test_delete_without_credit_id_needs_the_fields_it_derives_from() -> None:
    deleted = delete_of(learner_id="", completion_date="", credits=None, credit_types=[])
    assert codes(run(deleted)) == [621, 631, 632, 677]
    unreadable = delete_of(completion_date="someday", credits="four")
    assert codes(run(unreadable)) == [671, 673]


def test_abs_delete_without_board_id_is_found_by_name_and_birthday() -> None:
    abs_row = {"board": "ABS", "learner_id_type": None, "learner_id": None,
               "credit_types": ["ABS Continuous Certification"]}
    added = row(**abs_row)
    assert credit_id_for(delete_of(abs_row, date_of_birth="01/01")) == credit_id_for(added)
    assert credit_id_for(row(**abs_row, last_name="Other")) != credit_id_for(added)
    on = board_activity("ABS", ["ABS Continuous Certification"])
    assert codes(run(delete_of(abs_row, last_name=""), on=on)) == [623]


def test_delete_locating_errors() -> None:
    assert codes(run(delete_of(BY_CREDIT_ID, activity_id=None))) == [605, 630]
    assert codes(run(delete_of(BY_CREDIT_ID, board="ABX"))) == [605, 713]
    assert codes(run(delete_of(source="stream"))) == [650]


def test_delete_is_not_held_to_the_add_rules() -> None:
    original = stored(row())
    history = History(same_credit_id=original, learner_entries=[
        original, entry("Accepted", credits="500", completed=date(2019, 1, 11))])
    deleted = delete_of(credits="0.25", date_of_birth="", learner_id_type="NPI")
    assert codes(run(deleted, history=history, today=date(2019, 12, 31))) == []


def test_invalid_delete_reports_its_credit_id() -> None:
    outcome = run(delete_of())
    assert isinstance(outcome, LearnerRecordInvalid) and codes(outcome) == [605]
    assert outcome.credit_id == credit_id_for(row())

