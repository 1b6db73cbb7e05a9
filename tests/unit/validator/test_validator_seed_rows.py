"""The seed's own rows (document 001), validated as PARS would on the day they were uploaded."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from validator_samples import (
    SEED_ACTIVITY,
    activity,
    board_activity,
    codes,
    row,
    run,
    state_activity,
    stored,
    valid,
)

from pars_validator.domain.ledger import History

LIFELONG_LEARNING = "ABPath MOC Part II"
IMPROVEMENT_IN_MEDICAL_PRACTICE = "ABPath MOC Part IV"


def web_form_row(first: str, last: str, completed: str, dob: str, learner_id: str, credits: str,
                 types: list[str]) -> dict[str, object]:
    """A row of the ABPATH manual-entry form of activity 200930149."""
    return {"source": "web", "activity_id": "200930149", "board": "ABPATH",
            "learner_id_type": None, "learner_id": learner_id, "first_name": first,
            "last_name": last, "completion_date": completed, "date_of_birth": dob,
            "credits": credits, "credit_types": types}


WEB_FORM_ROWS = [
    web_form_row("Test2", "Account2", "01/05/2019", "03/01", "1000106", "3.5", [LIFELONG_LEARNING]),
    web_form_row("Test3", "Account3", "05/25/2019", "04/01", "1000107", "59.25",
                 [LIFELONG_LEARNING, IMPROVEMENT_IN_MEDICAL_PRACTICE]),
    web_form_row("Test4", "Account4", "12/31/2019", "05/01", "1000108", "4",
                 [LIFELONG_LEARNING, IMPROVEMENT_IN_MEDICAL_PRACTICE]),
]


def test_seed_activity_is_the_one_the_seed_shows() -> None:
    assert (SEED_ACTIVITY.activity_id, SEED_ACTIVITY.title, SEED_ACTIVITY.start_date,
            SEED_ACTIVITY.end_date, SEED_ACTIVITY.reporting_year) == (
        "200930149", "An Other is an Other", date(2019, 1, 1), date(2019, 12, 31), 2019)
    assert [(r.board, r.max_points) for r in SEED_ACTIVITY.registrations] == [
        ("ABIM", Decimal(500)), ("ABPATH", Decimal(500))]


@pytest.mark.parametrize("fields", WEB_FORM_ROWS, ids=["Test2", "Test3", "Test4"])
def test_web_form_rows_test2_to_test4_validate(fields: dict[str, object]) -> None:
    outcome = valid(run(row(**fields), today=date(2020, 1, 16)))
    assert outcome.board == "ABPATH" and outcome.learner_id_type == "ABPATH"
    assert outcome.activity_title == "An Other is an Other" and outcome.reporting_year == 2019
    assert outcome.credits == Decimal(str(fields["credits"]))
    assert outcome.credit_types == fields["credit_types"]
    assert outcome.date_of_birth == fields["date_of_birth"]
    assert outcome.credit_id.startswith("ccid:pars.derived:")


def test_the_three_web_form_rows_get_three_credit_ids() -> None:
    ids = {valid(run(row(**fields))).credit_id for fields in WEB_FORM_ROWS}
    assert len(ids) == 3


def tab_row(learner_id: str, first: str, last: str, dob: str, activity_id: str,
            credits: str, completed: str = "10/6/2019") -> dict[str, object]:
    """A row of the seed's tab-delimited error report (Learner Template B)."""
    return {"source": "upload", "board": "ABPATH", "activity_id": activity_id,
            "learner_id_type": "ABPATH", "learner_id": learner_id, "first_name": first,
            "last_name": last, "date_of_birth": dob, "completion_date": completed,
            "action": "Add", "credits": credits, "credit_types": [LIFELONG_LEARNING]}


ACTIVITY_200608132 = activity(activity_id="200608132", title="ABPath activity",
                              registrations=SEED_ACTIVITY.registrations)


@pytest.mark.parametrize(("fields", "dob"), [
    (tab_row("1000109", "Test5", "Account5", "Jun-70", "200608132", "12"), "Jun-70"),
    (tab_row("1000112", "Test8", "Account8", "Sep-66", "200608132", "8.5"), "Sep-66"),
], ids=["Test5", "Test8"])
def test_excel_mangled_dob_is_664_at_validation(fields: dict[str, object], dob: str) -> None:
    # The seed's error report (447-451) lists these rows with 664 among the records "which did
    # not pass PARS validation": PARS refuses them at once, naming the value it cannot read.
    outcome = run(row(**fields), on=ACTIVITY_200608132)
    assert codes(outcome) == [664]
    assert outcome.errors[0].message == "Diplomate date of birth does not match Board record for this diplomate ID."
    assert f"The date of birth {dob} is not a month and day" in (outcome.errors[0].hint or "")


def test_test9_on_an_activity_that_does_not_exist_is_690() -> None:
    fields = tab_row("1000113", "Test9", "Account9", "1-Oct", "200608133", "12")
    assert codes(run(row(**fields), on=None)) == [690]


def test_test9_dob_1_oct_reads_as_october_first() -> None:
    fields = tab_row("1000113", "Test9", "Account9", "1-Oct", "200608132", "12")
    assert valid(run(row(**fields), on=ACTIVITY_200608132)).date_of_birth == "10/01"


@pytest.mark.parametrize(("learner_id", "first", "last", "dob"), [
    ("1000113", "Test9", "Account9", "10/1"), ("1000104", "Test11", "Account11", "1/1"),
    ("1000105", "Test10", "Account10", "2/1"),
])
def test_board_stage_rows_pass_pars_validation(learner_id: str, first: str, last: str,
                                               dob: str) -> None:
    fields = tab_row(learner_id, first, last, dob, "200930149", "2", completed="12/01/2019")
    assert codes(run(row(**fields))) == []


def test_susan_olaughlin_reported_to_abim_and_abpath() -> None:
    abim = row(completion_date="01/11/2019")
    abpath = row(board="ABPATH", learner_id_type="ABPATH", completion_date="03/12/2019",
                 credit_types=[LIFELONG_LEARNING])
    assert valid(run(abim)).last_name == "O'Laughlin"
    assert codes(run(abpath)) == []
    second_that_day = row(credit_types=["ABIM Medical Knowledge"], credits="0.5")
    history = History(learner_entries=[stored(abim)])
    assert codes(run(second_that_day, history=history)) == [717]


def test_abo_template_rows() -> None:
    abo = board_activity("ABO", ["ABO MOC Part II"], activity_id="200931446")
    for learner_id, first, last, dob, completed in [
            ("98989", "Vincent", "Van Gogh", "03/30", "2/10/2019"),
            ("97979", "Georgia", "O'Keeffe", "11/15", "5/5/2019")]:
        submitted = row(source="upload", activity_id="200931446", board="ABO",
                        learner_id_type="ABO", learner_id=learner_id, first_name=first,
                        last_name=last, date_of_birth=dob, completion_date=completed,
                        credits="0.25", credit_types=["ABO MOC Part II"])
        assert codes(run(submitted, on=abo)) == []


def test_empty_template_row_with_only_delete() -> None:
    blank = row(source="upload", activity_id="", board="", action="Delete", learner_id_type="",
                learner_id="", first_name="", last_name="", date_of_birth="",
                completion_date="", credits="", credit_types=[])
    assert codes(run(blank)) == [621, 630, 631, 632, 677, 713]


MAINE = {"board": "ME-MD", "activity_id": "200930280", "learner_id_type": None,
         "learner_id": "MD9966", "first_name": "Traci", "last_name": "Tester",
         "date_of_birth": "11/10", "completion_date": "07/18/2019", "credits": "14",
         "credit_types": []}


def test_traci_tester_on_the_maine_pilot() -> None:
    outcome = valid(run(row(**MAINE), on=state_activity()))
    assert (outcome.learner_id_type, outcome.credit_types) == (
        "LICENSE", ["AMA PRA Category 1 Credit"])


def test_traci_testers_second_identical_row_is_a_duplicate() -> None:
    # The seed shows two 14-credit rows on one day, entered by hand. A derived credit id has no
    # field that tells such rows apart, so the second is a 603 duplicate (SPEC section 2); a
    # caller that gives its own credit ids can report both (state boards have no daily limit).
    state = state_activity()
    first = stored(row(**MAINE), on=state)
    history = History(same_credit_id=first, learner_entries=[first])
    assert codes(run(row(**MAINE | {"date_of_birth": "12/7"}), on=state, history=history)) == [603]
    own_id = row(**MAINE | {"source": "service", "credit_id": "ccid:pilot.example:2"})
    assert codes(run(own_id, on=state, history=History(learner_entries=[first]))) == []


def test_traci_test_nc_row_validates_and_waits_for_the_board() -> None:
    nc = row(board="NC", activity_id="200930280", learner_id_type=None, learner_id="999998",
             first_name="Traci", last_name="Test", date_of_birth="07/01",
             completion_date="05/25/2019", credits="5",
             credit_types=["AMA PRA Category 1 Credit"])
    assert valid(run(nc, on=state_activity())).date_of_birth == "07/01"
