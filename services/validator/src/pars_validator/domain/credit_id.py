"""A row's credit id: given by XML, web-service and stream callers, derived for the others (the
web form and tab-delimited files)."""

from __future__ import annotations

import functools

from pars_contracts.boards import Board, BoardKind, board, learner_key_id, resolve_code
from pars_contracts.codes import ErrorDetail, error
from pars_contracts.events import ActivityRegistered, LearnerRecordSubmitted
from pars_contracts.values import (
    derive_credit_id,
    normalize_name,
    parse_completion_date,
    parse_dob,
    parse_points,
)

from .completion import canonical_credit_types

MISSING_CREDIT_ID = 650
# Callers whose format has a credit id element (seed 001 495, SPEC 113/135): the JSON and XML web
# service (`POST /v1/learner-records`) and the upstream stream.
GIVES_CREDIT_ID = frozenset({"service", "stream"})


def given_credit_id(row: LearnerRecordSubmitted) -> str | None:
    return (row.credit_id or "").strip() or None


def _must_give_credit_id(row: LearnerRecordSubmitted) -> bool:
    # Web-service and stream callers must give one (650 from the rules); XML rows also arrive
    # with 650 among their format errors. None of them gets an id invented for it.
    return row.source in GIVES_CREDIT_ID or any(e.code == MISSING_CREDIT_ID for e in row.format_errors)


def row_board_code(row: LearnerRecordSubmitted, activity: ActivityRegistered | None) -> str:
    """The row's board code, a seed alias ("ME") resolved on its activity's registrations
    (as given when it does not resolve)."""
    return _board_code(row.board, _registered(activity))


def _registered(activity: ActivityRegistered | None) -> tuple[str, ...]:
    return tuple(r.board for r in activity.registrations) if activity is not None else ()


def _board_code(given_board: str | None, registered: tuple[str, ...]) -> str:
    given = (given_board or "").strip()
    return resolve_code(given, list(registered)) or given


def _learner_key(row: LearnerRecordSubmitted) -> str | None:
    return _learner_key_of(row.board, row.learner_id, row.npi, row.first_name, row.last_name, row.date_of_birth)


def _learner_key_of(given_board: str | None, learner_id: str | None, npi: str | None, first_name: str | None,
                    last_name: str | None, date_of_birth: str | None) -> str | None:
    """The learner's board id (on a state board the NPI alone will do); without one (ABS) the
    name and date of birth stand in for it."""
    board_id = learner_key_id(given_board, learner_id, npi)
    if board_id:
        return board_id
    last = normalize_name(last_name)
    if not last:
        return None
    dob = parse_dob(date_of_birth) or normalize_name(date_of_birth)
    return f"name:{normalize_name(first_name)}|{last}|{dob}"


def credit_id_for(row: LearnerRecordSubmitted, activity: ActivityRegistered | None = None) -> str | None:
    """The row's credit id, given or derived; None when the fields it derives from are unusable.
    `activity` (else the row's own copy) resolves a board alias, so "ME" and "ME-MD" rows of
    one learner derive one id."""
    if given := given_credit_id(row):
        return given
    if _must_give_credit_id(row):
        return None
    return completion_fingerprint(row, activity)


def completion_fingerprint(row: LearnerRecordSubmitted, activity: ActivityRegistered | None = None) -> str | None:
    """What the row says of its completion (activity, board, learner id, name, date of birth, date
    completed, credits, credit types), folded as a derived credit id is: two rows with the same
    fingerprint report the same completion. None when a field it needs is unusable."""
    return _fingerprint(row.provider_id, row.activity_id, row.board, row.learner_id, row.npi, row.first_name,
                        row.last_name, row.date_of_birth, row.completion_date, row.credits, tuple(row.credit_types),
                        _registered(activity or row.activity))


# A row's credit id is derived up to three times as the validator decides it (the batch's ledger
# read, the decision, the rules), each time from the same texts: the later ones are lookups.
@functools.lru_cache(maxsize=4096)
def _fingerprint(provider_id: str, activity_id: str | None, given_board: str | None, learner_id: str | None,
                 npi: str | None, first_name: str | None, last_name: str | None, date_of_birth: str | None,
                 completion_date: str | None, credits: str | None, credit_types: tuple[str, ...],
                 registered: tuple[str, ...]) -> str | None:
    activity_id = (activity_id or "").strip()
    board_code = _board_code(given_board, registered)
    completed = parse_completion_date(completion_date)
    points = parse_points(credits)
    learner = _learner_key_of(given_board, learner_id, npi, first_name, last_name, date_of_birth)
    if not activity_id or not board_code or completed is None or points is None or not learner:
        return None
    found = board(board_code)
    return derive_credit_id(provider_id, activity_id, found.code if found else board_code,
                            learner, completed, points, canonical_credit_types(found, credit_types),
                            first_name=first_name, last_name=last_name, date_of_birth=date_of_birth)


def derivation_errors(row: LearnerRecordSubmitted, found: Board | None) -> list[ErrorDetail]:
    """For a Delete without a credit id: the errors of the fields its credit id derives from."""
    if given_credit_id(row) or _must_give_credit_id(row):
        return []
    errors = []
    if not learner_key_id(row.board, row.learner_id, row.npi) and (found is None or found.board_id_required):
        errors.append(error(621))
    elif _learner_key(row) is None:
        errors.append(error(623))
    if not (row.completion_date or "").strip():
        errors.append(error(631))
    elif parse_completion_date(row.completion_date) is None:
        errors.append(error(671))
    if not (row.credits or "").strip():
        errors.append(error(632))
    elif parse_points(row.credits) is None:
        errors.append(error(673))
    if not canonical_credit_types(found, row.credit_types) and (
            found is None or found.kind is BoardKind.CERTIFYING):
        errors.append(error(677))
    return errors
