"""Submissions and their rows as every submission path stores them (submit.py), and which
submissions have all their rows' outcomes (the `?wait=` poller)."""

from __future__ import annotations

from typing import Any, Protocol

import asyncpg


class Fetcher(Protocol):
    """A pool or a connection (the poller's tests give a fake one)."""

    async def fetch(self, query: str, *args: object) -> list: ...


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Rows as one list per column (the arrays an unnest insert takes)."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


async def insert_submissions(conn: asyncpg.Connection, submissions: list[tuple[str, str, str, str | None, int]]) -> None:
    """Stores submissions given as (submission id, provider id, source, user e-mail, number of
    rows), in one statement whatever their number."""
    await conn.execute(
        "INSERT INTO submissions (submission_id, provider_id, source, user_email, rows) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[])",
        *_columns(submissions, 5))


RECORD_COLUMNS = (
    "record_id", "submission_id", "upload_id", "row_number", "provider_id", "source", "source_message_id",
    "activity_id", "board", "action", "learner_id_type", "learner_id", "npi", "first_name", "last_name",
    "date_of_birth", "completion_date", "completion_text", "credits", "credit_types", "credit_id", "columns",
    "submitted_at", "target_record_id", "submit_partition")


async def insert_records(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> None:
    """Stores submitted rows given as tuples of RECORD_COLUMNS, in their order, with one binary
    COPY whatever their number: against an INSERT over `unnest` of one array per column, a third
    of intake's CPU a row (asyncpg checks every element of an array) and three quarters of
    PostgreSQL's (docs/performance.md, issue #25)."""
    if rows:
        await conn.copy_records_to_table("records", records=rows, columns=RECORD_COLUMNS)


async def finished_rows(db: Fetcher, submission_ids: list[str]) -> dict[str, list[Any]]:
    """Those of the submissions none of whose rows still lacks a first outcome, each with its rows
    in order (`row_number`, `record_id`, `credit_id`, `outcome`, `status`, `errors`: what
    records.outcome_rows answers with): the `?wait=` poller's one query per tick, which spares each
    finished request a query of its own for its answer."""
    found = await db.fetch(
        "SELECT s.id, r.row_number, r.record_id, r.credit_id, r.outcome, r.status, r.errors "
        "FROM unnest($1::text[]) AS s(id) LEFT JOIN records r ON r.submission_id = s.id WHERE NOT EXISTS "
        "(SELECT 1 FROM records x WHERE x.submission_id = s.id AND x.outcome IS NULL) ORDER BY s.id, r.row_number",
        submission_ids)
    done: dict[str, list[Any]] = {}
    for row in found:
        rows = done.setdefault(row["id"], [])
        if row["record_id"] is not None:
            rows.append(row)
    return done
