"""Activities: register and change them, the Activity Learner Summary, Activity Detail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
import orjson

from pars_contracts.boards import BOARDS
from pars_contracts.events import ActivityRegistered, BoardRegistration

from .records import LearnerFilters, activity_counts, activity_records
from .values import central_date, like


def activity_from_row(row: asyncpg.Record) -> ActivityRegistered:
    return ActivityRegistered(
        activity_id=row["activity_id"], provider_id=row["provider_id"],
        provider_activity_id=row["provider_activity_id"], title=row["title"], activity_type=row["activity_type"],
        start_date=row["start_date"], end_date=row["end_date"], reporting_year=row["reporting_year"],
        ama_credits=row["ama_credits"],
        registrations=[BoardRegistration.model_validate(r) for r in orjson.loads(row["registrations"])],
        version=row["version"])


async def activity_snapshots(conn: asyncpg.Connection, wanted: set[tuple[str, str]],
                             ) -> dict[tuple[str, str], ActivityRegistered]:
    """The activities among these (provider id, activity id): a provider's own only (another
    provider's are simply absent)."""
    if not wanted:
        return {}
    rows = await conn.fetch(
        "SELECT a.* FROM activities a JOIN unnest($1::text[], $2::text[]) AS w(p, i) "
        "ON a.provider_id = w.p AND a.activity_id = w.i", [p for p, _ in wanted], [i for _, i in wanted])
    return {(r["provider_id"], r["activity_id"]): activity_from_row(r) for r in rows}


@dataclass(frozen=True)
class ActivityFields:
    """What a provider says of an activity (registrations in the catalog's spelling, as JSON-ready dicts)."""

    provider_activity_id: str | None
    title: str
    activity_type: str
    start_date: date
    end_date: date
    reporting_year: int
    ama_credits: Decimal
    registrations: list[dict[str, Any]]

    def columns(self) -> tuple[Any, ...]:
        """The values of the activities table's columns, from provider_activity_id to registrations."""
        return (self.provider_activity_id, self.title, self.activity_type, self.start_date, self.end_date,
                self.reporting_year, self.ama_credits, orjson.dumps(self.registrations).decode())


async def register_activity(conn: asyncpg.Connection, provider_id: str, fields: ActivityFields) -> ActivityRegistered:
    """Stores a new activity under the next 9-digit ACCME activity id."""
    activity_id = str(await conn.fetchval("SELECT nextval('activity_ids')"))
    row = await conn.fetchrow(
        "INSERT INTO activities (activity_id, provider_id, provider_activity_id, title, activity_type, start_date, "
        "end_date, reporting_year, ama_credits, registrations) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING *",
        activity_id, provider_id, *fields.columns())
    return activity_from_row(row)


async def own_activity(conn: asyncpg.Connection | asyncpg.Pool, provider_id: str,
                       activity_id: str) -> ActivityRegistered | None:
    """The provider's activity, or None (unknown, or another provider's)."""
    row = await conn.fetchrow("SELECT * FROM activities WHERE activity_id = $1 AND provider_id = $2",
                              activity_id, provider_id)
    return None if row is None else activity_from_row(row)


async def lock_activity(conn: asyncpg.Connection, provider_id: str, activity_id: str) -> ActivityRegistered | None:
    """As `own_activity`, locked for a change until the transaction ends."""
    row = await conn.fetchrow("SELECT * FROM activities WHERE activity_id = $1 AND provider_id = $2 FOR UPDATE",
                              activity_id, provider_id)
    return None if row is None else activity_from_row(row)


async def boards_with_records(conn: asyncpg.Connection, provider_id: str, activity_id: str,
                              boards: list[str]) -> list[dict[str, Any]]:
    """Among `boards`, those learner records tie to the activity, with how many (`board`,
    `records`): stored ones (any status but Deleted) and rows still on their way (no outcome yet)."""
    if not boards:
        return []
    rows = await conn.fetch(
        "SELECT upper(board) AS board, count(*) AS records FROM records WHERE provider_id = $1 AND activity_id = $2 "
        "AND upper(board) = ANY($3::text[]) AND ((status IS NOT NULL AND status <> 'Deleted') OR outcome IS NULL) "
        "GROUP BY upper(board) ORDER BY upper(board)", provider_id, activity_id, boards)
    return [{"board": r["board"], "records": r["records"]} for r in rows]


async def update_activity(conn: asyncpg.Connection, provider_id: str, activity_id: str,
                          fields: ActivityFields) -> ActivityRegistered:
    """The activity's new state; its version goes up by one."""
    row = await conn.fetchrow(
        "UPDATE activities SET provider_activity_id = $3, title = $4, activity_type = $5, start_date = $6, "
        "end_date = $7, reporting_year = $8, ama_credits = $9, registrations = $10, version = version + 1, "
        "updated_at = now() WHERE activity_id = $1 AND provider_id = $2 RETURNING *",
        activity_id, provider_id, *fields.columns())
    return activity_from_row(row)


# --- Activity Learner Summary ---------------------------------------------------------------------

@dataclass(frozen=True)
class SummaryFilters:
    provider_id: str
    reporting_year: int | None = None
    title: str | None = None  # matched anywhere, case-insensitively
    provider_activity_id: str | None = None  # likewise
    board: str | None = None  # a catalog code

    def args(self) -> tuple[Any, ...]:
        return (self.provider_id, self.reporting_year, like(self.title), like(self.provider_activity_id), self.board)


_SUMMARY_FILTERS = (
    "WHERE a.provider_id = $1 AND ($2::int IS NULL OR a.reporting_year = $2) "
    "AND ($3::text IS NULL OR a.title ILIKE $3) AND ($4::text IS NULL OR a.provider_activity_id ILIKE $4) "
    "AND ($5::text IS NULL OR a.registrations @> jsonb_build_array(jsonb_build_object('board', $5::text))) ")
_SUMMARY = (
    "SELECT count(*) OVER () AS total, a.activity_id, a.title, a.activity_type, a.provider_activity_id, "
    "a.reporting_year, a.registrations, s.submitted, s.accepted, s.rejected, s.last_updated "
    "FROM activities a CROSS JOIN LATERAL ("
    " SELECT count(*) FILTER (WHERE r.status = 'Submitted') AS submitted,"
    " count(*) FILTER (WHERE r.status = 'Accepted') AS accepted,"
    " count(*) FILTER (WHERE r.status = 'Rejected') AS rejected, max(r.updated_at) AS last_updated"
    " FROM records r WHERE r.provider_id = a.provider_id AND r.activity_id = a.activity_id"
    " AND r.action = 'Add' AND r.status IS NOT NULL) s "
    + _SUMMARY_FILTERS + "ORDER BY a.activity_id LIMIT $6 OFFSET $7")
# The CSV export: no window count (it would read every match before the first row goes out).
_SUMMARY_EXPORT = _SUMMARY.replace("count(*) OVER () AS total, ", "", 1)


def _summary_item(r: asyncpg.Record) -> dict[str, Any]:
    return {
        "activity_id": r["activity_id"], "title": r["title"], "activity_type": r["activity_type"],
        "provider_activity_id": r["provider_activity_id"], "reporting_year": r["reporting_year"],
        "boards": [g["board"] for g in orjson.loads(r["registrations"])],
        "submitted": r["submitted"], "accepted": r["accepted"], "rejected": r["rejected"],
        "learners_last_updated": central_date(r["last_updated"]),
    }


async def activity_summary(pool: asyncpg.Pool, filters: SummaryFilters, limit: int,
                           offset: int) -> tuple[list[dict[str, Any]], int]:
    """One page of the provider's activities with their learner records' Submitted/Accepted/Rejected
    counts and the (US Central) date learners were last updated; and how many match in all."""
    rows = await pool.fetch(_SUMMARY, *filters.args(), limit, offset)
    total = rows[0]["total"] if rows else 0
    if not rows and offset:  # a page past the end still tells the total
        total = await pool.fetchval("SELECT count(*) FROM activities a " + _SUMMARY_FILTERS, *filters.args())
    return [_summary_item(r) for r in rows], total


async def export_activity_summary(conn: asyncpg.Connection, filters: SummaryFilters, limit: int,
                                  prefetch: int) -> AsyncIterator[dict[str, Any]]:
    """Every matching activity (at most `limit`) as `activity_summary` gives them, read through a
    server-side cursor (the caller holds a transaction)."""
    async for r in conn.cursor(_SUMMARY_EXPORT, *filters.args(), limit, 0, prefetch=prefetch):
        yield _summary_item(r)


async def reporting_years(pool: asyncpg.Pool, provider_id: str) -> set[int]:
    """The reporting years of the provider's activities."""
    return {r["reporting_year"] for r in await pool.fetch(
        "SELECT DISTINCT reporting_year FROM activities WHERE provider_id = $1", provider_id)}


# --- Activity Detail ----------------------------------------------------------------------------

async def activity_detail(pool: asyncpg.Pool, activity: ActivityRegistered, filters: LearnerFilters, limit: int,
                          offset: int, records_of: str | None = None) -> dict[str, Any]:
    """The activity's facts (as `own_activity` read them), its registrations (of the filters' board,
    or all) with their counts of every record, and one page of its learner records matching
    `filters` (at most `limit`, from `offset`; of board `records_of` too when given) grouped by
    board, Deleted ones left out, with `total`, how many match in all."""
    wanted = replace(filters, board=records_of) if records_of else filters
    page, total = await activity_records(pool, activity.provider_id, activity.activity_id, wanted, limit, offset)
    by_board: dict[str, list[dict[str, Any]]] = {}
    for item in page:
        by_board.setdefault(item["board"], []).append(item)
    counts = await activity_counts(pool, activity.provider_id, activity.activity_id)
    none = {"submitted": 0, "accepted": 0, "rejected": 0}
    boards = [{
        "board": reg.board, "name": BOARDS[reg.board].name if reg.board in BOARDS else reg.board,
        "credit_types": reg.credit_types, "max_points": str(reg.max_points), **counts.get(reg.board.upper(), none),
    } for reg in activity.registrations if filters.board in (None, reg.board)]
    return {**activity.model_dump(mode="json"), "boards": boards, "total": total, "records_by_board": by_board}
