"""Action, activity, board and credit id: 601, 602, 630, 690, 713, 670, 650, format errors, 998."""

from __future__ import annotations

import pytest
from validator_samples import (
    OTHER_PROVIDER,
    SEED_TODAY,
    activity,
    codes,
    entry,
    row,
    run,
    valid,
)

from pars_contracts.codes import ErrorDetail, error
from pars_contracts.events import LearnerRecordInvalid, LearnerRecordSubmitted
from pars_contracts.values import DERIVED_CREDIT_ID_PREFIX
from pars_validator.domain import rules
from pars_validator.domain.ledger import History


def test_a_valid_row_passes() -> None:
    assert codes(run(row())) == []


@pytest.mark.parametrize("action", [None, "", "   "])
def test_601_action_missing(action: str | None) -> None:
    assert codes(run(row(action=action))) == [601]


@pytest.mark.parametrize("action", ["Update", "Added", "Remove", "A"])
def test_602_action_not_add_or_delete(action: str) -> None:
    assert codes(run(row(action=action))) == [602]


@pytest.mark.parametrize("action", ["add", " ADD ", "Add"])
def test_action_is_case_insensitive_and_trimmed(action: str) -> None:
    assert valid(run(row(action=action))).action == "Add"


def test_unknown_action_still_reports_the_rows_other_errors_but_no_history_errors() -> None:
    history = History(same_credit_id=entry(), learner_entries=[entry(credits="500")])
    assert codes(run(row(action="Update", first_name=""), history=history)) == [602, 622]


@pytest.mark.parametrize("activity_id", [None, "", "  "])
def test_630_activity_id_missing(activity_id: str | None) -> None:
    assert codes(run(row(activity_id=activity_id), on=None)) == [630]


def test_690_activity_unknown() -> None:
    # The seed's Test9 row: activity 200608133 does not exist.
    assert codes(run(row(activity_id="200608133"), on=None)) == [690]


@pytest.mark.parametrize("activity_id", ["20093014", "2009301490", "20093014x", "ACT-00001"])
def test_690_activity_id_not_nine_digits(activity_id: str) -> None:
    assert codes(run(row(activity_id=activity_id))) == [690]


def test_690_when_the_loaded_activity_is_another_one() -> None:
    assert codes(run(row(activity_id="200930150"))) == [690]


def test_another_providers_activity_is_answered_like_an_unknown_one() -> None:
    theirs = activity(provider_id=OTHER_PROVIDER)
    full = History(learner_entries=[entry(credits="500", completed=SEED_TODAY)])
    for submitted in (row(), row(credits="600"), row(board="NC"), row(completion_date="2/1/2021")):
        unknown = run(submitted, on=None, history=full)
        assert run(submitted, on=theirs, history=full) == unknown
        assert 690 in codes(unknown)
        assert not {670, 674, 705, 710, 711, 717} & set(codes(unknown))


def test_activity_id_is_trimmed() -> None:
    assert valid(run(row(activity_id=" 200930149 "))).activity_id == "200930149"


@pytest.mark.parametrize("board", [None, "", "ABX", "AMA", "MAINE"])  # "ME": test_validator_seed_workflows
def test_713_board_not_in_catalog(board: str | None) -> None:
    assert 713 in codes(run(row(board=board)))


@pytest.mark.parametrize("board", ["abim", " Abim ", "ABIM"])
def test_board_code_is_case_insensitive_and_upper_on_output(board: str) -> None:
    assert valid(run(row(board=board))).board == "ABIM"


def test_670_activity_not_registered_for_the_board() -> None:
    submitted = row(board="ABS", learner_id_type="ABS", credit_types=["ABS Continuous Certification"])
    assert codes(run(submitted)) == [670]


@pytest.mark.parametrize("source", ["stream", "service"])
def test_650_stream_or_web_service_row_without_credit_id(source: str) -> None:
    # A12 (seed 001 495): the JSON web service, like XML and the stream, names its credit id.
    assert codes(run(row(source=source))) == [650]
    assert codes(run(row(source=source, credit_id="  "))) == [650]
    outcome = run(row(source=source))
    assert isinstance(outcome, LearnerRecordInvalid) and outcome.credit_id is None


@pytest.mark.parametrize("source", ["stream", "service"])
def test_650_web_service_delete_without_credit_id_names_no_other_error(source: str) -> None:
    outcome = run(row(source=source, action="Delete", credit_types=[], credits=""))
    assert codes(outcome) == [650]


@pytest.mark.parametrize("source", ["stream", "service"])
def test_stream_or_web_service_row_with_credit_id_keeps_it(source: str) -> None:
    outcome = valid(run(row(source=source, credit_id=" ccid:lms.example.org:42 ")))
    assert outcome.credit_id == "ccid:lms.example.org:42"


@pytest.mark.parametrize("source", ["web", "upload"])
def test_web_form_and_upload_rows_without_credit_id_get_a_derived_one(source: str) -> None:
    assert valid(run(row(source=source))).credit_id.startswith(DERIVED_CREDIT_ID_PREFIX)


def test_format_errors_are_part_of_the_result() -> None:
    submitted = row(source="service", format_errors=[error(650), error(677)])
    outcome = run(submitted)
    assert codes(outcome) == [650, 677]
    assert isinstance(outcome, LearnerRecordInvalid) and outcome.credit_id is None


def test_format_errors_join_the_rows_other_errors_once_each() -> None:
    submitted = row(source="upload", credit_types=[], format_errors=[error(677)], last_name=" ")
    assert codes(run(submitted)) == [623, 677]


def test_invalid_result_copies_the_rows_ids() -> None:
    submitted = row(record_id="r-9", submission_id="s-9", upload_id="u-9", row_number=9,
                    source="upload", action="Update")
    outcome = run(submitted)
    assert isinstance(outcome, LearnerRecordInvalid)
    assert (outcome.record_id, outcome.submission_id, outcome.upload_id, outcome.row_number,
            outcome.source, outcome.provider_id, outcome.action) == (
        "r-9", "s-9", "u-9", 9, "upload", submitted.provider_id, "Update")


def test_998_when_a_rule_fails_unexpectedly(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(rules, "check_points", broken)
    outcome = run(row(record_id="r-1"))
    assert codes(outcome) == [998]
    assert isinstance(outcome, LearnerRecordInvalid) and outcome.record_id == "r-1"


def test_998_even_for_a_row_that_is_not_a_valid_model() -> None:
    broken = LearnerRecordSubmitted.model_construct(record_id="r-2", credit_types=None)
    outcome = rules.validate(broken, None, History(), SEED_TODAY)
    assert outcome.errors == [ErrorDetail(code=998, message=error(998).message)]
