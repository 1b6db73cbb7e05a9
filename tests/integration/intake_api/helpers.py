"""Builders for the provider-API tests: the seed's activity "An Other is an Other", learners as
the web form takes them, and waiting for a record's status by polling the API."""

from __future__ import annotations

from typing import Any

import httpx

from pars_intake.domain.rows import RowInput
from tests.support.system import eventually

SEED_BOARDS = {"ABIM": ["ABIM Medical Knowledge", "ABIM Practice Assessment"],
               "ABPATH": ["ABPath MOC Part II", "ABPath MOC Part IV"],
               "NC": ["AMA PRA Category 1 Credit", "Controlled Substance"]}


def register_activity(client: httpx.Client, boards: dict[str, list[str]] | None = None, *, year: int = 2019,
                      title: str = "An Other is an Other", provider_activity_id: str = "TO-20190405",
                      activity_type: str = "Other") -> str:
    response = client.post("/v1/activities", json={
        "title": title, "activity_type": activity_type, "provider_activity_id": provider_activity_id,
        "start_date": f"{year}-01-01", "end_date": f"{year}-12-31", "reporting_year": year, "ama_credits": 500,
        "registrations": [{"board": b, "credit_types": t, "max_points": 500}
                          for b, t in (boards or SEED_BOARDS).items()]})
    assert response.status_code == 201, response.text
    return response.json()["activity_id"]


def learner(first: str, last: str, learner_id: str, dob: str, completed: str, credits: Any,
            *credit_types: str, **extra: Any) -> dict:
    return {"first_name": first, "last_name": last, "learner_id": learner_id, "date_of_birth": dob,
            "completion_date": completed, "credits": credits, "credit_types": list(credit_types), **extra}


def add_learners(client: httpx.Client, activity: str, board: str, *learners: dict, wait: float = 20) -> list[dict]:
    """The web form's Save with `?wait=`: each row's first outcome."""
    response = client.post(f"/v1/activities/{activity}/learners", params={"wait": wait},
                           json={"board": board, "learners": list(learners)})
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def status_of(client: httpx.Client, record_id: str) -> str | None:
    response = client.get(f"/v1/learner-records/{record_id}")
    return response.json()["status"] if response.status_code == 200 else None


def wait_for_status(client: httpx.Client, record_id: str, status: str, timeout: float = 40) -> dict:
    eventually(lambda: status_of(client, record_id) == status, timeout=timeout, what=f"{record_id} to be {status}")
    return client.get(f"/v1/learner-records/{record_id}").json()


def codes(row: dict) -> list[int]:
    return [e["code"] for e in row.get("errors", [])]


def stored_rows(system: Any, provider_id: str) -> dict[str, int]:
    """What intake holds for a provider (a look into its tables, to prove a refusal stored nothing)."""
    import asyncio

    import asyncpg

    async def count() -> dict[str, int]:
        conn = await asyncpg.connect(system.env["DATABASE_URL"])
        try:
            schema = f"{system.namespace}_intake"
            return {table: await conn.fetchval(f"SELECT count(*) FROM {schema}.{table} WHERE provider_id = $1",
                                               provider_id) for table in ("submissions", "records", "activities")}
        finally:
            await conn.close()

    return asyncio.run(count())


def georgia(activity: str, **changes: Any) -> RowInput:
    """The seed's "Deleting Records" XML example: Georgia O'Keeffe on ABO (decides at once), 4 points."""
    fields = {"activity_id": activity, "board": "ABO", "action": "Add", "learner_id_type": "ABO",
              "learner_id": "97979", "first_name": "Georgia", "last_name": "O'Keeffe", "date_of_birth": "11/15",
              "completion_date": "01/02/2020", "credits": "4", "credit_types": ["ABO MOC Part II"],
              "credit_id": "ccid:testProvider.org:123488"}
    return RowInput(**(fields | changes))
