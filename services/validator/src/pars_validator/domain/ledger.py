"""The validator's ledger of learner credit: what a row is checked against (603, 605, 710...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum


class LedgerStatus(StrEnum):
    PENDING = "Pending"  # sent to the board, no decision yet
    SUBMITTED = "Submitted"
    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    DELETED = "Deleted"
    DELETE_PENDING = "DeletePending"


# Entries that count toward a learner's points and hold their credit id (603); Rejected and
# Deleted ones earn nothing and block nothing (seed 001 line 476).
ACTIVE_STATUSES = frozenset({LedgerStatus.PENDING, LedgerStatus.SUBMITTED,
                             LedgerStatus.ACCEPTED, LedgerStatus.DELETE_PENDING})
# Only a record the board has decided can be deleted (801 otherwise).
DELETABLE_STATUSES = frozenset({LedgerStatus.ACCEPTED, LedgerStatus.REJECTED})
_LIVENESS: dict[str, int] = {LedgerStatus.DELETED: 0, LedgerStatus.REJECTED: 1}  # live ones: 2


def liveness(status: str) -> int:
    """Which of the entries sharing a credit id a row means: a live one before a Rejected one,
    that before deleted ones (a credit id may be reused after its record was deleted or rejected)."""
    return _LIVENESS.get(status, 2)


@dataclass(frozen=True)
class LedgerEntry:
    """One stored record in the validator's learner credit ledger."""

    record_id: str
    credit_id: str
    completion_date: date
    credits: Decimal
    status: str
    reporting_year: int
    # The Add's `completion_fingerprint`: a Delete that gives its credit id must repeat every field
    # (seed 001 567). None for entries stored before it was kept: those match on the credit id.
    fingerprint: str | None = None

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


@dataclass(frozen=True)
class History:
    """What the handler loads before validating a row."""

    same_credit_id: LedgerEntry | None = None  # the provider's entry with this row's credit id
    learner_entries: list[LedgerEntry] = field(default_factory=list)  # same learner, activity, board

    @property
    def active_entries(self) -> list[LedgerEntry]:
        return [e for e in self.learner_entries if e.is_active]

