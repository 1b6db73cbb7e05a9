"""One record key (`topics.record_key`) for one learner on one activity and board, wherever it is
computed: intake keys the submitted row with it, the validator keys its ledger and its outcomes
with it (`key_of`, also what Sandbox PARS's validation uses), the board gateway keys its
decisions with it from the validated record. The spellings a provider may use for one learner
("ME" or the Maine board it resolves to, a state learner given only by NPI) share one key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from validator_samples import board_activity, registration, row, run, state_activity, valid

from pars_contracts import topics
from pars_contracts.events import LearnerRecordSubmitted
from pars_gateway.handlers import key_of as gateway_key
from pars_validator.handlers import key_of as validator_key

MAINE_DAY = date(2019, 7, 20)
TRACI = {"activity_id": "200930280", "board": "ME-MD", "learner_id_type": "LICENSE",
         "learner_id": "MD9966", "first_name": "Traci", "last_name": "Tester", "date_of_birth": "11/10",
         "completion_date": "07/18/2019", "credits": "14", "credit_types": ["AMA PRA Category 1 Credit"]}
NPI = "1122334455"


def intake_key(submitted: LearnerRecordSubmitted) -> str:
    """What intake's submit_many keys the event with (the row carries intake's activity snapshot)."""
    return topics.record_key(submitted, submitted.activity)


SPELLINGS = {
    "the Maine board": {},
    "ME": {"board": "ME"},
    "me, spaced": {"board": " me "},
    "NPI only": {"learner_id": None, "learner_id_type": None, "npi": NPI},
    "ME and NPI only": {"board": "ME", "learner_id": None, "learner_id_type": None, "npi": NPI},
    "NPI as the learner id": {"learner_id": NPI, "learner_id_type": None},
}


@pytest.mark.parametrize("spelling", SPELLINGS, ids=list(SPELLINGS))
def test_intake_the_validator_and_the_gateway_give_a_record_one_key(spelling: str) -> None:
    activity = state_activity()
    submitted = row(**TRACI | SPELLINGS[spelling], activity=activity)
    validated = valid(run(submitted, on=activity, today=MAINE_DAY))
    key = validator_key(submitted, activity)  # the validator's ledger key and its outcome's partition key
    assert intake_key(submitted) == key  # the partition the validator reads it from
    assert validator_key(submitted) == key  # the row's own activity copy (how a batch is prepared)
    assert gateway_key(validated) == key  # the gateway's decisions on it


def test_me_and_the_maine_board_are_one_learner_and_an_npi_only_learner_is_keyed_by_npi() -> None:
    activity = state_activity()
    maine = validator_key(row(**TRACI), activity)
    assert validator_key(row(**TRACI | {"board": "ME"}), activity) == maine
    by_npi = validator_key(row(**TRACI | {"learner_id": None, "npi": NPI}), activity)
    assert by_npi == validator_key(row(**TRACI | {"learner_id": NPI}), activity) != maine
    assert by_npi.endswith(f"|me-md|{NPI}")


def test_me_resolves_on_the_activity_it_is_registered_with() -> None:
    only_do = state_activity(registrations=[registration("ME-DO", ["AMA PRA Category 1 Credit"])])
    given = row(**TRACI | {"board": "ME"})
    assert validator_key(given, only_do) == validator_key(row(**TRACI | {"board": "ME-DO"}), only_do)
    assert validator_key(given, only_do) != validator_key(given, state_activity())
    # Unresolved (no activity known, or both Maine boards): keyed as given, the row's error anyway.
    both = state_activity(registrations=[registration("ME-MD", ["AMA PRA Category 1 Credit"]),
                                         registration("ME-DO", ["AMA PRA Category 1 Credit"])])
    assert validator_key(given, both) == validator_key(given) == topics.record_key(given)
    assert "|me|" in validator_key(given, both)


def test_an_npi_alone_names_no_learner_on_a_certifying_board() -> None:
    # ABIM needs its own id (621): the NPI is no key there, the name and date of birth stand in.
    no_id = row(learner_id=None, npi=NPI)
    assert validator_key(no_id) == topics.record_key(row(learner_id=None)) != validator_key(row())


def test_a_name_keyed_learner_keys_alike_when_the_date_of_birth_is_written_mm_dd() -> None:
    surgery = board_activity("ABS", ["ABS Continuous Certification"])
    surgeon = {"board": "ABS", "learner_id_type": None, "learner_id": None, "first_name": "Sam", "last_name": "Cutter",
               "credit_types": ["ABS Continuous Certification"], "activity": surgery}
    for dob, same in (("07/04", True), (" 07/04 ", True), ("7/4", False), ("July 4", False)):
        submitted = row(**surgeon | {"date_of_birth": dob})
        validated = valid(run(submitted, on=surgery))
        # The validated record carries the date of birth as MM/DD (topics.record_key's docstring).
        assert (gateway_key(validated) == validator_key(submitted) == intake_key(submitted)) is same, dob



@dataclass(frozen=True)
class Keyed:
    activity_id: str | None
    board: str | None
    last_name: str | None
    date_of_birth: str | None
    learner_id: str | None = None
    npi: str | None = None


def test_a_key_folds_ascii_and_accented_spellings_alike() -> None:
    """Keys fold case, spaces and accents: ASCII text takes a shorter path to the same key."""
    plain = Keyed(" 200930280 ", "abo", "Garcia  Lopez", "06/15")
    accented = Keyed("200930280", "ABO", "GARCÍA lópez", "06/15")
    assert topics.record_key(plain) == topics.record_key(accented) == "200930280|abo|garcia lopez/06/15"
