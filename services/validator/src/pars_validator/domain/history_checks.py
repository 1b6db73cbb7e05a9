"""Checks against what the ledger already holds, and the reporting deadlines (603-717)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pars_contracts.boards import Board
from pars_contracts.codes import ErrorDetail, error
from pars_contracts.events import ActivityRegistered, BoardRegistration

from .ledger import DELETABLE_STATUSES, History, LedgerEntry, LedgerStatus


def _after(today: date, year: int, month: int, day: int) -> bool:
    # Compared as tuples so that an absurd reporting year cannot make a date() raise.
    return (today.year, today.month, today.day) > (year, month, day)


def add_deadline_errors(activity: ActivityRegistered, today: date) -> list[ErrorDetail]:
    """Reporting year Y takes learner records until March 31 of Y+1."""
    return [error(705)] if _after(today, activity.reporting_year + 1, 3, 31) else []


def duplicate_errors(history: History) -> list[ErrorDetail]:
    """603 only for a live record with the row's credit id. A Rejected record never blocks a new
    one (seed 001 line 476: "A new record with corrected information must be submitted ...
    removing the rejected record is optional"; line 360: the physician may fix their board
    account, so the same row may be sent again unchanged)."""
    same = history.same_credit_id
    return [error(603)] if same is not None and same.is_active else []


def learner_total_errors(found: Board, registration: BoardRegistration, history: History,
                         points: Decimal | None, completed: date | None) -> list[ErrorDetail]:
    """The learner's points and completions on this activity and board, counting only the
    entries that earn credit (not Rejected, not Deleted)."""
    active = history.active_entries
    if not active:
        return []
    errors = []
    earned = sum((e.credits for e in active), Decimal(0))
    if earned >= registration.max_points or found.one_completion_per_activity:
        errors.append(error(710))
    elif points is not None and earned + points > registration.max_points:
        errors.append(error(711))
    if found.one_completion_per_day and any(e.completion_date == completed for e in active):
        errors.append(error(717))
    return errors


def delete_errors(history: History, today: date) -> tuple[LedgerEntry | None, list[ErrorDetail]]:
    """The entry a Delete removes, or why it cannot."""
    entry = history.same_credit_id
    if entry is None or entry.status == LedgerStatus.DELETED:
        return None, [error(605)]
    errors = []
    if entry.status not in DELETABLE_STATUSES:
        errors.append(error(801))
    # Deletes are taken until December 31 of the record's reporting year.
    if _after(today, entry.reporting_year, 12, 31):
        errors.append(error(706))
    return entry, errors
