"""The validator's tables: activity registry copy and learner credit ledger (asyncpg).

`PostgresActivities` and `PostgresLedger` are the handlers' repositories (repositories.py) on one
batch's connection."""

from __future__ import annotations

from dataclasses import replace

import asyncpg
import orjson

from pars_contracts.events import ActivityRegistered, LearnerRecordValidated

from .domain.ledger import LedgerStatus, liveness
from .domain.rules import LedgerEntry

_ENTRY_FIELDS = ("record_id", "credit_id", "completion_date", "credits", "status", "reporting_year", "fingerprint")
_ENTRY_COLUMNS = ", ".join(_ENTRY_FIELDS)


async def save_activity(conn: asyncpg.Connection, activity: ActivityRegistered) -> None:
    """Keeps the activity's highest version: a change replaces the copy, an older state does not."""
    await conn.execute(
        "INSERT INTO activities (activity_id, provider_id, data) VALUES ($1, $2, $3) "
        "ON CONFLICT (activity_id) DO UPDATE SET provider_id = EXCLUDED.provider_id, data = EXCLUDED.data "
        "WHERE coalesce((activities.data->>'version')::int, 1) <= coalesce((EXCLUDED.data->>'version')::int, 1)",
        activity.activity_id, activity.provider_id, orjson.dumps(activity.model_dump(mode="json")).decode(),
    )


async def load_activity(conn: asyncpg.Connection, activity_id: str | None) -> ActivityRegistered | None:
    if not activity_id:
        return None
    data = await conn.fetchval("SELECT data FROM activities WHERE activity_id = $1", activity_id.strip())
    return ActivityRegistered.model_validate(orjson.loads(data)) if data else None


# The columns of a new entry, in the order `BatchLedger.add_pending` gathers them.
_NEW_COLUMNS = ("record_id", "provider_id", "credit_id", "record_key", "completion_date", "credits", "status",
                "reporting_year", "fingerprint")


class BatchLedger:
    """The ledger entries a consumer batch's rows are checked against: read in one query for the
    whole batch (`cover`), kept current as the batch's handlers add entries and change statuses,
    and new entries written in one statement (`flush`) before the batch commits. One round trip
    per batch instead of three per row; the later rows of a batch see the earlier ones' entries
    exactly as if each had been written at once."""

    def __init__(self) -> None:
        self._entries: dict[str, LedgerEntry] = {}
        self._rank: dict[str, tuple] = {}  # record id -> order among entries sharing a credit id
        self._by_credit: dict[tuple[str, str], list[str]] = {}
        self._by_key: dict[tuple[str, str], list[str]] = {}
        self._homes: dict[str, list[list[str]]] = {}  # record id -> the index lists holding it
        self._new: list[tuple] = []
        self._statuses: dict[str, str] = {}
        self._added = 0

    async def cover(self, conn: asyncpg.Connection, wanted: list[tuple[str, str, str | None]]) -> None:
        """Loads the entries of these (provider, record key, credit id) not loaded yet."""
        # Membership tests, not `set - dict.keys()`: that walks every key the batch has loaded,
        # once per row (a batch of 500 cost 250,000 steps; 4% of the validator's CPU).
        keys = {(p, k) for p, k, _ in wanted if (p, k) not in self._by_key}
        credits = {(p, c) for p, _, c in wanted if c and (p, c) not in self._by_credit}
        if not keys and not credits:
            return
        columns = f"{_ENTRY_COLUMNS}, provider_id, record_key, updated_at"
        # Two index lookups (the = ANY conditions: by record key, by credit id), not a join the
        # planner would answer with a scan of the whole ledger; the pairs then filter exactly.
        rows = await conn.fetch(
            f"SELECT {columns} FROM ledger WHERE record_key = ANY($2::text[]) "
            "AND (provider_id, record_key) IN (SELECT * FROM unnest($1::text[], $2::text[])) UNION "
            f"SELECT {columns} FROM ledger WHERE provider_id = ANY($3::text[]) AND credit_id = ANY($4::text[]) "
            "AND (provider_id, credit_id) IN (SELECT * FROM unnest($3::text[], $4::text[]))",
            [p for p, _ in keys], [k for _, k in keys], [p for p, _ in credits], [c for _, c in credits])
        for key in keys:
            self._by_key[key] = []
        for credit in credits:
            self._by_credit[credit] = []
        for r in rows:
            record_id = r["record_id"]
            if record_id not in self._entries:  # else the batch's own version is the current one
                self._entries[record_id] = LedgerEntry(**{c: r[c] for c in _ENTRY_FIELDS})
                self._rank[record_id] = (r["updated_at"].timestamp(), 0)
            key, credit = (r["provider_id"], r["record_key"]), (r["provider_id"], r["credit_id"])
            self._index(record_id, key if key in keys else None, credit if credit in credits else None)

    def _index(self, record_id: str, key: tuple[str, str] | None, credit: tuple[str, str] | None) -> None:
        homes = self._homes.setdefault(record_id, [])
        for index, at in ((self._by_key, key), (self._by_credit, credit)):
            if at is not None and at in index:
                index[at].append(record_id)
                homes.append(index[at])

    def entry_by_credit_id(self, provider_id: str, credit_id: str) -> LedgerEntry | None:
        # A live entry wins over a Rejected one, and that over deleted ones: a credit id may be
        # reused after its record was deleted or rejected, and a Delete with it then targets the
        # live record (at most one: the unique index), never the rejected one beside it.
        ids = self._by_credit[(provider_id, credit_id)]
        if not ids:
            return None
        best = max(ids, key=lambda i: (liveness(self._entries[i].status), self._rank[i]))
        return self._entries[best]

    def entries_for_learner(self, provider_id: str, record_key: str) -> list[LedgerEntry]:
        return [self._entries[i] for i in self._by_key[(provider_id, record_key)]]

    def add_pending(self, record: LearnerRecordValidated, record_key: str, fingerprint: str | None = None) -> None:
        self._added += 1
        entry = LedgerEntry(record.record_id, record.credit_id, record.completion_date, record.credits,
                            LedgerStatus.PENDING, record.reporting_year, fingerprint)
        self._entries[entry.record_id] = entry
        self._rank[entry.record_id] = (float("inf"), self._added)
        self._index(entry.record_id, (record.provider_id, record_key), (record.provider_id, record.credit_id))
        self._new.append((record.record_id, record.provider_id, record.credit_id, record_key,  # as _NEW_COLUMNS
                          record.completion_date, record.credits, LedgerStatus.PENDING.value, record.reporting_year,
                          fingerprint))

    def changed(self, record_id: str | None, status: str) -> None:
        """A status written to the database by this batch, mirrored here."""
        if record_id in self._entries:
            self._entries[record_id] = replace(self._entries[record_id], status=status)
            self._added += 1
            self._rank[record_id] = (float("inf"), self._added)

    def forgotten(self, record_id: str) -> None:
        """An entry deleted from the database by this batch, dropped here."""
        self._entries.pop(record_id, None)
        for ids in self._homes.pop(record_id, []):
            ids.remove(record_id)

    def set_status(self, record_id: str, status: str) -> None:
        """A board's decision on an entry, written with the batch's others by `flush`."""
        self._statuses[record_id] = status  # the last decision of the batch wins, as it would in order
        self.changed(record_id, status)

    async def flush(self, conn: asyncpg.Connection) -> None:
        """Writes the new entries, then the new statuses; also called before any other write of
        the batch, so that statements run in the order the handlers asked for them."""
        if self._statuses:
            statuses, self._statuses = self._statuses, {}
            await self._insert_new(conn)
            await conn.execute(
                "UPDATE ledger SET status = t.s, updated_at = now() FROM unnest($1::text[], $2::text[]) AS t(r, s) "
                "WHERE record_id = t.r AND record_id = ANY($1::text[])",  # = ANY: by the index, not a scan
                list(statuses), list(statuses.values()))
        await self._insert_new(conn)

    async def _insert_new(self, conn: asyncpg.Connection) -> None:
        if not self._new:
            return
        new, self._new = self._new, []
        # One binary COPY: a third of the client's CPU of an INSERT over unnest (issue #25).
        await conn.copy_records_to_table("ledger", records=new, columns=_NEW_COLUMNS)


async def mark_delete_pending(conn: asyncpg.Connection, record_id: str) -> None:
    await conn.execute(
        "UPDATE ledger SET status_before_delete = status, status = $2, updated_at = now() "
        "WHERE record_id = $1", record_id, LedgerStatus.DELETE_PENDING.value)


async def finish_delete(conn: asyncpg.Connection, record_id: str, deleted: bool) -> str | None:
    """The board's answer to a delete: Deleted, or back to the status the record had (returned)."""
    return await conn.fetchval(
        "UPDATE ledger SET status = CASE WHEN $2 THEN $3::text ELSE coalesce(status_before_delete, status) END, "
        "status_before_delete = NULL, updated_at = now() WHERE record_id = $1 RETURNING status", record_id, deleted,
        LedgerStatus.DELETED.value)


async def forget(conn: asyncpg.Connection, record_id: str) -> None:
    """A record the board refused at once was never stored (seed: "Manual Entry Errors")."""
    await conn.execute("DELETE FROM ledger WHERE record_id = $1", record_id)


class PostgresActivities:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def save(self, activity: ActivityRegistered) -> None:
        await save_activity(self.conn, activity)

    async def load(self, activity_id: str | None) -> ActivityRegistered | None:
        return await load_activity(self.conn, activity_id)


class PostgresLedger:
    """The ledger on one batch's connection: reads and new entries through `BatchLedger`; any
    other write flushes what the batch gathered first, so statements run in the order the
    handlers asked for them."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.batch = BatchLedger()

    async def cover(self, wanted: list[tuple[str, str, str | None]]) -> None:
        await self.batch.cover(self.conn, wanted)

    def entry_by_credit_id(self, provider_id: str, credit_id: str) -> LedgerEntry | None:
        return self.batch.entry_by_credit_id(provider_id, credit_id)

    def entries_for_learner(self, provider_id: str, record_key: str) -> list[LedgerEntry]:
        return self.batch.entries_for_learner(provider_id, record_key)

    def add_pending(self, record: LearnerRecordValidated, record_key: str, fingerprint: str | None = None) -> None:
        self.batch.add_pending(record, record_key, fingerprint)

    def set_status(self, record_id: str, status: str) -> None:
        self.batch.set_status(record_id, status)  # written with the batch's others

    async def mark_delete_pending(self, record_id: str) -> None:
        await self.batch.flush(self.conn)
        await mark_delete_pending(self.conn, record_id)
        self.batch.changed(record_id, LedgerStatus.DELETE_PENDING)

    async def finish_delete(self, record_id: str, deleted: bool) -> str | None:
        await self.batch.flush(self.conn)
        status = await finish_delete(self.conn, record_id, deleted)
        if status:
            self.batch.changed(record_id, status)
        return status

    async def forget(self, record_id: str) -> None:
        await self.batch.flush(self.conn)
        await forget(self.conn, record_id)
        self.batch.forgotten(record_id)

    async def flush(self) -> None:
        await self.batch.flush(self.conn)
