"""Builders for the validator's unit tests: activities, rows and ledger entries, defaulting to
the seed's activity 200930149 ("An Other is an Other") and its ABIM learner Susan O'Laughlin."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pars_contracts.events import (
    ActivityRegistered,
    BoardRegistration,
    LearnerRecordInvalid,
    LearnerRecordSubmitted,
    LearnerRecordValidated,
)
from pars_validator.domain.ledger import History, LedgerEntry
from pars_validator.domain.rules import validate

PROVIDER = "0012345"
OTHER_PROVIDER = "0099999"
SEED_TODAY = date(2020, 1, 16)  # the seed's upload of 200930149_May_Learners.txt

ABIM_TYPES = ["ABIM Medical Knowledge"]
ABPATH_TYPES = ["ABPath MOC Part II", "ABPath MOC Part IV"]


def registration(board: str, credit_types: list[str], max_points: str = "500") -> BoardRegistration:
    return BoardRegistration(board=board, credit_types=credit_types, max_points=Decimal(max_points))


def activity(**overrides: Any) -> ActivityRegistered:
    fields: dict[str, Any] = {
        "activity_id": "200930149",
        "provider_id": PROVIDER,
        "provider_activity_id": "TO-20190405",
        "title": "An Other is an Other",
        "activity_type": "Other",
        "start_date": date(2019, 1, 1),
        "end_date": date(2019, 12, 31),
        "reporting_year": 2019,
        "ama_credits": Decimal(500),
        "registrations": [registration("ABIM", ABIM_TYPES), registration("ABPATH", ABPATH_TYPES)],
    }
    return ActivityRegistered(**(fields | overrides))


SEED_ACTIVITY = activity()


def state_activity(**overrides: Any) -> ActivityRegistered:
    """The seed's Maine pilot, where Traci Tester earned 14 credits twice on one day."""
    fields: dict[str, Any] = {
        "activity_id": "200930280",
        "title": "Thursday Testing - Maine State Pilot",
        "activity_type": "Course",
        "registrations": [
            registration("ME-MD", ["AMA PRA Category 1 Credit", "Prescribing of Opioid Education"]),
            registration("NC", ["AMA PRA Category 1 Credit"]),
        ],
    }
    return activity(**(fields | overrides))


def board_activity(board: str, credit_types: list[str], max_points: str = "500",
                   **overrides: Any) -> ActivityRegistered:
    """An activity registered for one board only."""
    return activity(registrations=[registration(board, credit_types, max_points)], **overrides)


def row(**overrides: Any) -> LearnerRecordSubmitted:
    fields: dict[str, Any] = {
        "record_id": "rec-1",
        "submission_id": "sub-1",
        "row_number": 1,
        "source": "web",
        "provider_id": PROVIDER,
        "activity_id": "200930149",
        "board": "ABIM",
        "action": "Add",
        "learner_id_type": "ABIM",
        "learner_id": "999925",
        "first_name": "Susan",
        "last_name": "O'Laughlin",
        "date_of_birth": "1/1",
        "completion_date": "01/11/2019",
        "credits": "0.25",
        "credit_types": list(ABIM_TYPES),
        "submitted_at": datetime(2020, 1, 16, 20, 31, tzinfo=UTC),
    }
    return LearnerRecordSubmitted(**(fields | overrides))


def entry(status: str = "Accepted", credits: str = "1", completed: date = date(2019, 3, 1),
          credit_id: str = "ccid:test:1", record_id: str = "rec-0",
          reporting_year: int = 2019) -> LedgerEntry:
    return LedgerEntry(record_id=record_id, credit_id=credit_id, completion_date=completed,
                       credits=Decimal(credits), status=status, reporting_year=reporting_year)


def stored(submitted: LearnerRecordSubmitted, status: str = "Accepted", record_id: str = "rec-0",
           on: ActivityRegistered | None = None) -> LedgerEntry:
    """The ledger entry a valid Add of `submitted` became."""
    outcome = run(submitted, on=on or SEED_ACTIVITY)
    assert isinstance(outcome, LearnerRecordValidated), outcome
    return LedgerEntry(record_id=record_id, credit_id=outcome.credit_id,
                       completion_date=outcome.completion_date, credits=outcome.credits,
                       status=status, reporting_year=outcome.reporting_year)


def run(submitted: LearnerRecordSubmitted, on: ActivityRegistered | None = SEED_ACTIVITY,
        history: History | None = None,
        today: date = SEED_TODAY) -> LearnerRecordValidated | LearnerRecordInvalid:
    return validate(submitted, on, history or History(), today)


def codes(outcome: LearnerRecordValidated | LearnerRecordInvalid) -> list[int]:
    """The outcome's error codes; [] for a valid row."""
    return [e.code for e in outcome.errors] if isinstance(outcome, LearnerRecordInvalid) else []


def valid(outcome: LearnerRecordValidated | LearnerRecordInvalid) -> LearnerRecordValidated:
    assert isinstance(outcome, LearnerRecordValidated), codes(outcome)
    return outcome

