"""Helpers for the board gateway's integration tests: a provider using the intake API as its
software would, and read-only looks at the gateway's table and topics, as an auditor would."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from pars_contracts.boards import board
from pars_contracts.envelope import Envelope, wrap
from pars_contracts.events import LearnerRecordValidated
from pars_runtime.messages import decode, encode
from tests.support.kafka import auth, read_to_end
from tests.support.system import RunningSystem, system_clock

YEAR = date.today().year
CLOCK_START = f"{YEAR}-11-15"  # the systems' "today": leaves the year's first 318 days for completions
DAY_SECONDS = 10  # the gateway system's simulated day, in real seconds
SCALE = 86400 / DAY_SECONDS
_days = itertools.count()


def system_now() -> datetime:
    """The systems' clock (moved to CLOCK_START), as the services compute it."""
    return system_clock(CLOCK_START).now()


def completion_day() -> str:
    """A fresh completion date for every row, so no two rows collide on 603, 710 or 717."""
    return (date(YEAR, 1, 1) + timedelta(days=next(_days) % 310)).strftime("%m/%d/%Y")


def learner(first: str, last: str, learner_id: str | None, dob: str | None, **extra: Any) -> dict:
    return {"first_name": first, "last_name": last, "learner_id": learner_id, "date_of_birth": dob,
            "completion_date": completion_day(), "credits": "1", **extra}


class Provider:
    def __init__(self, system: RunningSystem, name: str = "Gateway Test CME") -> None:
        created = system.new_provider(name=name)
        self.provider_id: str = created["provider_id"]
        self.client: httpx.Client = system.client(created["api_key"])

    def activity(self, *boards: str) -> str:
        """A new activity offering every credit type of each board."""
        response = self.client.post("/v1/activities", json={
            "title": f"Gateway course {'/'.join(boards)}", "activity_type": "Course",
            "start_date": f"{YEAR}-01-01", "end_date": f"{YEAR}-12-31", "reporting_year": YEAR, "ama_credits": 1000,
            "registrations": [{"board": b, "credit_types": [t.name for t in board(b).credit_types],  # type: ignore[union-attr]
                               "max_points": 1000} for b in boards]})
        assert response.status_code == 201, response.text
        return response.json()["activity_id"]

    def submit(self, activity: str, board_code: str, learners: list[dict], wait: float = 20) -> list[dict]:
        """Posts the learners as the web form does; answers each row's first outcome."""
        credit_type = board(board_code).credit_types[0].name  # type: ignore[union-attr]
        rows = [{"credit_types": [credit_type], **row} for row in learners]
        response = self.client.post(f"/v1/activities/{activity}/learners?wait={wait}",
                                    json={"board": board_code, "learners": rows})
        assert response.status_code == 200, response.text
        return response.json()["rows"]

    def record(self, record_id: str) -> dict:
        return self.client.get(f"/v1/learner-records/{record_id}").json()


def codes(row: dict) -> list[int]:
    return [e["code"] for e in row.get("errors", [])]


def gateway_schema(system: RunningSystem) -> str:
    return f"{system.namespace}_board_gateway"


async def _fetch(system: RunningSystem, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(system.env["DATABASE_URL"])
    try:
        return await conn.fetch(sql.replace("{gw}", gateway_schema(system)), *args)
    finally:
        await conn.close()


def query(system: RunningSystem, sql: str, *args: Any) -> list[asyncpg.Record]:
    """Runs SQL against the gateway's schema (`{gw}` in the text)."""
    return asyncio.run(_fetch(system, sql, *args))


def board_records(system: RunningSystem, provider_id: str) -> list[asyncpg.Record]:
    return query(system, "SELECT record_id, board, status, submitted_at, due_at, decided_at, batch_id "
                         "FROM {gw}.board_records WHERE provider_id = $1", provider_id)


def read_topic(system: RunningSystem, name: str) -> list[Envelope]:
    """Every message on the system's topic `name` (a registry name) so far, each once by message id."""
    topic = f"{system.namespace}.{name}"
    values = asyncio.run(read_to_end(system.env["KAFKA_BOOTSTRAP_SERVERS"], [topic]))[topic]
    messages = [decode(v) for v in values]
    return list({m.message_id: m for m in messages}.values())  # the outbox relay may send one twice


def decisions_by_record(system: RunningSystem, provider_id: str) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = defaultdict(list)
    for m in read_topic(system, "pars.board.decisions.v1"):
        if m.payload["provider_id"] == provider_id:
            found[m.payload["record_id"]].append(m.payload)
    return found


async def _publish(bootstrap: str, topic: str, key: str, envelope: Envelope) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **auth(bootstrap), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic, encode(envelope), key=key.encode())
    finally:
        await producer.stop()


def publish(system: RunningSystem, name: str, key: str, event: Any, producer: str = "validator") -> Envelope:
    envelope = wrap(event, producer=producer, correlation_id=f"test:{key}", provider_id=getattr(event, "provider_id", None))
    asyncio.run(_publish(system.env["KAFKA_BOOTSTRAP_SERVERS"], f"{system.namespace}.{name}", key, envelope))
    return envelope


def validated(provider_id: str, record_id: str, board_code: str = "ABS", action: str = "Add",
              target_record_id: str | None = None) -> LearnerRecordValidated:
    """A record as the validator passes it on, for talking to the gateway directly."""
    return LearnerRecordValidated(
        record_id=record_id, submission_id=f"sub-{record_id}", row_number=1, source="service",
        provider_id=provider_id, activity_id="300000999", activity_title="Direct to the gateway",
        reporting_year=YEAR, board=board_code, action=action, learner_id_type=board_code, learner_id="6000003",
        first_name="Alice", last_name="Walker", date_of_birth="02/02", completion_date=date(YEAR, 3, 3),
        credits=Decimal(1), credit_types=["ABS Continuous Certification"], credit_id=f"ccid:test:{record_id}",
        target_record_id=target_record_id, submitted_at=system_now())


def insert_stuck_record(system: RunningSystem, record: LearnerRecordValidated, submitted_ago: timedelta) -> None:
    """A Submitted record its board has not answered for `submitted_ago` (as after a long outage),
    due far in the future so that no run takes it while the test looks at it."""
    query(system, "INSERT INTO {gw}.board_records (record_id, board, provider_id, record, status, submitted_at, due_at) "
                  "VALUES ($1, $2, $3, $4, 'Submitted', $5, $6)", record.record_id, record.board, record.provider_id,
          record.model_dump_json(), system_now() - submitted_ago, system_now() + timedelta(days=1))
