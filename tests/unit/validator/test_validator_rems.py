"""Opioid Analgesic REMS rows (docs/rems.md): the fields a REMS learner needs, and no board id or
date of birth."""

from __future__ import annotations

import pytest
from validator_samples import board_activity, codes, row, run, valid

REMS_TYPES = ["OA REMS Registered Prescriber", "OA REMS Non-Prescriber"]
REMS_ACTIVITY = board_activity("REMS", REMS_TYPES, max_points="10")


def rems_row(**overrides):
    fields = {"board": "REMS", "learner_id_type": None, "learner_id": None, "date_of_birth": None,
              "first_name": "Nora", "last_name": "Nurse", "credits": "2",
              "credit_types": ["OA REMS Non-Prescriber"]}
    return row(**(fields | overrides))


def test_a_rems_learner_needs_no_board_id_and_no_date_of_birth() -> None:
    outcome = valid(run(rems_row(), on=REMS_ACTIVITY))
    assert outcome.board == "REMS" and outcome.learner_id is None and outcome.date_of_birth is None
    assert outcome.learner_id_type == "NPI" and outcome.credit_types == ["OA REMS Non-Prescriber"]


def test_a_prescriber_may_be_given_by_npi_and_credit_types_are_canonical() -> None:
    outcome = valid(run(rems_row(learner_id_type="npi", learner_id="1234567893",
                                 credit_types=["oa rems  registered prescriber"]), on=REMS_ACTIVITY))
    assert outcome.learner_id == "1234567893" and outcome.credit_types == ["OA REMS Registered Prescriber"]


@pytest.mark.parametrize(("overrides", "code"), [
    ({"first_name": None}, 622), ({"last_name": None}, 623), ({"completion_date": None}, 631),
    ({"credits": None}, 632), ({"credit_types": []}, 677), ({"credit_types": ["ABIM Medical Knowledge"]}, 676),
    ({"learner_id_type": "ABIM", "learner_id": "999925"}, 712), ({"activity_id": None}, 630),
])
def test_a_rems_row_missing_what_it_needs_has_the_error(overrides, code) -> None:
    assert code in codes(run(rems_row(**overrides), on=REMS_ACTIVITY))


def test_rems_rows_need_an_activity_flagged_for_rems() -> None:
    assert codes(run(rems_row(), on=board_activity("ABIM", ["ABIM Medical Knowledge"]))) == [670]
