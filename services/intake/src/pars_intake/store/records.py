"""Stored learner records: Learner Search, one record, a learner's records on an activity, an
activity's and an upload's records, CSV exports; and a submission's rows with their outcomes.

A stored learner record is an Add that passed PARS validation (it has a status); every view of
one is `record_view`'s dict."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import asyncpg
import orjson

from pars_contracts.boards import BOARDS, BoardKind
from pars_contracts.codes import with_resolution

from .values import central_date, like

# The learner id type as the PARS rules read it when the row left it out: the board's code for a
# certifying board; NPI (10 digits) or LICENSE for a state board.
_STATE_BOARDS = ", ".join(f"'{code}'" for code, b in BOARDS.items() if b.kind is BoardKind.STATE)
ID_TYPE_SQL = (f"coalesce(upper(nullif(trim(r.learner_id_type), '')), CASE WHEN upper(r.board) IN ({_STATE_BOARDS}) "
               "THEN CASE WHEN r.learner_id ~ '^[0-9]{10}$' THEN 'NPI' ELSE 'LICENSE' END ELSE upper(r.board) END)")
# A stored learner record with its activity, for every view.
RECORD_SELECT = (
    "SELECT r.record_id, r.activity_id, r.board, r.first_name, r.last_name, r.learner_id, "
    f"{ID_TYPE_SQL} AS learner_id_type, r.npi, "
    "r.date_of_birth, r.completion_date, r.credits, r.credit_types, r.credit_id, r.status, r.errors, r.submitted_at, "
    "r.updated_at, a.title AS activity_title, a.provider_activity_id "
    "FROM records r LEFT JOIN activities a ON a.activity_id = r.activity_id AND a.provider_id = r.provider_id "
    "WHERE r.provider_id = $1 AND r.action = 'Add' AND r.status IS NOT NULL ")


def record_view(r: Mapping[str, Any]) -> dict[str, Any]:
    """A stored record (a row of RECORD_SELECT) as the API and the portal show it."""
    return {
        "record_id": r["record_id"], "activity_id": r["activity_id"], "activity_title": r["activity_title"],
        "provider_activity_id": r["provider_activity_id"], "board": (r["board"] or "").upper(),
        "first_name": r["first_name"], "last_name": r["last_name"], "learner_id": r["learner_id"],
        "learner_id_type": r["learner_id_type"], "npi": r["npi"], "date_of_birth": r["date_of_birth"],
        "completion_date": r["completion_date"].isoformat() if r["completion_date"] else None,
        "credits": r["credits"], "credit_types": orjson.loads(r["credit_types"]), "credit_id": r["credit_id"],
        "status": r["status"],
        "errors": with_resolution(orjson.loads(r["errors"])) if r["status"] == "Rejected" else [],
        "date_submitted": central_date(r["submitted_at"]), "submitted_at": r["submitted_at"].isoformat(),
        "updated_at": r["updated_at"].isoformat(),
    }


# --- a submission's rows ----------------------------------------------------------------------------

async def submission_owner(conn: asyncpg.Connection | asyncpg.Pool, submission_id: str) -> str | None:
    """The provider id of a submission, or None when there is no such submission."""
    return await conn.fetchval("SELECT provider_id FROM submissions WHERE submission_id = $1", submission_id)


async def submission_rows(conn: asyncpg.Connection | asyncpg.Pool, submission_id: str) -> list[dict[str, Any]]:
    """Each row of a submission, in order, with its first outcome: `Pending`, its status, or its errors."""
    return outcome_rows(await conn.fetch(
        "SELECT row_number, record_id, credit_id, outcome, status, errors FROM records WHERE submission_id = $1 "
        "ORDER BY row_number", submission_id))


def outcome_rows(rows: list[Any]) -> list[dict[str, Any]]:
    """Rows of `records` (`row_number`, `record_id`, `credit_id`, `outcome`, `status`, `errors`), in
    order, as a submission's answer gives them."""
    result = []
    for r in rows:
        item: dict[str, Any] = {"row": r["row_number"], "record_id": r["record_id"], "credit_id": r["credit_id"]}
        if r["outcome"] is None:
            item["status"] = "Pending"
        elif r["outcome"] in ("Invalid", "Refused"):
            item["errors"] = with_resolution(orjson.loads(r["errors"]))
        else:
            item["status"] = r["status"] or r["outcome"]
            if r["status"] == "Rejected":
                item["errors"] = with_resolution(orjson.loads(r["errors"]))
        result.append(item)
    return result


# --- one record, and its learner's ------------------------------------------------------------------

async def own_record(conn: asyncpg.Connection | asyncpg.Pool, provider_id: str,
                     record_id: str) -> dict[str, Any] | None:
    """A stored record of the provider as its columns (a row of RECORD_SELECT; `record_view` shows
    it), or None: unknown, another provider's, or not a stored record."""
    row = await conn.fetchrow(RECORD_SELECT + "AND r.record_id = $2", provider_id, record_id)
    return None if row is None else dict(row)


_LEARNER_RECORDS = (RECORD_SELECT + "AND r.activity_id = $2 AND (r.learner_id = $3 OR (lower(r.first_name) = "
                    "lower($4) AND lower(r.last_name) = lower($5))) ORDER BY r.submitted_at, r.row_number, r.record_id "
                    "LIMIT 1000")


def _decimal(value: str | None) -> Decimal:
    try:
        return Decimal(value or "0")
    except InvalidOperation:
        return Decimal(0)


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


async def learner_records(conn: asyncpg.Connection | asyncpg.Pool, provider_id: str,
                          record: Mapping[str, Any]) -> dict[str, Any]:
    """Every record (any board, Deleted ones too) on `record`'s activity of the same learner (the
    same learner id, or the same first and last name), each with its entered and accepted credits
    and whether it may be deleted; and the totals (accepted only, and every record not Deleted)."""
    rows = await conn.fetch(_LEARNER_RECORDS, provider_id, record["activity_id"], record["learner_id"],
                            record["first_name"] or "", record["last_name"] or "")
    records = [{**record_view(row), "entered_credits": row["credits"],
                "accepted_credits": row["credits"] if row["status"] == "Accepted" else "0",
                "deletable": row["status"] in ("Accepted", "Rejected")} for row in rows]
    accepted = sum((_decimal(i["credits"]) for i in records if i["status"] == "Accepted"), Decimal(0))
    entered = sum((_decimal(i["credits"]) for i in records if i["status"] != "Deleted"), Decimal(0))
    return {"learner": {"first_name": record["first_name"], "last_name": record["last_name"],
                        "learner_id": record["learner_id"], "npi": record["npi"]},
            "activity_id": record["activity_id"], "activity_title": record["activity_title"], "records": records,
            "total_entered_credits": _number(entered), "total_accepted_credits": _number(accepted)}


# --- an activity's records ----------------------------------------------------------------------------

_ACTIVITY_RECORDS = (RECORD_SELECT + "AND r.activity_id = $2 AND r.status <> 'Deleted' AND ($3::text IS NULL OR "
                     "upper(r.board) = $3) ORDER BY upper(r.board), lower(r.last_name), lower(r.first_name), "
                     "r.completion_date, r.record_id LIMIT $4")


@dataclass(frozen=True)
class LearnerFilters:
    """Activity Detail's filter options on its learner data: a board, and the learner's names and id
    (matched anywhere, case-insensitively) and status."""

    board: str | None = None  # a catalog code
    last_name: str | None = None
    first_name: str | None = None
    learner_id: str | None = None
    status: str | None = None  # Submitted, Accepted, Rejected

    def args(self) -> tuple[Any, ...]:
        return (self.board, like(self.last_name), like(self.first_name), like(self.learner_id), self.status or None)


_ACTIVITY_PAGE = (
    RECORD_SELECT.replace("SELECT ", "SELECT count(*) OVER () AS total, ", 1)
    + "AND r.activity_id = $2 AND r.status <> 'Deleted' AND ($3::text IS NULL OR upper(r.board) = $3) "
    "AND ($4::text IS NULL OR r.last_name ILIKE $4) AND ($5::text IS NULL OR r.first_name ILIKE $5) "
    "AND ($6::text IS NULL OR r.learner_id ILIKE $6) AND ($7::text IS NULL OR r.status = $7) "
    "ORDER BY upper(r.board), lower(r.last_name), lower(r.first_name), r.completion_date, r.record_id "
    "LIMIT $8 OFFSET $9")


async def activity_records(conn: asyncpg.Connection | asyncpg.Pool, provider_id: str, activity_id: str,
                           filters: LearnerFilters, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """One page of the activity's records but Deleted ones that match `filters`, by board and learner
    name; and how many match in all. A page, never the whole activity: an activity may hold 100,000
    records (security review N4); the CSV export streams them all."""
    rows = await conn.fetch(_ACTIVITY_PAGE, provider_id, activity_id, *filters.args(), limit, offset)
    total = rows[0]["total"] if rows else 0
    if not rows and offset:  # a page past the end still tells the total
        counted = await conn.fetch(_ACTIVITY_PAGE, provider_id, activity_id, *filters.args(), 1, 0)
        total = counted[0]["total"] if counted else 0
    return [record_view(r) for r in rows], total


async def activity_counts(conn: asyncpg.Connection | asyncpg.Pool, provider_id: str,
                          activity_id: str) -> dict[str, dict[str, int]]:
    """Per board (upper case): the activity's Submitted, Accepted and Rejected records."""
    rows = await conn.fetch(
        "SELECT upper(board) AS board, count(*) FILTER (WHERE status = 'Submitted') AS submitted, "
        "count(*) FILTER (WHERE status = 'Accepted') AS accepted, count(*) FILTER (WHERE status = 'Rejected') AS rejected "
        "FROM records WHERE provider_id = $1 AND activity_id = $2 AND action = 'Add' AND status IS NOT NULL "
        "GROUP BY upper(board)", provider_id, activity_id)
    return {r["board"]: {"submitted": r["submitted"], "accepted": r["accepted"], "rejected": r["rejected"]}
            for r in rows}


async def export_activity_records(conn: asyncpg.Connection, provider_id: str, activity_id: str, board: str | None,
                                  limit: int, prefetch: int) -> AsyncIterator[dict[str, Any]]:
    """Every record but Deleted ones of the activity (of one board, or all), by board and learner name,
    read through a server-side cursor (the caller holds a transaction)."""
    async for r in conn.cursor(_ACTIVITY_RECORDS, provider_id, activity_id, board, limit, prefetch=prefetch):
        yield record_view(r)


# --- an upload's records --------------------------------------------------------------------------------

async def upload_records(conn: asyncpg.Connection | asyncpg.Pool, provider_id: str,
                         upload_id: str) -> list[dict[str, Any]]:
    """The records an upload added, in file order, each with its `row`."""
    rows = await conn.fetch(RECORD_SELECT.replace("SELECT ", "SELECT r.row_number, ", 1)
                            + "AND r.upload_id = $2 ORDER BY r.row_number", provider_id, upload_id)
    return [{"row": r["row_number"], **record_view(r)} for r in rows]


async def upload_deleted_rows(conn: asyncpg.Connection | asyncpg.Pool, provider_id: str,
                              upload_id: str) -> list[dict[str, Any]]:
    """An upload's processed Delete rows, in file order, each with the record it deleted."""
    rows = await conn.fetch(
        "SELECT row_number, first_name, last_name, learner_id, board, activity_id, target_record_id FROM records "
        "WHERE provider_id = $1 AND upload_id = $2 AND outcome = 'Deleted' ORDER BY row_number",
        provider_id, upload_id)
    return [{"row": d["row_number"], "first_name": d["first_name"], "last_name": d["last_name"],
             "learner_id": d["learner_id"], "board": (d["board"] or "").upper(),
             "activity_id": d["activity_id"], "record_id": d["target_record_id"]} for d in rows]


# --- Learner Search ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SearchFilters:
    """Learner Search's criteria; None: not asked. Deleted records match only `status="Deleted"`."""

    provider_id: str
    last_name: str | None = None  # exactly, case-insensitively
    activity_title: str | None = None  # anywhere, case-insensitively
    submitted_from: date | None = None  # US Central dates
    submitted_to: date | None = None
    boards: list[str] | None = None  # catalog codes
    activity_id: str | None = None
    provider_activity_id: str | None = None
    learner_id: str | None = None
    id_type: str | None = None
    status: str | None = None
    completed_from: date | None = None
    completed_to: date | None = None

    def args(self) -> tuple[Any, ...]:
        return (self.provider_id, self.last_name, like(self.activity_title), self.submitted_from, self.submitted_to,
                self.boards, self.activity_id, self.provider_activity_id, self.learner_id, self.id_type,
                self.status, self.completed_from, self.completed_to)


_SEARCH_FILTERS = (
    "AND ($2::text IS NULL OR lower(r.last_name) = lower($2)) "
    "AND ($3::text IS NULL OR a.title ILIKE $3) "
    "AND ($4::date IS NULL OR (r.submitted_at AT TIME ZONE 'America/Chicago')::date >= $4) "
    "AND ($5::date IS NULL OR (r.submitted_at AT TIME ZONE 'America/Chicago')::date <= $5) "
    "AND ($6::text[] IS NULL OR upper(r.board) = ANY($6)) AND ($7::text IS NULL OR r.activity_id = $7) "
    "AND ($8::text IS NULL OR lower(a.provider_activity_id) = lower($8)) AND ($9::text IS NULL OR r.learner_id = $9) "
    f"AND ($10::text IS NULL OR {ID_TYPE_SQL} = upper($10)) "
    "AND (r.status = $11 OR ($11::text IS NULL AND r.status <> 'Deleted')) "
    "AND ($12::date IS NULL OR r.completion_date >= $12) AND ($13::date IS NULL OR r.completion_date <= $13) ")
_SEARCH = (RECORD_SELECT.replace("SELECT ", "SELECT count(*) OVER () AS total, ", 1) + _SEARCH_FILTERS
           + "ORDER BY lower(r.last_name), lower(r.first_name), r.completion_date, r.record_id LIMIT $14 OFFSET $15")
# The CSV export: no window count (it would read every match before the first row goes out).
_SEARCH_EXPORT = (RECORD_SELECT + _SEARCH_FILTERS
                  + "ORDER BY lower(r.last_name), lower(r.first_name), r.completion_date, r.record_id LIMIT $14")


async def search_records(pool: asyncpg.Pool, filters: SearchFilters, limit: int,
                         offset: int) -> tuple[list[dict[str, Any]], int]:
    """One page of the matching records, by learner name; and how many match in all."""
    rows = await pool.fetch(_SEARCH, *filters.args(), limit, offset)
    total = rows[0]["total"] if rows else 0
    if not rows and offset:  # a page past the end still tells the total
        total = await pool.fetchval(f"SELECT count(*) FROM ({RECORD_SELECT}{_SEARCH_FILTERS}) found", *filters.args())
    return [record_view(r) for r in rows], total


async def export_search(conn: asyncpg.Connection, filters: SearchFilters, limit: int,
                        prefetch: int) -> AsyncIterator[dict[str, Any]]:
    """Every matching record (at most `limit`), read through a server-side cursor (the caller holds
    a transaction)."""
    async for r in conn.cursor(_SEARCH_EXPORT, *filters.args(), limit, prefetch=prefetch):
        yield record_view(r)
