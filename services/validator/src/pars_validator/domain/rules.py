"""PARS validation of one learner record row: every rule, every error the row has."""

from __future__ import annotations

from datetime import date
from typing import Any, TypeAlias

from pars_contracts.boards import Board
from pars_contracts.codes import ErrorDetail, error
from pars_contracts.events import (
    Action,
    ActivityRegistered,
    BoardRegistration,
    LearnerRecordInvalid,
    LearnerRecordSubmitted,
    LearnerRecordValidated,
)
from pars_runtime import metrics
from pars_runtime.logs import get_logger

from .completion import (
    canonical_credit_types,
    check_completion_date,
    check_credit_types,
    check_points,
)
from .credit_id import (
    GIVES_CREDIT_ID,
    completion_fingerprint,
    credit_id_for,
    derivation_errors,
    given_credit_id,
)
from .history_checks import (
    add_deadline_errors,
    delete_errors,
    duplicate_errors,
    learner_total_errors,
)
from .learner import check_learner, default_id_type
from .ledger import History, LedgerEntry
from .locating import check_action, check_activity, check_board, check_registration

__all__ = ["History", "LedgerEntry", "Outcome", "credit_id_for", "validate"]

log = get_logger(__name__)
Outcome: TypeAlias = LearnerRecordValidated | LearnerRecordInvalid
GENERAL_ERROR = 998


def validate(row: LearnerRecordSubmitted, activity: ActivityRegistered | None, history: History,
             today: date) -> Outcome:
    """Validate a row; `today` is the US Central calendar date. Never raises: an unexpected
    failure is the row's error 998, logged with its traceback and counted (a rule's bug, to fix)."""
    try:
        return _validate(row, activity, history, today)
    except Exception:  # noqa: BLE001 - any failure is the row's 998, never the consumer's
        log.exception("a rule failed unexpectedly; the row gets error 998",
                      record_id=getattr(row, "record_id", None), provider_id=getattr(row, "provider_id", None))
        metrics.RULE_FAILURES.inc()
        return _general_error(row)


def _validate(row: LearnerRecordSubmitted, given_activity: ActivityRegistered | None,
              history: History, today: date) -> Outcome:
    errors = list(row.format_errors)
    action = check_action(row.action, errors)
    activity = check_activity(row.activity_id, row.provider_id, given_activity, errors)
    found = check_board(row.board, activity, errors)
    registration = check_registration(activity, found, errors)
    if row.source in GIVES_CREDIT_ID and not given_credit_id(row):
        errors.append(error(650))  # A12: the web service and the stream give their credit ids
    if action == "Delete":
        return _validate_delete(row, activity, found, history, today, errors)
    return _validate_add(row, action, activity, found, registration, history, today, errors)


def _validate_add(row: LearnerRecordSubmitted, action: Action | None,
                  activity: ActivityRegistered | None, found: Board | None,
                  registration: BoardRegistration | None, history: History, today: date,
                  errors: list[ErrorDetail]) -> Outcome:
    """An Add, or a row whose action is not known: every field is checked."""
    credit_id = credit_id_for(row, activity)
    learner = check_learner(row, found, errors)
    completed = check_completion_date(row.completion_date, found, activity, today, errors)
    points = check_points(row.credits, found, registration, errors)
    credit_types = check_credit_types(row.credit_types, found, registration, errors)
    if action == "Add":
        if activity is not None:
            errors += add_deadline_errors(activity, today)
        if credit_id is not None:
            errors += duplicate_errors(history)
        if found is not None and registration is not None:
            errors += learner_total_errors(found, registration, history, points, completed)
    if errors:
        return _invalid(row, errors, credit_id)
    assert (activity is not None and found is not None and credit_id is not None
            and completed is not None and points is not None and learner.id_type is not None)
    return LearnerRecordValidated(
        **_ids(row), activity_id=activity.activity_id, activity_title=activity.title,
        reporting_year=activity.reporting_year, board=found.code, action="Add",
        learner_id_type=learner.id_type, learner_id=learner.learner_id, npi=learner.npi,
        first_name=learner.first_name, last_name=learner.last_name,
        date_of_birth=learner.date_of_birth, completion_date=completed, credits=points,
        credit_types=credit_types, credit_id=credit_id, submitted_at=row.submitted_at)


def _validate_delete(row: LearnerRecordSubmitted, activity: ActivityRegistered | None,
                     found: Board | None, history: History, today: date,
                     errors: list[ErrorDetail]) -> Outcome:
    """A Delete needs what finds its record: a credit id, given or derivable. One that gives its
    credit id (XML, web service, stream) must also repeat the record's every completion field
    (seed 001 567: "the credit ID ... matches the original credit ID as well as all additional
    learner completion fields"), else it is not that record's Delete (605). The portal's Delete
    button (source web) sends the record's own stored fields and names its record."""
    credit_id = credit_id_for(row, activity)
    errors += derivation_errors(row, found)
    entry, entry_errors = delete_errors(history, today)
    if (entry is not None and row.source != "web" and given_credit_id(row) and entry.fingerprint is not None
            and completion_fingerprint(row, activity) != entry.fingerprint):
        entry, entry_errors = None, [error(605)]
    if credit_id is not None or not errors:
        errors += entry_errors
    if errors or entry is None:
        return _invalid(row, errors, credit_id)
    assert activity is not None and found is not None
    return _validated_delete(row, activity, found, entry)


def _validated_delete(row: LearnerRecordSubmitted, activity: ActivityRegistered, found: Board,
                      entry: LedgerEntry) -> LearnerRecordValidated:
    """A Delete names its record; its other fields are carried as far as they are readable."""
    learner = check_learner(row, found, [])
    return LearnerRecordValidated(
        **_ids(row), activity_id=activity.activity_id, activity_title=activity.title,
        reporting_year=entry.reporting_year, board=found.code, action="Delete",
        learner_id_type=learner.id_type or default_id_type(found, learner.learner_id),
        learner_id=learner.learner_id, npi=learner.npi, first_name=learner.first_name,
        last_name=learner.last_name, date_of_birth=learner.date_of_birth,
        completion_date=entry.completion_date, credits=entry.credits,
        credit_types=canonical_credit_types(found, row.credit_types), credit_id=entry.credit_id,
        target_record_id=entry.record_id, submitted_at=row.submitted_at)


_ID_FIELDS = ("record_id", "submission_id", "upload_id", "row_number", "source", "provider_id", "submitted_by")


def _ids(row: LearnerRecordSubmitted) -> dict[str, Any]:
    return {name: getattr(row, name) for name in _ID_FIELDS}


def _ordered(errors: list[ErrorDetail]) -> list[ErrorDetail]:
    """One of each error, by code (a stable sort keeps a row's 678s in their order)."""
    unique = list(dict.fromkeys(errors))
    return sorted(unique, key=lambda e: e.code)


def _invalid(row: LearnerRecordSubmitted, errors: list[ErrorDetail],
             credit_id: str | None) -> LearnerRecordInvalid:
    return LearnerRecordInvalid(**_ids(row), action=row.action, credit_id=credit_id,
                                errors=_ordered(errors))


def _general_error(row: LearnerRecordSubmitted) -> LearnerRecordInvalid:
    ids: dict[str, Any] = {name: getattr(row, name, None) for name in _ID_FIELDS}
    try:
        return LearnerRecordInvalid(**ids, errors=[error(GENERAL_ERROR)])
    except Exception:  # noqa: BLE001 - a row that is not even a valid model still gets one
        return LearnerRecordInvalid.model_construct(**ids, errors=[error(GENERAL_ERROR)])
