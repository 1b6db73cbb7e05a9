"""The web service's submissions that arrive while one is being stored share the next transaction
(group commit, api/submissions.submission_writer): ten one-record requests at once are stored in
two transactions, not ten, and each is answered only once its own has committed. Without a
database: the connection plays the statements and holds the first transaction open a moment."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx

from pars_intake.settings import IntakeSettings
from pars_intake.web import create_app

ADMIN = "unit-test-token-0123456789"
USER = {"user_id": "u", "provider_id": "1234567", "email": "staff@example.org", "key_id": "k", "stale": False,
        "kind": "web-service", "sandbox": False, "role": "submit", "expired": False,
        "tokens": 1.0, "granted": True}  # and every rate limit bucket grants


class _Database:
    """One connection: each transaction is BEGIN, its statements' first words, COMMIT; the first
    transaction commits only once `release` is set, as a slow commit on a busy machine."""

    def __init__(self) -> None:
        self.transactions: list[list[str]] = []
        self.release = asyncio.Event()

    async def fetchrow(self, *_: Any) -> dict:
        return dict(USER)

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[_Database]:
        yield self

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        self.transactions.append(["BEGIN"])
        yield
        if len(self.transactions) == 1:
            await self.release.wait()
        self.transactions[-1].append("COMMIT")

    async def execute(self, sql: str, *_: Any) -> str:
        self.transactions[-1].append(" ".join(sql.split()[:3]))
        return "INSERT 0 1"

    async def copy_records_to_table(self, table: str, *, records: list, columns: Any) -> str:
        self.transactions[-1].append(f"COPY {table}")
        return f"COPY {len(records)}"

    async def fetch(self, sql: str, *_: Any) -> list:
        self.transactions[-1].append(" ".join(sql.split()[:3]))
        return []  # no activity registered: the rows go on without its snapshot


async def _ok() -> None:
    return None


async def _until(condition: Any) -> None:
    for _ in range(3000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never happened")


def test_one_record_requests_at_once_share_a_transaction_and_are_answered_once_it_committed() -> None:
    async def go() -> tuple[list[httpx.Response], list[list[str]]]:
        db = _Database()
        clock = SimpleNamespace(now=lambda: datetime(2026, 6, 15, 12, tzinfo=UTC))
        runtime = SimpleNamespace(pool=db, check_postgres=_ok, check_kafka=_ok, clock=clock)
        # One provider's ten bodies in flight at once (the guard's bound is 4 a provider by default).
        settings = IntakeSettings(admin_token=ADMIN, max_bodies_in_flight_per_provider=10)
        app = create_app(runtime, settings, None)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as client:
            async def submit(n: int) -> httpx.Response:
                response = await client.post("/v1/learner-records", headers={"Authorization": "Bearer k"}, json={
                    "records": [{"activity_id": "300000001", "board": "ABO", "action": "Add", "first_name": "Vincent",
                                 "last_name": "Van Gogh", "learner_id": str(10000 + n), "date_of_birth": "03/30",
                                 "completion_date": "06/01/2026", "credits": "0.25",
                                 "credit_types": ["ABO MOC Part II"]}]})
                # Answered only once the transaction holding its row committed.
                assert all(t[-1] == "COMMIT" for t in db.transactions if any("records" in s for s in t))
                return response

            first = asyncio.create_task(submit(0))
            await _until(lambda: bool(db.transactions))  # the first one's transaction is open
            rest = [asyncio.create_task(submit(n)) for n in range(1, 10)]
            await _until(lambda: len(app.app.state.submissions.line) == 9)  # the nine wait for it to commit
            db.release.set()
            answers = await asyncio.gather(first, *rest)
        return answers, db.transactions

    answers, transactions = asyncio.run(go())
    assert [a.status_code for a in answers] == [202] * 10, answers[0].text
    assert len({a.json()["submission_id"] for a in answers}) == 10
    assert len(transactions) == 2, transactions  # the first alone, the nine that came meanwhile together
    assert transactions[1][0] == "BEGIN" and transactions[1][-1] == "COMMIT"
