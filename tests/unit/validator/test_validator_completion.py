"""What was completed: 631/671/672 date, 632/673/674/675 points, 677/676/678/680/681 credit types."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from validator_samples import (
    ABPATH_TYPES,
    activity,
    board_activity,
    codes,
    registration,
    row,
    run,
    state_activity,
    valid,
)

from pars_contracts.codes import error
from pars_contracts.events import LearnerRecordInvalid

ABPATH_ROW = {"board": "ABPATH", "learner_id_type": "ABPATH", "learner_id": "1000106",
              "credit_types": ["ABPath MOC Part II"]}
STATE_ROW = {"board": "ME-MD", "activity_id": "200930280", "learner_id_type": "LICENSE",
             "learner_id": "MD9966", "credit_types": []}


@pytest.mark.parametrize("completed", [None, "", "  "])
def test_631_completion_date_missing(completed: str | None) -> None:
    assert codes(run(row(completion_date=completed))) == [631]


@pytest.mark.parametrize("completed", ["13/01/2019", "02/30/2019", "2019/01/05", "1/5/19",
                                       "yesterday", "01.05.2019"])
def test_671_completion_date_not_a_date(completed: str) -> None:
    assert codes(run(row(completion_date=completed))) == [671]


@pytest.mark.parametrize(("completed", "expected"), [
    ("01/11/2019", date(2019, 1, 11)), ("1-11-2019", date(2019, 1, 11)),
    ("2019-01-11", date(2019, 1, 11)), ("2019-01-11T16:15:00", date(2019, 1, 11)),
])
def test_completion_date_forms(completed: str, expected: date) -> None:
    assert valid(run(row(completion_date=completed))).completion_date == expected


def test_completion_today_ok_tomorrow_671() -> None:
    open_activity = activity(end_date=date(2020, 12, 31), reporting_year=2020)
    assert codes(run(row(completion_date="01/16/2020"), on=open_activity)) == []
    assert codes(run(row(completion_date="01/17/2020"), on=open_activity)) == [671]


def test_certifying_board_last_day_ok_day_after_671() -> None:
    today = date(2020, 2, 1)
    assert codes(run(row(completion_date="12/31/2019"), today=today)) == []
    assert codes(run(row(completion_date="01/01/2020"), today=today)) == [671]


def test_state_board_takes_completions_after_the_end_date() -> None:
    today = date(2020, 2, 1)
    state = state_activity()
    assert codes(run(row(**STATE_ROW, completion_date="01/01/2020"), on=state, today=today)) == []
    assert codes(run(row(**STATE_ROW, completion_date="02/02/2020"), on=state, today=today)) == [671]


def test_start_day_ok_day_before_672() -> None:
    assert codes(run(row(completion_date="01/01/2019"))) == []
    assert codes(run(row(completion_date="12/31/2018"))) == [672]
    state = state_activity()
    assert codes(run(row(**STATE_ROW, completion_date="12/31/2018"), on=state)) == [672]


@pytest.mark.parametrize("credits", [None, "", " "])
def test_632_points_missing(credits: str | None) -> None:
    assert codes(run(row(credits=credits))) == [632]


@pytest.mark.parametrize("credits", ["abc", "0", "0.00", "-1", "-0.25", "1e2", "1,5", "NaN", "4."])
def test_673_points_not_a_positive_number(credits: str) -> None:
    assert codes(run(row(credits=credits))) == [673]


@pytest.mark.parametrize(("credits", "expected"), [("0.25", []), ("0.3", [675]), ("3.75", []),
                                                   ("0.5", []), ("1.10", [675]), ("2.125", [675]),
                                                   (".75", []), ("12.00", [])])
def test_675_points_in_steps_of_a_quarter(credits: str, expected: list[int]) -> None:
    assert codes(run(row(credits=credits))) == expected


def test_points_equal_to_max_ok_a_quarter_more_674() -> None:
    assert valid(run(row(credits="500"))).credits == Decimal(500)
    assert codes(run(row(credits="500.25"))) == [674]


def test_points_over_max_and_off_step_give_both() -> None:
    assert codes(run(row(credits="600.3"))) == [674, 675]


@pytest.mark.parametrize(("credits", "expected"), [("2.5", [673]), ("2.25", [673]), ("2", []),
                                                   ("2.00", [])])
def test_abp_whole_points_only(credits: str, expected: list[int]) -> None:
    submitted = row(board="ABP", learner_id_type="ABP", credits=credits,
                    credit_types=["ABP MOC Part 2"])
    assert codes(run(submitted, on=board_activity("ABP", ["ABP MOC Part 2"]))) == expected


def test_points_output_as_decimal() -> None:
    assert valid(run(row(credits=" 3.50 "))).credits == Decimal("3.5")


@pytest.mark.parametrize("types", [[], [""], ["", "  "]])
def test_677_certifying_board_without_credit_type(types: list[str]) -> None:
    assert codes(run(row(credit_types=types))) == [677]


def test_state_board_defaults_to_ama_credit() -> None:
    outcome = valid(run(row(**STATE_ROW, completion_date="07/18/2019"), on=state_activity()))
    assert outcome.credit_types == ["AMA PRA Category 1 Credit"]


@pytest.mark.parametrize("given", [["Prescribing of Opioid Education"],
                                   ["Prescribing of Opioid Education", "ama pra category 1 credit"]])
def test_a_state_record_with_a_content_specific_type_also_has_ama_credit(given: list[str]) -> None:
    """Seed 001 52: "This will default to CME, however you may indicate if the learner also met
    requirements for any of the content-specific requirements"."""
    submitted = row(**STATE_ROW | {"credit_types": given}, completion_date="07/18/2019")
    outcome = valid(run(submitted, on=state_activity()))
    assert sorted(outcome.credit_types) == ["AMA PRA Category 1 Credit", "Prescribing of Opioid Education"]


@pytest.mark.parametrize("types", [["Bogus"], ["ABPath MOC Part II"], ["AMA PRA Category 1 Credit"],
                                   ["ABIM Medical Knowledge", "MOC"]])
def test_676_credit_type_not_of_the_board(types: list[str]) -> None:
    assert codes(run(row(credit_types=types))) == [676]


def test_676_credit_type_of_the_board_not_offered_by_the_activity() -> None:
    only_safety = board_activity("ABIM", ["ABIM Patient Safety"])
    assert codes(run(row(credit_types=["ABIM Medical Knowledge"]), on=only_safety)) == [676]
    state = state_activity()
    submitted = row(**STATE_ROW | {"board": "NC", "credit_types": ["Controlled Substance"]})
    assert codes(run(submitted, on=state)) == [676]


def test_680_patient_safety_not_offered() -> None:
    submitted = row(credit_types=["ABIM Medical Knowledge", "ABIM Patient Safety"])
    assert codes(run(submitted)) == [680]
    offered = board_activity("ABIM", ["ABIM Medical Knowledge", "ABIM Patient Safety"])
    assert codes(run(submitted, on=offered)) == []


@pytest.mark.parametrize(("board", "credit_type", "offered"), [
    ("ABIM", "ABIM Practice Assessment", "ABIM Medical Knowledge"),
    ("ABPATH", "ABPath MOC Part IV", "ABPath MOC Part II"),
    ("ABP", "ABP MOC Part 4", "ABP MOC Part 2"),
    ("ABO", "ABO MOC Part IV", "ABO MOC Part II"),
])
def test_681_practice_assessment_not_offered(board: str, credit_type: str, offered: str) -> None:
    submitted = row(board=board, learner_id_type=board, credits="1", credit_types=[credit_type])
    assert codes(run(submitted, on=board_activity(board, [offered]))) == [681]
    assert codes(run(submitted, on=board_activity(board, [offered, credit_type]))) == []


def test_678_same_credit_type_twice_names_it() -> None:
    submitted = row(**ABPATH_ROW | {"credit_types": ["ABPath MOC Part II", "abpath moc part ii"]})
    outcome = run(submitted)
    assert isinstance(outcome, LearnerRecordInvalid)
    assert outcome.errors == [error(678, "ABPath MOC Part II")]
    assert "ABPath MOC Part II allowed once" in outcome.errors[0].message


def test_678_once_per_repeated_type() -> None:
    types = ["ABPath MOC Part II", "ABPath MOC Part IV"] * 2 + ["ABPath MOC Part II"]
    outcome = run(row(**ABPATH_ROW | {"credit_types": types}))
    assert isinstance(outcome, LearnerRecordInvalid)
    assert outcome.errors == [error(678, "ABPath MOC Part II"), error(678, "ABPath MOC Part IV")]


def test_credit_types_output_in_canonical_spelling() -> None:
    submitted = row(**ABPATH_ROW | {"credit_types": [" abpath  moc part iv", "ABPATH MOC PART II"]})
    assert valid(run(submitted)).credit_types == ["ABPath MOC Part IV", "ABPath MOC Part II"]


def test_registration_credit_types_in_any_spelling() -> None:
    loose = activity(registrations=[registration("abpath", [t.upper() for t in ABPATH_TYPES])])
    assert codes(run(row(**ABPATH_ROW), on=loose)) == []


def test_every_error_of_a_row_is_collected_in_code_order() -> None:
    submitted = row(first_name="", last_name=None, date_of_birth=" ", learner_id="",
                    learner_id_type="NPI", completion_date="12/31/2018", credits="0.3",
                    credit_types=["ABIM Medical Knowledge", "Bogus", "ABIM Patient Safety",
                                  "ABIM Medical Knowledge"])
    assert codes(run(submitted)) == [621, 622, 623, 624, 672, 675, 676, 678, 680, 712]
