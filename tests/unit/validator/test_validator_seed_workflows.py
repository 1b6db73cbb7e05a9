"""The seed's workflows as pure rules: resubmission after a rejection (seed 001 lines 360, 476),
the Traci Tester pair (529-530), "ME" for both Maine boards (82-83, 116-117) and a state learner
known only by NPI (48)."""

from __future__ import annotations

from datetime import date

import pytest
from validator_samples import codes, registration, row, run, state_activity, stored, valid

from pars_contracts.boards import learner_key_id, resolve_code
from pars_validator.domain.ledger import History
from pars_validator.domain.rules import credit_id_for

MAINE_DAY = date(2019, 7, 20)
TRACI = {"activity_id": "200930280", "board": "ME-MD", "learner_id_type": "LICENSE",
         "learner_id": "MD9966", "first_name": "Traci", "last_name": "Tester", "date_of_birth": "11/10",
         "completion_date": "07/18/2019", "credits": "14", "credit_types": ["AMA PRA Category 1 Credit"]}
MAINE_MD = registration("ME-MD", ["AMA PRA Category 1 Credit", "Prescribing of Opioid Education"])
MAINE_DO = registration("ME-DO", ["AMA PRA Category 1 Credit", "Prescribing of Opioid Education"])


def on_maine(**changes: object):  # type: ignore[no-untyped-def]
    return run(row(**TRACI | changes), on=state_activity(), today=MAINE_DAY)


# --- resubmission after a rejection (seed 001 line 476) ---

@pytest.mark.parametrize("given", [None, "ccid:testProvider.org:123488"])
def test_the_same_row_again_after_its_record_was_rejected_is_new(given: str | None) -> None:
    # Line 360: the physician may fix their board account, so the row may come back unchanged.
    sent = row(source="service" if given else "web", credit_id=given)
    rejected = stored(sent, status="Rejected")
    outcome = valid(run(sent, history=History(same_credit_id=rejected, learner_entries=[rejected])))
    assert outcome.credit_id == rejected.credit_id  # the id is free again: the new record takes it


def test_a_corrected_row_after_a_rejection_is_new() -> None:
    rejected = stored(row(date_of_birth="06/16"), status="Rejected")
    corrected = row(date_of_birth="06/15")
    assert credit_id_for(corrected) != rejected.credit_id
    assert codes(run(corrected, history=History(learner_entries=[rejected]))) == []


@pytest.mark.parametrize("status", ["Pending", "Submitted", "Accepted"])
def test_the_same_row_again_beside_a_live_record_stays_a_duplicate(status: str) -> None:
    assert codes(run(row(), history=History(same_credit_id=stored(row(), status=status)))) == [603]


# --- the Traci Tester pair (seed 001 lines 529-530: two ACCEPTED records of one day) ---

def test_the_traci_tester_pair_are_two_records() -> None:
    first = row(**TRACI)
    second = row(**TRACI | {"date_of_birth": "12/7"})
    assert credit_id_for(first) != credit_id_for(second)
    earlier = stored(first, on=state_activity())
    # 14 + 14 within the registration's 500 points; a state board takes several a day.
    outcome = run(second, on=state_activity(), today=MAINE_DAY, history=History(learner_entries=[earlier]))
    assert codes(outcome) == []


# --- "ME": both Maine boards (seed 001 lines 82-83, 116-117) ---

def test_me_resolves_to_the_maine_board_the_activity_registers() -> None:
    assert valid(on_maine(board="ME")).board == "ME-MD"
    only_do = state_activity(registrations=[MAINE_DO])
    assert valid(run(row(**TRACI | {"board": "me"}), on=only_do, today=MAINE_DAY)).board == "ME-DO"


def test_me_and_me_md_rows_of_a_learner_are_one_record() -> None:
    activity = state_activity()
    assert credit_id_for(row(**TRACI | {"board": "ME"}), activity) == credit_id_for(row(**TRACI), activity)
    assert credit_id_for(row(**TRACI | {"board": "ME"}, activity=activity)) == credit_id_for(row(**TRACI))


def test_me_on_an_activity_registered_with_both_maine_boards_says_which_to_give() -> None:
    both = state_activity(registrations=[MAINE_MD, MAINE_DO])
    outcome = run(row(**TRACI | {"board": "ME"}), on=both, today=MAINE_DAY)
    assert codes(outcome) == [713]
    # The seed's message exactly; which code to give instead is the hint (shown in `resolution`).
    assert outcome.errors[0].message == "Activity registration type is not valid."
    assert "ME-MD or ME-DO" in (outcome.errors[0].hint or "")


def test_me_on_an_activity_without_a_maine_board_is_670() -> None:
    nc_only = state_activity(registrations=[registration("NC", ["AMA PRA Category 1 Credit"])])
    assert codes(run(row(**TRACI | {"board": "ME"}), on=nc_only, today=MAINE_DAY)) == [670]


def test_me_on_an_unknown_activity_is_only_690() -> None:
    assert codes(run(row(**TRACI | {"board": "ME", "activity_id": "999999999"}), on=None,
                     today=MAINE_DAY)) == [690]


def test_resolve_code() -> None:
    assert resolve_code("ME", ["ME-DO", "NC"]) == "ME-DO"
    assert resolve_code("ME", ["ME-DO", "ME-MD"]) is None
    assert resolve_code("ME", []) is None
    assert resolve_code("ABIM", []) == "ABIM"


# --- a state learner known only by NPI (seed 001 line 48: "either ID") ---

def test_a_state_learner_given_only_by_npi_is_accepted() -> None:
    outcome = valid(on_maine(learner_id=None, learner_id_type=None, npi="1122334455",
                             first_name="Nora", last_name="Npi", date_of_birth="10/10"))
    assert (outcome.learner_id, outcome.learner_id_type, outcome.npi) == ("1122334455", "NPI", "1122334455")


def test_an_npi_only_learner_is_the_same_learner_as_by_npi_in_learner_id() -> None:
    by_field = row(**TRACI | {"learner_id": None, "learner_id_type": None, "npi": "1122334455"})
    by_id = row(**TRACI | {"learner_id": "1122334455", "learner_id_type": None})
    assert credit_id_for(by_field) == credit_id_for(by_id)
    assert learner_key_id("ME", None, "1122334455") == "1122334455"


def test_a_certifying_board_still_needs_its_board_id() -> None:
    assert 621 in codes(run(row(learner_id=None, npi="1122334455")))
    assert learner_key_id("ABIM", None, "1122334455") is None
