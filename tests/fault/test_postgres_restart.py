"""PostgreSQL going away and coming back mid-load costs nothing: consumers wait for it without
spending a message's attempts, so no row is dead-lettered, lost or duplicated."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta

import httpx
import pytest

from pars_runtime.deadletters import list_dead_letters
from tests.support import http
from tests.support.kafka import run_sync, service_settings
from tests.support.system import YEAR, RunningSystem, eventually

pytestmark = pytest.mark.integration
BATCHES, PER_BATCH = 12, 20


def batch(activity: str, number: int) -> list[dict]:
    return [{"activity_id": activity, "board": "ABO", "action": "Add", "first_name": "Vincent",
             "last_name": "Van Gogh", "learner_id": "98989", "date_of_birth": "03/30",
             "completion_date": (date(YEAR, 1, 1) + timedelta(days=(number * PER_BATCH + i) % 360)).strftime("%m/%d/%Y"),
             "credits": "0.25", "credit_types": ["ABO MOC Part II"],
             "credit_id": f"ccid:pg.example:{number}-{i}"} for i in range(PER_BATCH)]


def test_postgres_restart_mid_load_dead_letters_and_loses_nothing(system: RunningSystem) -> None:
    client = system.client(system.new_provider()["api_key"])
    activity = client.post("/v1/activities", json={
        "title": "Outage", "activity_type": "Course", "start_date": f"{YEAR}-01-01", "end_date": f"{YEAR}-12-31",
        "reporting_year": YEAR, "ama_credits": 1000, "registrations": [
            {"board": "ABO", "credit_types": ["ABO MOC Part II"], "max_points": 1000}]}).json()["activity_id"]
    submissions: list[str] = []
    refusals: list[httpx.Response] = []

    def send_all() -> None:
        with http.Client(base_url=system.url, headers=client.headers, timeout=30) as sender:
            for number in range(BATCHES):
                while True:  # while the database is away intake answers 503: the caller tries again
                    try:
                        response = sender.post("/v1/learner-records", json={"records": batch(activity, number)})
                    except httpx.HTTPError:
                        response = None
                    if response is not None and response.status_code == 202:
                        submissions.append(response.json()["submission_id"])
                        break
                    if response is not None:
                        refusals.append(response)
                    time.sleep(0.2)
                time.sleep(0.1)

    sender = threading.Thread(target=send_all)
    sender.start()
    eventually(lambda: len(submissions) >= 3, what="records to flow")
    system.stack.postgres.stop()
    time.sleep(3)  # the outage itself: a fixed length is the point here, not a wait for an outcome
    system.stack.postgres.start()
    sender.join(timeout=120)
    assert len(submissions) == BATCHES
    # While it was away, intake said so and when to try again, and logged no error for it.
    assert refusals, "no request met the outage"
    assert {(r.status_code, r.headers.get("retry-after")) for r in refusals} == {(503, "2")}
    assert all("database is unavailable" in r.json()["detail"] for r in refusals)
    logged = system.system["intake"].log_file.read_text()
    assert "database unavailable: request answered 503" in logged and "unexpected error" not in logged

    def outcomes() -> list[dict]:
        return [r for s in submissions for r in client.get(f"/v1/submissions/{s}").json()["rows"]]

    eventually(lambda: all(r.get("status") not in (None, "Pending") for r in outcomes()), timeout=120,
               what="every row to have its outcome")
    rows = outcomes()
    assert len(rows) == BATCHES * PER_BATCH
    assert {r.get("status") for r in rows} == {"Accepted"}, [r for r in rows if r.get("status") != "Accepted"][:3]
    settings = service_settings(system.env, pars_namespace=system.namespace)
    assert run_sync(list_dead_letters(settings)) == []
