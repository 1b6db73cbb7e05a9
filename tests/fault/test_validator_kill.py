"""Killing the validator with SIGKILL while records flow, then starting it again, loses and
duplicates nothing: every row gets exactly one first outcome, the validator's ledger holds each
record once, and no row is refused as a duplicate of itself (603)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from datetime import date, timedelta

import asyncpg
import pytest

from tests.support import http
from tests.support.system import YEAR, RunningSystem, eventually

pytestmark = pytest.mark.integration
BATCHES = 40 if os.environ.get("PARS_CHAOS_FULL") else 12
PER_BATCH = 25
# ABIM learners of the gateway's registry seed, one per 360 days of completions.
ABIM_LEARNERS = [("Susan", "O'Laughlin", "999925", "01/01"), ("Ana", "Núñez", "2000001", "07/04")]
assert BATCHES * PER_BATCH // 2 <= 360 * len(ABIM_LEARNERS)



def rows(start: int) -> list[dict]:
    first_day = date(YEAR, 1, 1)
    result = []
    for i in range(start, start + PER_BATCH):
        # ABIM takes one completion per learner per day (717): once a learner's days of the year
        # are used up, the next learner of ABIM_LEARNERS takes over.
        lap, day_of_year = divmod(i // 2, 360)
        day = first_day + timedelta(days=day_of_year)
        abim = i % 2 == 0
        first, last, learner_id, dob = ABIM_LEARNERS[lap] if abim else ("Vincent", "Van Gogh", "98989", "03/30")
        result.append({
            "activity_id": None, "board": "ABIM" if abim else "ABO", "action": "Add",
            "first_name": first, "last_name": last, "learner_id": learner_id, "date_of_birth": dob,
            "completion_date": day.strftime("%m/%d/%Y"), "credits": "0.25",
            "credit_types": ["ABIM Medical Knowledge" if abim else "ABO MOC Part II"],
            "credit_id": f"ccid:test.example:{i}"})
    return result


def test_sigkill_validator_mid_load_loses_and_duplicates_nothing(system: RunningSystem) -> None:
    provider = system.new_provider()
    client = system.client(provider["api_key"])
    activity = client.post("/v1/activities", json={
        "title": "Kill test", "activity_type": "Course", "start_date": f"{YEAR}-01-01", "end_date": f"{YEAR}-12-31",
        "reporting_year": YEAR, "ama_credits": 1000, "registrations": [
            {"board": "ABIM", "credit_types": ["ABIM Medical Knowledge"], "max_points": 1000},
            {"board": "ABO", "credit_types": ["ABO MOC Part II"], "max_points": 1000}]}).json()["activity_id"]
    validator = system.system["validator"]
    submissions: list[str] = []
    errors: list[BaseException] = []

    def send_all() -> None:
        try:
            with http.Client(base_url=system.url, headers=client.headers, timeout=60) as sender:
                for b in range(BATCHES):
                    batch = rows(b * PER_BATCH)
                    for r in batch:
                        r["activity_id"] = activity
                    response = sender.post("/v1/learner-records", json={"records": batch})
                    assert response.status_code == 202, response.text
                    submissions.append(response.json()["submission_id"])
                    time.sleep(0.15)  # keep records flowing across the kills
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    sender = threading.Thread(target=send_all)
    sender.start()
    for threshold in (2, BATCHES // 3, 2 * BATCHES // 3):
        eventually(lambda t=threshold: len(submissions) >= t, what="records to flow")
        validator.kill()
        validator.start()
    sender.join()
    assert not errors, errors
    total = BATCHES * PER_BATCH

    def all_have_outcomes() -> bool:
        return sum(1 for s in submissions for r in client.get(f"/v1/submissions/{s}").json()["rows"]
                   if r.get("status") != "Pending") == total

    eventually(all_have_outcomes, timeout=120, what="every row to have its first outcome")
    outcomes = [r for s in submissions for r in client.get(f"/v1/submissions/{s}").json()["rows"]]
    assert len(outcomes) == total
    assert all("errors" not in r for r in outcomes), [r for r in outcomes if "errors" in r][:3]
    assert {r["status"] for r in outcomes} <= {"Accepted", "Submitted"}

    async def ledger_counts() -> tuple[int, int, int]:
        conn = await asyncpg.connect(system.env["DATABASE_URL"])
        try:
            ns = system.namespace
            ledger = await conn.fetchval(f"SELECT count(*) FROM {ns}_validator.ledger WHERE provider_id = $1",
                                         provider["provider_id"])
            distinct = await conn.fetchval(f"SELECT count(DISTINCT credit_id) FROM {ns}_validator.ledger "
                                           "WHERE provider_id = $1", provider["provider_id"])
            scheduled = await conn.fetchval(f"SELECT count(*) FROM {ns}_board_gateway.board_records "
                                            "WHERE provider_id = $1", provider["provider_id"])
            return ledger, distinct, scheduled
        finally:
            await conn.close()

    ledger, distinct, scheduled = asyncio.run(ledger_counts())
    assert ledger == distinct == total
    assert scheduled == total // 2  # the ABIM half waits for the board, each record once
