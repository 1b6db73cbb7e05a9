"""The gateway's tables: board registries and the schedule of records awaiting a board.

`PostgresBoardStore` is the handlers' repository (repositories.py) on one batch's connection."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

import asyncpg
import orjson

from pars_contracts.events import LearnerRecordValidated, Physician

from .domain.matching import Identity, RegistryEntry, fold, id_key


async def add_physicians(conn: asyncpg.Connection, board: str, physicians: Sequence[Physician]) -> None:
    await conn.executemany(
        "INSERT INTO physicians (board, learner_id, id_type, npi, last_name_key, data) VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT (board, learner_id) DO UPDATE SET id_type = EXCLUDED.id_type, npi = EXCLUDED.npi, "
        "last_name_key = EXCLUDED.last_name_key, data = EXCLUDED.data",
        [(board, id_key(p.learner_id), p.id_type, id_key(p.npi) or None, fold(p.last_name),
          orjson.dumps(p.model_dump(mode="json", exclude={"match_key"})).decode()) for p in physicians],
    )


async def candidates(conn: asyncpg.Connection, board: str, records: Sequence[Identity]) -> list[list[RegistryEntry]]:
    """For each record, the board's entries sharing its learner id or NPI (either may be a license
    or an NPI on a state board) or, for a record without a learner id (ABS), its last name.
    One query for all the records."""
    ids = sorted({i for r in records if r.learner_id for i in (id_key(r.learner_id), id_key(r.npi)) if i})
    names = sorted({fold(r.last_name) for r in records if not r.learner_id})
    # Three index lookups: one condition with ORs would have the whole board's registry scanned
    # and every row compared with every id of the batch.
    rows = await conn.fetch(
        "SELECT learner_id, match_key, data FROM physicians WHERE board = $1 AND learner_id = ANY($2::text[]) UNION "
        "SELECT learner_id, match_key, data FROM physicians WHERE board = $1 AND npi = ANY($2::text[]) UNION "
        "SELECT learner_id, match_key, data FROM physicians WHERE board = $1 AND last_name_key = ANY($3::text[])",
        board, ids, names)
    by_id: dict[str, list[RegistryEntry]] = defaultdict(list)
    by_name: dict[str, list[RegistryEntry]] = defaultdict(list)
    for row in rows:
        entry = RegistryEntry.model_validate(orjson.loads(row["data"]) | {"match_key": row["match_key"]})
        for key in {id_key(entry.learner_id), id_key(entry.npi)} - {""}:
            by_id[key].append(entry)
        by_name[fold(entry.last_name)].append(entry)
    found = []
    for r in records:
        if r.learner_id:
            keys = dict.fromkeys(i for i in (id_key(r.learner_id), id_key(r.npi)) if i)
            found.append(list({id(e): e for key in keys for e in by_id.get(key, [])}.values()))
        else:
            found.append(by_name.get(fold(r.last_name), []))
    return found


async def schedule(conn: asyncpg.Connection, record: LearnerRecordValidated, submitted_at: datetime, due: datetime,
                   held: bool = False) -> bool:
    """Store a record for the board's run; False when it was already there (a redelivery).
    `held`: a direct board's answer held back (domain/throttle.py), outside the 24-hour promise."""
    status = await conn.execute(
        "INSERT INTO board_records (record_id, board, provider_id, record, status, submitted_at, due_at, held) "
        "VALUES ($1, $2, $3, $4, 'Submitted', $5, $6, $7) ON CONFLICT (record_id) DO NOTHING",
        record.record_id, record.board, record.provider_id,
        orjson.dumps(record.model_dump(mode="json")).decode(), submitted_at, due, held)
    return status.endswith("1")


async def answers_since(conn: asyncpg.Connection, provider_id: str, physician: str, since: datetime) -> int:
    """The direct board's answers on a physician for a provider counted from `since` (the refusals
    given at once, and the answers held back, due in the future)."""
    return await conn.fetchval(
        "SELECT count(*) FROM physician_answers WHERE provider_id = $1 AND match_key = $2 AND answer_at > $3",
        provider_id, physician, since)


async def answer_counts(conn: asyncpg.Connection, pairs: Sequence[tuple[str, str]],
                        since: datetime) -> dict[tuple[str, str], int]:
    """`answers_since` of each (provider id, physician) pair, in one query."""
    rows = await conn.fetch(
        "SELECT a.provider_id, a.match_key, count(*) AS n FROM physician_answers a "
        "JOIN unnest($1::text[], $2::text[]) AS p(provider_id, match_key) "
        "ON a.provider_id = p.provider_id AND a.match_key = p.match_key "
        "WHERE a.answer_at > $3 GROUP BY a.provider_id, a.match_key",
        [p for p, _ in pairs], [k for _, k in pairs], since)
    found = {(r["provider_id"], r["match_key"]): r["n"] for r in rows}
    return {pair: found.get(pair, 0) for pair in pairs}


async def add_answer(conn: asyncpg.Connection, provider_id: str, physician: str, at: datetime,
                     forget_before: datetime) -> None:
    """One more answer on a physician for a provider; that pair's answers before `forget_before` go."""
    await conn.execute(
        "WITH expired AS (DELETE FROM physician_answers WHERE provider_id = $1 AND match_key = $2 AND answer_at <= $4) "
        "INSERT INTO physician_answers (provider_id, match_key, answer_at) VALUES ($1, $2, $3)",
        provider_id, physician, at, forget_before)


async def claim_due(conn: asyncpg.Connection, now: datetime, limit: int) -> list[tuple[LearnerRecordValidated, bool]]:
    """Claims due records until the transaction ends; another gateway instance skips them.
    Each with whether its answer was held back (domain/throttle.py)."""
    rows = await conn.fetch(
        "SELECT record, held FROM board_records WHERE status = 'Submitted' AND due_at <= $1 "
        "ORDER BY due_at, record_id LIMIT $2 FOR UPDATE SKIP LOCKED", now, limit)
    return [(LearnerRecordValidated.model_validate(orjson.loads(r["record"])), r["held"]) for r in rows]


async def hold(conn: asyncpg.Connection, record_id: str, until: datetime) -> None:
    await conn.execute("UPDATE board_records SET due_at = $2, held = true WHERE record_id = $1", record_id, until)


async def next_due(conn: asyncpg.Connection) -> datetime | None:
    return await conn.fetchval("SELECT min(due_at) FROM board_records WHERE status = 'Submitted'")


async def record_decisions(conn: asyncpg.Connection, decided: Sequence[tuple[str, str, str]], now: datetime) -> None:
    """`decided`: (record id, status, batch id)."""
    await conn.executemany(
        "UPDATE board_records SET status = $2, batch_id = $3, decided_at = $4 WHERE record_id = $1",
        [(rid, status, batch, now) for rid, status, batch in decided])


async def status_of(conn: asyncpg.Connection, record_id: str | None) -> str | None:
    """The board's status of a record it scheduled (None: never scheduled here, e.g. a direct
    board's). FOR UPDATE: while a run is deciding the record, this waits for its decision."""
    return await conn.fetchval("SELECT status FROM board_records WHERE record_id = $1 FOR UPDATE", record_id)


async def mark_deleted(conn: asyncpg.Connection, record_id: str | None) -> None:
    await conn.execute("UPDATE board_records SET status = 'Deleted' WHERE record_id = $1", record_id)


async def backlog(conn: asyncpg.Connection, overdue_before: datetime) -> list[asyncpg.Record]:
    """Per board: Submitted records waiting, the oldest submission, and how many are overdue."""
    return await conn.fetch(
        "SELECT board, count(*) AS waiting, min(submitted_at) AS oldest, "
        "count(*) FILTER (WHERE submitted_at < $1 AND NOT held) AS overdue FROM board_records "
        "WHERE status = 'Submitted' GROUP BY board", overdue_before)


class PostgresBoardStore:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def candidates(self, board: str, records: Sequence[Identity]) -> list[list[RegistryEntry]]:
        return await candidates(self.conn, board, records)

    async def add_physicians(self, board: str, physicians: Sequence[Physician]) -> None:
        await add_physicians(self.conn, board, physicians)

    async def schedule(self, record: LearnerRecordValidated, submitted_at: datetime, due: datetime,
                       held: bool = False) -> bool:
        return await schedule(self.conn, record, submitted_at, due, held)

    async def hold(self, record_id: str, until: datetime) -> None:
        await hold(self.conn, record_id, until)

    async def answers_since(self, provider_id: str, physician: str, since: datetime) -> int:
        return await answers_since(self.conn, provider_id, physician, since)

    async def answer_counts(self, pairs: Sequence[tuple[str, str]], since: datetime) -> dict[tuple[str, str], int]:
        return await answer_counts(self.conn, pairs, since)

    async def add_answer(self, provider_id: str, physician: str, at: datetime, forget_before: datetime) -> None:
        await add_answer(self.conn, provider_id, physician, at, forget_before)

    async def status_of(self, record_id: str | None) -> str | None:
        return await status_of(self.conn, record_id)

    async def mark_deleted(self, record_id: str | None) -> None:
        await mark_deleted(self.conn, record_id)
