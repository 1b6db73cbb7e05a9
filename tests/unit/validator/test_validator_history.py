"""Rules against the ledger and the calendar: 603, 705, 710, 711, 717 for Adds."""

from __future__ import annotations

from datetime import date

import pytest
from validator_samples import (
    activity,
    board_activity,
    codes,
    entry,
    row,
    run,
    state_activity,
    stored,
)

from pars_validator.domain.ledger import History, LedgerStatus

ACTIVE = ["Pending", "Submitted", "Accepted", "DeletePending"]
INACTIVE = ["Rejected", "Deleted"]
ON_THE_SAME_DAY = date(2019, 1, 11)  # the default row's completion date


def test_705_reporting_deadline_is_march_31_of_the_next_year() -> None:
    assert codes(run(row(), today=date(2020, 3, 31))) == []
    assert codes(run(row(), today=date(2020, 4, 1))) == [705]


def test_705_follows_the_activitys_reporting_year() -> None:
    later = activity(reporting_year=2020)
    assert codes(run(row(), on=later, today=date(2021, 3, 31))) == []
    assert codes(run(row(), on=later, today=date(2021, 4, 1))) == [705]


@pytest.mark.parametrize("status", ACTIVE)
def test_603_same_credit_id_already_in_the_ledger(status: str) -> None:
    history = History(same_credit_id=stored(row(), status=status))
    assert codes(run(row(), history=history)) == [603]


# Seed 001 line 476: "A Rejected record cannot be updated. A new record with corrected
# information must be submitted ... removing the rejected record is optional": a Rejected
# record blocks nothing, so the same row may come again (line 360: the physician fixed their
# board account). A deleted one blocks nothing either.
@pytest.mark.parametrize("status", INACTIVE)
def test_a_rejected_or_deleted_record_can_be_added_again(status: str) -> None:
    history = History(same_credit_id=stored(row(), status=status))
    assert codes(run(row(), history=history)) == []


def test_603_for_a_given_credit_id() -> None:
    submitted = row(source="service", credit_id="ccid:testProvider.org:123488")
    history = History(same_credit_id=entry(credit_id="ccid:testProvider.org:123488"))
    assert codes(run(submitted, history=history)) == [603]


@pytest.mark.parametrize("status", ACTIVE)
def test_710_points_already_at_the_maximum(status: str) -> None:
    history = History(learner_entries=[entry(status, credits="300"), entry(status, credits="200")])
    assert codes(run(row(), history=history)) == [710]


@pytest.mark.parametrize("status", INACTIVE)
def test_rejected_and_deleted_entries_do_not_count(status: str) -> None:
    history = History(learner_entries=[entry(status, credits="500", completed=ON_THE_SAME_DAY)])
    assert codes(run(row(), history=history)) == []


def test_711_points_would_pass_the_maximum() -> None:
    history = History(learner_entries=[entry("Accepted", credits="499.75")])
    assert codes(run(row(credits="0.25"), history=history)) == []
    assert codes(run(row(credits="0.5"), history=history)) == [711]


def test_711_counts_only_active_entries() -> None:
    history = History(learner_entries=[entry("Accepted", credits="250"),
                                       entry("Rejected", credits="250")])
    assert codes(run(row(credits="250"), history=history)) == []
    assert codes(run(row(credits="250.25"), history=history)) == [711]


ABP = board_activity("ABP", ["ABP MOC Part 2"])
ABP_ROW = {"board": "ABP", "learner_id_type": "ABP", "credits": "1",
           "credit_types": ["ABP MOC Part 2"]}


@pytest.mark.parametrize("status", ACTIVE)
def test_710_abp_allows_one_completion_per_activity(status: str) -> None:
    history = History(learner_entries=[entry(status, credits="1", completed=date(2019, 6, 1))])
    assert codes(run(row(**ABP_ROW), on=ABP, history=history)) == [710]


@pytest.mark.parametrize("status", INACTIVE)
def test_abp_completion_after_a_rejected_or_deleted_one(status: str) -> None:
    history = History(learner_entries=[entry(status, credits="1")])
    assert codes(run(row(**ABP_ROW), on=ABP, history=history)) == []


@pytest.mark.parametrize(("board", "credit_type"), [
    ("ABIM", "ABIM Medical Knowledge"), ("ABA", "ABA MOCA"),
    ("ABS", "ABS Continuous Certification"),
])
def test_717_one_completion_per_day(board: str, credit_type: str) -> None:
    submitted = row(board=board, learner_id_type=board, credit_types=[credit_type])
    on = board_activity(board, [credit_type])
    same_day = History(learner_entries=[entry("Accepted", completed=ON_THE_SAME_DAY)])
    next_day = History(learner_entries=[entry("Accepted", completed=date(2019, 1, 12))])
    rejected = History(learner_entries=[entry("Rejected", completed=ON_THE_SAME_DAY)])
    assert codes(run(submitted, on=on, history=same_day)) == [717]
    assert codes(run(submitted, on=on, history=next_day)) == []
    assert codes(run(submitted, on=on, history=rejected)) == []


def test_boards_without_the_daily_limit_take_two_completions_on_one_day() -> None:
    same_day = History(learner_entries=[entry("Accepted", completed=ON_THE_SAME_DAY)])
    abpath = row(board="ABPATH", learner_id_type="ABPATH", credit_types=["ABPath MOC Part II"])
    assert codes(run(abpath, history=same_day)) == []
    maine = row(board="ME-MD", activity_id="200930280", learner_id_type="LICENSE",
                credit_types=[])
    assert codes(run(maine, on=state_activity(), history=same_day)) == []


def test_history_rules_collect_together() -> None:
    history = History(same_credit_id=stored(row()),
                      learner_entries=[entry("Accepted", credits="500", completed=ON_THE_SAME_DAY)])
    assert codes(run(row(), history=history, today=date(2020, 4, 1))) == [603, 705, 710, 717]


def test_history_rules_need_the_activity() -> None:
    full = History(learner_entries=[entry("Accepted", credits="500", completed=ON_THE_SAME_DAY)])
    assert codes(run(row(), on=None, history=full)) == [690]


def test_ledger_statuses_are_the_strings_the_store_keeps() -> None:
    assert [s.value for s in LedgerStatus] == [
        "Pending", "Submitted", "Accepted", "Rejected", "Deleted", "DeletePending"]
    assert entry("Accepted").is_active and not entry("Rejected").is_active
