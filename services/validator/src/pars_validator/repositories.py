"""What the validator's handlers keep: the activity registry's copy and the learner credit ledger.

The protocols are what the handlers ask of them; `ledger_store` answers in PostgreSQL (the
service), the classes here answer in memory (the handler tests), the same way."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from pars_contracts.events import ActivityRegistered, LearnerRecordValidated

from .domain.ledger import LedgerEntry, LedgerStatus, liveness


class ActivityRegistry(Protocol):
    async def save(self, activity: ActivityRegistered) -> None:
        """Keeps the activity's highest version: a change replaces the copy, an older state does not."""
        ...

    async def load(self, activity_id: str | None) -> ActivityRegistered | None: ...


class CreditLedger(Protocol):
    """The ledger as one batch sees it: entries read (`cover`) before they are asked for, the
    batch's own changes visible to its later rows at once, all written by `flush` at the latest."""

    async def cover(self, wanted: list[tuple[str, str, str | None]]) -> None:
        """Reads the entries of these (provider, record key, credit id) the batch does not hold yet."""
        ...

    def entry_by_credit_id(self, provider_id: str, credit_id: str) -> LedgerEntry | None:
        """The provider's entry with this credit id: a live one before a Rejected one, that before
        a deleted one; the latest changed among equals."""
        ...

    def entries_for_learner(self, provider_id: str, record_key: str) -> list[LedgerEntry]: ...

    def add_pending(self, record: LearnerRecordValidated, record_key: str, fingerprint: str | None = None) -> None: ...

    def set_status(self, record_id: str, status: str) -> None:
        """A board's decision on an entry (the last of a batch wins)."""
        ...

    async def mark_delete_pending(self, record_id: str) -> None: ...

    async def finish_delete(self, record_id: str, deleted: bool) -> str | None:
        """The board's answer to a delete: Deleted, or back to the status the record had (returned;
        None for a record the ledger does not hold)."""
        ...

    async def forget(self, record_id: str) -> None:
        """A record the board refused at once was never stored (seed: "Manual Entry Errors")."""
        ...

    async def flush(self) -> None: ...


class MemoryActivities:
    def __init__(self) -> None:
        self.activities: dict[str, ActivityRegistered] = {}

    async def save(self, activity: ActivityRegistered) -> None:
        held = self.activities.get(activity.activity_id)
        if held is None or held.version <= activity.version:
            self.activities[activity.activity_id] = activity

    async def load(self, activity_id: str | None) -> ActivityRegistered | None:
        return self.activities.get(activity_id.strip()) if activity_id else None


@dataclass
class StoredEntry:
    """A ledger row: the entry and what the table keeps beside it."""

    entry: LedgerEntry
    provider_id: str
    record_key: str
    changed: int  # order of the last change (the table's updated_at)
    status_before_delete: str | None = None


class MemoryLedger:
    """The ledger table in a dict, written at once: what a batch sees and what the table holds
    after its commit are the same."""

    def __init__(self) -> None:
        self.rows: dict[str, StoredEntry] = {}
        self._changes = 0

    async def cover(self, wanted: list[tuple[str, str, str | None]]) -> None:
        pass  # everything is at hand

    def entry_by_credit_id(self, provider_id: str, credit_id: str) -> LedgerEntry | None:
        same = [r for r in self.rows.values() if r.provider_id == provider_id and r.entry.credit_id == credit_id]
        if not same:
            return None
        return max(same, key=lambda r: (liveness(r.entry.status), r.changed)).entry

    def entries_for_learner(self, provider_id: str, record_key: str) -> list[LedgerEntry]:
        return [r.entry for r in self.rows.values() if (r.provider_id, r.record_key) == (provider_id, record_key)]

    def add_pending(self, record: LearnerRecordValidated, record_key: str, fingerprint: str | None = None) -> None:
        if record.record_id in self.rows:
            raise ValueError(f"ledger already holds {record.record_id}")  # the table's primary key
        entry = LedgerEntry(record.record_id, record.credit_id, record.completion_date, record.credits,
                            LedgerStatus.PENDING, record.reporting_year, fingerprint)
        self.rows[record.record_id] = StoredEntry(entry, record.provider_id, record_key, self._tick())

    def set_status(self, record_id: str, status: str) -> None:
        self._set(record_id, status)

    async def mark_delete_pending(self, record_id: str) -> None:
        row = self.rows.get(record_id)
        if row is not None:
            row.status_before_delete = row.entry.status
            self._set(record_id, LedgerStatus.DELETE_PENDING)

    async def finish_delete(self, record_id: str, deleted: bool) -> str | None:
        row = self.rows.get(record_id)
        if row is None:
            return None
        status = LedgerStatus.DELETED.value if deleted else (row.status_before_delete or row.entry.status)
        row.status_before_delete = None
        self._set(record_id, status)
        return status

    async def forget(self, record_id: str) -> None:
        self.rows.pop(record_id, None)

    async def flush(self) -> None:
        pass  # written at once

    def status(self, record_id: str) -> str | None:
        row = self.rows.get(record_id)
        return row.entry.status if row else None

    def _set(self, record_id: str, status: str) -> None:
        row = self.rows.get(record_id)
        if row is not None:
            row.entry = replace(row.entry, status=status)
            row.changed = self._tick()

    def _tick(self) -> int:
        self._changes += 1
        return self._changes
