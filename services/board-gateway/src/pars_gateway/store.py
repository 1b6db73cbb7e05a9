"""The gateway's tables: board registries and the schedule of records awaiting a board."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg
import orjson

from pars_contracts.events import LearnerRecordValidated, Physician

from .domain.matching import fold


async def add_physicians(conn: asyncpg.Connection, board: str, physicians: list[Physician]) -> None:
    await conn.executemany(
        "INSERT INTO physicians (board, learner_id, id_type, npi, last_name_key, data) VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT (board, learner_id) DO UPDATE SET id_type = EXCLUDED.id_type, npi = EXCLUDED.npi, "
        "last_name_key = EXCLUDED.last_name_key, data = EXCLUDED.data",
        [(board, p.learner_id.strip().upper(), p.id_type, p.npi, fold(p.last_name),
          orjson.dumps(p.model_dump(mode="json")).decode()) for p in physicians],
    )


async def candidates(conn: asyncpg.Connection, record: LearnerRecordValidated) -> list[Physician]:
    """Registry entries the record could be: by learner id (or NPI), else by last name."""
    if record.learner_id:
        wanted = record.learner_id.strip().upper()
        rows = await conn.fetch(
            "SELECT data FROM physicians WHERE board = $1 AND (learner_id = $2 OR npi = $2 OR npi = $3)",
            record.board, wanted, record.npi or "")
    else:
        rows = await conn.fetch("SELECT data FROM physicians WHERE board = $1 AND last_name_key = $2",
                                record.board, fold(record.last_name))
    return [Physician.model_validate(orjson.loads(r["data"])) for r in rows]


async def schedule(conn: asyncpg.Connection, record: LearnerRecordValidated, submitted_at: datetime, due: datetime) -> bool:
    """Store a record for the board's run; False when it was already there (a redelivery)."""
    status = await conn.execute(
        "INSERT INTO board_records (record_id, board, provider_id, record, status, submitted_at, due_at) "
        "VALUES ($1, $2, $3, $4, 'Submitted', $5, $6) ON CONFLICT (record_id) DO NOTHING",
        record.record_id, record.board, record.provider_id,
        orjson.dumps(record.model_dump(mode="json")).decode(), submitted_at, due)
    return status.endswith("1")


async def claim_due(conn: asyncpg.Connection, now: datetime, limit: int) -> list[LearnerRecordValidated]:
    """Claims due records; another gateway instance skips the rows this transaction holds."""
    rows = await conn.fetch(
        "SELECT record FROM board_records WHERE status = 'Submitted' AND due_at <= $1 "
        "ORDER BY due_at, record_id LIMIT $2 FOR UPDATE SKIP LOCKED", now, limit)
    return [LearnerRecordValidated.model_validate(orjson.loads(r["record"])) for r in rows]


async def record_decisions(conn: asyncpg.Connection, decided: Sequence[tuple[str, str, str]], now: datetime) -> None:
    """`decided`: (record id, status, batch id)."""
    await conn.executemany(
        "UPDATE board_records SET status = $2, batch_id = $3, decided_at = $4 WHERE record_id = $1",
        [(rid, status, batch, now) for rid, status, batch in decided])


async def backlog(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT board, count(*) AS waiting, min(submitted_at) AS oldest FROM board_records "
        "WHERE status = 'Submitted' GROUP BY board")
