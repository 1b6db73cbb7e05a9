"""Checks of who the learner is: id type, id, names and date of birth (712, 621-624, 664)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pars_contracts.boards import Board, BoardKind
from pars_contracts.codes import ErrorDetail, error
from pars_contracts.events import LearnerRecordSubmitted
from pars_contracts.values import parse_dob

_NPI = re.compile(r"[0-9]{10}")


@dataclass(frozen=True)
class Learner:
    id_type: str | None
    learner_id: str | None
    npi: str | None
    first_name: str
    last_name: str
    date_of_birth: str | None  # MM/DD; as given when unreadable (664 beside, on an Add)


def _text(value: str | None) -> str | None:
    return (value or "").strip() or None


def default_id_type(found: Board, learner_id: str | None) -> str:
    if found.kind is not BoardKind.STATE:  # a certifying board's own code; a program's NPI
        return found.learner_id_types[0]
    return "NPI" if _NPI.fullmatch(learner_id or "") else "LICENSE"


def canonical_id_type(found: Board, given: str | None, learner_id: str | None) -> str | None:
    """The learner id type in canonical spelling, defaulted when empty; None when not valid."""
    wanted = (given or "").strip().upper()
    if not wanted:
        return default_id_type(found, learner_id)
    return wanted if wanted in found.learner_id_types else None


UNREADABLE_DOB = 664


def unreadable_dob_error(given: str) -> ErrorDetail:
    """B7 (seed 001 447-452, SPEC 3.2): a date of birth that is no month and day ("Jun-70",
    "13/01") is the seed's 664 (its message exactly), given at validation with what to write instead."""
    return error(UNREADABLE_DOB, hint=f"The date of birth {given} is not a month and day: "
                                      "give it as MM/DD (for example 06/15).")


def check_learner(row: LearnerRecordSubmitted, found: Board | None,
                  errors: list[ErrorDetail]) -> Learner:
    learner_id = _text(row.learner_id)
    if learner_id is None and found is not None and found.kind is BoardKind.STATE:
        # Seed 001 line 48: a state board's learner "can be reported with either ID" (license
        # and/or NPI); an NPI given only in the NPI field identifies the learner.
        learner_id = _text(row.npi)
    id_type = None
    if found is not None:
        id_type = canonical_id_type(found, row.learner_id_type, learner_id)
        if id_type is None:
            errors.append(error(712))
    if learner_id is None and (found is None or found.board_id_required):
        errors.append(error(621))
    first_name, last_name = _text(row.first_name), _text(row.last_name)
    if first_name is None:
        errors.append(error(622))
    if last_name is None:
        errors.append(error(623))
    given_dob = _text(row.date_of_birth)
    if given_dob is None and (found is None or found.dob_required):
        errors.append(error(624))
    date_of_birth = parse_dob(given_dob)
    if given_dob is not None and date_of_birth is None:
        errors.append(unreadable_dob_error(given_dob))
        date_of_birth = given_dob
    return Learner(id_type, learner_id, _text(row.npi), first_name or "", last_name or "",
                   date_of_birth)
