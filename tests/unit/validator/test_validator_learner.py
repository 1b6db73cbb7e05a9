"""Who the learner is: 712 id type, 621 id, 622/623 names, 624 date of birth."""

from __future__ import annotations

import pytest
from validator_samples import board_activity, codes, row, run, state_activity, valid

from pars_contracts.codes import ERROR_MESSAGES
from pars_contracts.events import LearnerRecordInvalid

STATE_ROW = {"board": "ME-MD", "activity_id": "200930280", "learner_id_type": None,
             "learner_id": "MD9966", "first_name": "Traci", "last_name": "Tester",
             "date_of_birth": "11/10", "completion_date": "07/18/2019", "credits": "14",
             "credit_types": []}


def state_row(**overrides: object) -> dict[str, object]:
    return STATE_ROW | overrides


@pytest.mark.parametrize("id_type", ["ABPATH", "NPI", "LICENSE", "ABIMX", "Board ID"])
def test_712_id_type_of_another_board_or_unknown(id_type: str) -> None:
    assert codes(run(row(learner_id_type=id_type))) == [712]


@pytest.mark.parametrize("id_type", ["ABIM", "abim", " Abim ", None, ""])
def test_certifying_id_type_is_the_board_code(id_type: str | None) -> None:
    assert valid(run(row(learner_id_type=id_type))).learner_id_type == "ABIM"


@pytest.mark.parametrize(("id_type", "learner_id", "expected"), [
    ("NPI", "1234567893", "NPI"), ("npi", "1234567893", "NPI"), ("License", "MD9966", "LICENSE"),
    (None, "MD9966", "LICENSE"), ("", "1234567893", "NPI"), (None, "123456789", "LICENSE"),
])
def test_state_id_types(id_type: str | None, learner_id: str, expected: str) -> None:
    submitted = row(**state_row(learner_id_type=id_type, learner_id=learner_id))
    assert valid(run(submitted, on=state_activity())).learner_id_type == expected


@pytest.mark.parametrize("id_type", ["ME-MD", "ABIM", "DEA"])
def test_712_state_board_takes_only_npi_or_license(id_type: str) -> None:
    assert codes(run(row(**state_row(learner_id_type=id_type)), on=state_activity())) == [712]


@pytest.mark.parametrize("learner_id", [None, "", "  "])
def test_621_learner_id_missing(learner_id: str | None) -> None:
    assert codes(run(row(learner_id=learner_id))) == [621]


def test_621_state_learner_id_missing() -> None:
    assert codes(run(row(**state_row(learner_id=None)), on=state_activity())) == [621]


def test_abs_board_id_is_optional() -> None:
    abs_activity = board_activity("ABS", ["ABS Continuous Certification"])
    submitted = row(board="ABS", learner_id_type=None, learner_id=None,
                    credit_types=["ABS Continuous Certification"])
    outcome = valid(run(submitted, on=abs_activity))
    assert (outcome.learner_id, outcome.learner_id_type) == (None, "ABS")


@pytest.mark.parametrize("first_name", [None, "", " \t"])
def test_622_first_name_missing(first_name: str | None) -> None:
    assert codes(run(row(first_name=first_name))) == [622]


@pytest.mark.parametrize("last_name", [None, "", " "])
def test_623_last_name_missing(last_name: str | None) -> None:
    assert codes(run(row(last_name=last_name))) == [623]


def test_names_are_trimmed_not_otherwise_changed() -> None:
    outcome = valid(run(row(first_name="  Susan ", last_name=" O'Laughlin  ")))
    assert (outcome.first_name, outcome.last_name) == ("Susan", "O'Laughlin")


@pytest.mark.parametrize("dob", [None, "", "   "])
def test_624_date_of_birth_missing(dob: str | None) -> None:
    assert codes(run(row(date_of_birth=dob))) == [624]


def test_624_state_board_requires_date_of_birth() -> None:
    assert codes(run(row(**state_row(date_of_birth="")), on=state_activity())) == [624]


@pytest.mark.parametrize(("board", "credit_type"), [("ABA", "ABA MOCA"), ("ABP", "ABP MOC Part 2")])
def test_date_of_birth_optional_for_aba_and_abp(board: str, credit_type: str) -> None:
    submitted = row(board=board, learner_id_type=board, date_of_birth=None,
                    credit_types=[credit_type], credits="1")
    assert valid(run(submitted, on=board_activity(board, [credit_type]))).date_of_birth is None


@pytest.mark.parametrize(("dob", "expected"), [
    ("1/1", "01/01"), ("03/01", "03/01"), ("1-Oct", "10/01"), ("Oct-1", "10/01"),
    ("02/29", "02/29"), ("03/30/1970", "03/30"),
])
def test_readable_date_of_birth_is_normalized(dob: str, expected: str) -> None:
    assert valid(run(row(date_of_birth=dob))).date_of_birth == expected


@pytest.mark.parametrize("dob", ["Jun-70", "Sep-66", "02/30", "13/13", "13/01", "sometime"])
def test_unreadable_date_of_birth_is_664_at_validation(dob: str) -> None:
    # B7: the seed's error report lists Jun-70 and Sep-66 with 664 among the rows "which did not
    # pass PARS validation"; PARS says so at once, and what to write instead.
    outcome = run(row(date_of_birth=f" {dob} "))
    assert isinstance(outcome, LearnerRecordInvalid) and codes(outcome) == [664]
    # The seed's message exactly (its report shows it bare); what to write instead is the hint.
    assert outcome.errors[0].message == ERROR_MESSAGES[664]
    assert f"The date of birth {dob} is not a month and day: give it as MM/DD" in (outcome.errors[0].hint or "")


@pytest.mark.parametrize("board", ["ABP", "ABA"])
def test_unreadable_date_of_birth_is_664_even_where_it_is_optional(board: str) -> None:
    assert 664 in codes(run(row(board=board, learner_id_type=board, date_of_birth="Jun-70")))


def test_an_unreadable_date_of_birth_joins_the_rows_other_errors() -> None:
    assert codes(run(row(date_of_birth="Jun-70", first_name=" "))) == [622, 664]


def test_npi_beside_a_board_id_is_carried() -> None:
    outcome = valid(run(row(npi=" 1234567893 ")))
    assert (outcome.npi, outcome.learner_id) == ("1234567893", "999925")
    assert valid(run(row(npi=" "))).npi is None
