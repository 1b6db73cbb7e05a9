"""Intake's status statements (store/outcomes.py) on real PostgreSQL, driven by the handlers as a
consumer batch drives them: each change of a record's status is one LearnerRecordStatusChanged,
and a decision told again (a replay from a dead-letter topic: a new message id the inbox does
not know) changes nothing and publishes nothing. Intake's own schema on the session's stack;
no system is started."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from pars_contracts.codes import ErrorDetail, error
from pars_contracts.events import BoardDecision, Status
from pars_intake.handlers import board_decided
from pars_intake.outcomes import OutcomesBatch
from pars_intake.waiters import Waiters
from pars_runtime import db
from tests.support.units import batch

pytestmark = pytest.mark.integration
PROVIDER = "1000001"
DECIDED_AT = datetime(2026, 3, 4, 5, 6, tzinfo=UTC)


def decision(record_id: str, status: Status | None, errors: list[ErrorDetail] | None = None,
             action: str = "Add", target: str | None = None) -> BoardDecision:
    return BoardDecision(record_id=record_id, submission_id="s-1", row_number=1, source="upload",
                         provider_id=PROVIDER, activity_id="300000001", board="ABIM", action=action,
                         credit_id=f"ccid:x:{record_id}", target_record_id=target, status=status,
                         errors=errors or [], decided_at=DECIDED_AT)


async def told(conn: asyncpg.Connection, *decisions: BoardDecision) -> list[tuple[str, int, str]]:
    """One consumer batch of decisions: the status changes it published (record, sequence, status)."""
    emitted = await batch(OutcomesBatch(Waiters()), *[(board_decided, d) for d in decisions], conn=conn)
    return [(e.event.record_id, e.event.sequence, e.event.status) for e in emitted
            if e.type == "LearnerRecordStatusChanged"]


async def lives(database_url: str) -> list[list[tuple[str, int, str]]]:
    schema = f"t{uuid.uuid4().hex[:10]}_intake"
    pool = await db.create_pool(database_url, schema, min_size=1, max_size=1)
    try:
        await db.migrate(pool, schema, "pars_intake")
        async with pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO records (record_id, submission_id, row_number, provider_id, source, action, "
                "target_record_id) VALUES ('r-1', 's-1', 1, $1, 'upload', 'Add', NULL), "
                "('r-2', 's-1', 2, $1, 'upload', 'Add', NULL), ('d-1', 's-2', 1, $1, 'web', 'Delete', 'r-1')",
                PROVIDER)
            return [
                await told(conn, decision("r-1", "Submitted"), decision("r-2", "Submitted")),
                await told(conn, decision("r-1", "Submitted")),
                await told(conn, decision("r-1", "Accepted"), decision("r-1", "Accepted")),
                await told(conn, decision("r-1", "Submitted")),
                await told(conn, decision("r-2", "Rejected", [error(664)]), decision("r-2", "Rejected", [error(664)])),
                await told(conn, decision("d-1", "Deleted", action="Delete", target="r-1")),
                await told(conn, decision("d-1", "Deleted", action="Delete", target="r-1")),
                [(r["record_id"], r["status_sequence"], r["status"]) for r in await conn.fetch(
                    "SELECT record_id, status_sequence, status FROM records ORDER BY record_id")],
            ]
    finally:
        await pool.close()


def test_each_status_change_is_told_once_and_a_decision_told_again_is_not(stack: object) -> None:
    database_url = stack.env()["DATABASE_URL"]  # type: ignore[attr-defined]
    assert asyncio.run(lives(database_url)) == [
        [("r-1", 1, "Submitted"), ("r-2", 1, "Submitted")],
        [],  # Submitted again: no change
        [("r-1", 2, "Accepted")],  # the second Accepted of the batch: no change
        [],  # a decided record does not go back to Submitted
        [("r-2", 2, "Rejected")],
        [("r-1", 3, "Deleted"), ("d-1", 1, "Deleted")],
        [],  # the same Delete again: d-1 has its outcome, r-1 is Deleted already
        [("d-1", 1, "Deleted"), ("r-1", 3, "Deleted"), ("r-2", 2, "Rejected")],
    ]
