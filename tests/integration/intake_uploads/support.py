"""Helpers for the upload tests: Template B files, the seed's activity, uploading and waiting,
and a look into intake's tables to prove that a refused upload stored nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx

from pars_contracts.envelope import Envelope
from pars_intake.domain.rows import TEMPLATE_B, TEMPLATE_B_COLUMNS
from tests.support.kafka import read_until
from tests.support.system import RunningSystem, eventually

HEADER = TEMPLATE_B_COLUMNS[:17]


def row(board: str, activity: str, learner_id: str, first: str, last: str, dob: str, completed: str,
        credits: str, *credit_types: str, id_type: str | None = None, action: str = "Add") -> list[str]:
    return [TEMPLATE_B, board, activity, id_type or board, learner_id, first, last, dob, completed, action,
            credits, *credit_types]


def tab_text(rows: list[list[str]], *, header: bool = True, newline: str = "\r\n") -> str:
    lines = ([HEADER] if header else []) + rows
    return "".join("\t".join(cells) + newline for cells in lines)


def register_activity(client: httpx.Client, registrations: dict[str, list[str]], *, year: int = 2019,
                      title: str = "An Other is an Other", provider_activity_id: str = "TO-20190405") -> str:
    response = client.post("/v1/activities", json={
        "title": title, "activity_type": "Other", "provider_activity_id": provider_activity_id,
        "start_date": f"{year}-01-01", "end_date": f"{year}-12-31", "reporting_year": year, "ama_credits": 500,
        "registrations": [{"board": b, "credit_types": t, "max_points": 500} for b, t in registrations.items()]})
    assert response.status_code == 201, response.text
    return response.json()["activity_id"]


def upload(client: httpx.Client, name: str, data: bytes, **form: Any) -> httpx.Response:
    return client.post("/v1/uploads", files={"file": (name, data, "application/octet-stream")},
                       data={k: str(v).lower() if isinstance(v, bool) else v for k, v in form.items()})


def accepted_upload(client: httpx.Client, name: str, data: bytes, **form: Any) -> str:
    response = upload(client, name, data, **form)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "processing"
    return response.json()["upload_id"]


def completed(client: httpx.Client, upload_id: str, timeout: float = 60) -> dict:
    def done() -> dict | None:
        view = client.get(f"/v1/uploads/{upload_id}").json()
        return view if view["status"] == "completed" else None

    return eventually(done, timeout=timeout, interval=0.2, what=f"upload {upload_id} to complete")


def error_rows(client: httpx.Client, upload_id: str) -> list[list[str]]:
    """The tab-delimited error report's data rows, as cells."""
    response = client.get(f"/v1/uploads/{upload_id}/errors")
    assert response.status_code == 200, response.text
    lines = response.content.decode("utf-8-sig").split("\r\n")
    assert lines[0].split("\t") == TEMPLATE_B_COLUMNS
    return [line.split("\t") for line in lines[1:] if line]


def records(client: httpx.Client, last_name: str) -> list[dict]:
    response = client.get("/v1/learner-records", params={"last_name": last_name})
    assert response.status_code == 200, response.text
    return response.json()["records"]


def stored_counts(system: RunningSystem, provider_id: str) -> dict[str, int]:
    """How many uploads, submissions and record rows intake holds for the provider."""

    async def count() -> dict[str, int]:
        conn = await asyncpg.connect(system.env["DATABASE_URL"])
        try:
            schema = f"{system.namespace}_intake"
            return {table: await conn.fetchval(f"SELECT count(*) FROM {schema}.{table} WHERE provider_id = $1",
                                               provider_id)
                    for table in ("uploads", "submissions", "records")}
        finally:
            await conn.close()

    return asyncio.run(count())


def events(system: RunningSystem, topic: str, done: Callable[[list[Envelope]], bool], timeout: float = 30) -> list[Envelope]:
    """The envelopes on one of the system's topics (read from the start) once `done` holds."""
    found = asyncio.run(read_until(system.env["KAFKA_BOOTSTRAP_SERVERS"], [f"{system.namespace}.{topic}"], done,
                                   timeout))
    assert done(found), f"timed out reading {topic}: {[e.type for e in found]}"
    return found
