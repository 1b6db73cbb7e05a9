"""The validator's `POST /v1/validate` (Sandbox PARS asks it): what the rules say about records
against the provider's ledger, earlier records of a call seen by later ones, with the same record
key as the validator's handler; it answers only intake (the admin token) and writes nothing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg
import pytest

from pars_contracts.events import ActivityRegistered, BoardRegistration, LearnerRecordSubmitted
from tests.support import http
from tests.support.system import ADMIN_TOKEN, SERVICE_TOKEN, YEAR, RunningSystem

pytestmark = pytest.mark.integration
PROVIDER = "7654322"
INTAKE = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
NPI = "1122334455"


def maine_activity() -> ActivityRegistered:
    return ActivityRegistered(
        activity_id=f"{uuid.uuid4().int % 10**9:09d}", provider_id=PROVIDER, title="Maine pilot",
        activity_type="Course", start_date=date(YEAR, 1, 1), end_date=date(YEAR, 12, 31), reporting_year=YEAR,
        ama_credits=Decimal(500), registrations=[
            BoardRegistration(board="ME-MD", credit_types=["AMA PRA Category 1 Credit"], max_points=Decimal(500))])


def traci(activity_id: str, **changes: object) -> dict:
    """Traci Tester's row as intake would publish it, without its activity (sent beside it)."""
    fields: dict = {
        "record_id": str(uuid.uuid4()), "submission_id": "sandbox", "row_number": 1, "source": "web",
        "provider_id": PROVIDER, "activity_id": activity_id, "board": "ME-MD", "action": "Add",
        "learner_id": NPI, "first_name": "Traci", "last_name": "Tester", "date_of_birth": "11/10",
        "completion_date": f"05/01/{YEAR}", "credits": "2", "credit_types": ["AMA PRA Category 1 Credit"],
        "submitted_at": datetime.now(UTC)}
    return LearnerRecordSubmitted(**(fields | changes)).model_dump(mode="json", exclude={"activity"})


def ledger_entries(system: RunningSystem) -> int:
    async def count() -> int:
        conn = await asyncpg.connect(system.env["DATABASE_URL"])
        try:
            return await conn.fetchval(f"SELECT count(*) FROM {system.namespace}_validator.ledger "
                                       "WHERE provider_id = $1", PROVIDER)
        finally:
            await conn.close()

    return asyncio.run(count())


def codes(outcome: dict) -> list[int]:
    return [e["code"] for e in outcome["payload"].get("errors", [])]


def test_records_are_decided_in_order_against_each_other_and_nothing_is_written(system: RunningSystem) -> None:
    url = system.system["validator"].url + "/v1/validate"
    activity = maine_activity()
    records = [
        traci(activity.activity_id),
        # The same learner as "ME" and by NPI alone: one record key and one derived credit id, so
        # the earlier record of the call makes this one a duplicate, as the handler would.
        traci(activity.activity_id, board="ME", learner_id=None, npi=NPI, row_number=2),
        traci("999999999", row_number=3),  # an activity neither sent nor known: 690
    ]
    question = {"records": records, "activities": {activity.activity_id: activity.model_dump(mode="json")}}
    answer = http.post(url, json=question, headers=INTAKE, timeout=60)
    assert answer.status_code == 200, answer.text
    outcomes = answer.json()["outcomes"]
    assert [o["payload"]["record_id"] for o in outcomes] == [r["record_id"] for r in records]
    assert [(o["type"], codes(o)) for o in outcomes] == [
        ("LearnerRecordValidated", []), ("LearnerRecordInvalid", [603]), ("LearnerRecordInvalid", [690])]
    assert outcomes[0]["payload"]["board"] == "ME-MD"
    assert ledger_entries(system) == 0  # in memory only
    again = http.post(url, json={**question, "records": records[1:2]}, headers=INTAKE, timeout=60).json()
    assert [(o["type"], codes(o)) for o in again["outcomes"]] == [("LearnerRecordValidated", [])]


def test_the_validation_answers_only_intake(system: RunningSystem) -> None:
    url = system.system["validator"].url + "/v1/validate"
    question = {"records": [traci("200930280")]}
    # The admin token is no key here: the validator does not hold it (review N8).
    for headers in ({}, {"Authorization": "Bearer not-the-service-token-0123456789"}, {"Authorization": SERVICE_TOKEN},
                    {"Authorization": f"Bearer {ADMIN_TOKEN}"}):
        refused = http.post(url, json=question, headers=headers, timeout=30)
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert "outcomes" not in refused.json()
    assert http.post(url, json={"records": []}, headers=INTAKE, timeout=30).status_code == 422
    assert http.post(url, json={"rows": question["records"]}, headers=INTAKE, timeout=30).status_code == 422
