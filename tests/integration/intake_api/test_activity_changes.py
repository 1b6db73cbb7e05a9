"""Changing an activity (`PATCH /v1/activities/{id}`; seed 001, 670 and 672: "confirm that the
activity date listed in PARS is correct and make any changes if necessary"): the change reaches the
validator as the activity's next version, rows refused with 670/672 pass once the activity is
corrected, records already decided keep their status, and a board with records cannot be removed."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from pars_contracts.codes import resolution
from tests.support.system import RunningSystem, eventually

from .helpers import add_learners, codes, learner, status_of

pytestmark = pytest.mark.integration
NC_CAT1, ABIM_MK = "AMA PRA Category 1 Credit", "ABIM Medical Knowledge"


def validator_version(system: RunningSystem, activity_id: str) -> int | None:
    """The version of the activity in the validator's own copy (fed by pars.activities.v1)."""

    async def read() -> int | None:
        conn = await asyncpg.connect(system.env["DATABASE_URL"])
        try:
            value = await conn.fetchval(f"SELECT data->>'version' FROM {system.namespace}_validator.activities "
                                        "WHERE activity_id = $1", activity_id)
            return int(value) if value else None
        finally:
            await conn.close()

    return asyncio.run(read())


def test_a_corrected_activity_takes_the_rows_it_refused_and_keeps_decided_records(system: RunningSystem) -> None:
    with system.client(system.new_provider()["api_key"]) as client:
        created = client.post("/v1/activities", json={
            "title": "Opioid Prescribing", "activity_type": "Course", "start_date": "2019-06-01",
            "end_date": "2019-12-31", "reporting_year": 2019, "ama_credits": 10,
            "registrations": [{"board": "NC", "credit_types": [NC_CAT1], "max_points": 10}]})
        assert created.status_code == 201, created.text
        activity = created.json()["activity_id"]
        assert created.json()["version"] == 1
        eventually(lambda: validator_version(system, activity) == 1, what="the validator's copy")

        kept = add_learners(client, activity, "NC", learner("Traci", "Test", "999993", "07/01", "07/10/2019", 5,
                                                            NC_CAT1))[0]
        assert kept["status"] == "Accepted", kept
        early = learner("Traci", "Test", "999998", "08/02", "05/25/2019", 2, NC_CAT1)
        abim = learner("Test10", "Account10", "1000105", "02/01", "07/10/2019", 2, ABIM_MK)
        [refused_672] = add_learners(client, activity, "NC", early)
        [refused_670] = add_learners(client, activity, "ABIM", abim)
        assert (codes(refused_672), codes(refused_670)) == ([672], [670])
        assert refused_672["errors"][0]["resolution"] == resolution(672)

        # A board that has learner records cannot be removed; nothing changes.
        removing = client.patch(f"/v1/activities/{activity}", json={
            "registrations": [{"board": "ABIM", "credit_types": [ABIM_MK], "max_points": 10}]})
        assert removing.status_code == 409, removing.text
        assert "NC (1 learner record)" in removing.json()["detail"] and "cannot be removed" in removing.json()["detail"]
        assert client.get(f"/v1/activities/{activity}").json()["version"] == 1

        assert client.patch(f"/v1/activities/{activity}", json={"end_date": "2019-01-01"}).status_code == 422
        assert client.patch(f"/v1/activities/{activity}", json={"title": None}).status_code == 422
        assert client.patch(f"/v1/activities/{activity}", json={"colour": "red"}).status_code == 422
        assert client.patch("/v1/activities/999999999", json={"title": "x"}).status_code == 404

        # Correct the start date, add ABIM, lower NC's maximum points, retitle.
        changed = client.patch(f"/v1/activities/{activity}", json={
            "title": "Opioid Prescribing 2019", "start_date": "2019-01-01",
            "registrations": [{"board": "nc", "credit_types": [NC_CAT1], "max_points": 3},
                              {"board": "ABIM", "credit_types": [ABIM_MK], "max_points": 10}]})
        assert changed.status_code == 200, changed.text
        view = changed.json()
        assert (view["version"], view["title"], view["start_date"]) == (2, "Opioid Prescribing 2019", "2019-01-01")
        assert [(r["board"], r["max_points"]) for r in view["registrations"]] == [("NC", "3"), ("ABIM", "10")]
        eventually(lambda: validator_version(system, activity) == 2, what="the validator to see the change")

        # The same rows again: they pass now; the decided record keeps its status and credits.
        assert add_learners(client, activity, "NC", early)[0]["status"] == "Accepted"
        assert add_learners(client, activity, "ABIM", abim)[0]["status"] == "Submitted"
        assert status_of(client, kept["record_id"]) == "Accepted"
        over = add_learners(client, activity, "NC", learner("Traci", "Test", "999998", "08/02", "08/10/2019", 5,
                                                            NC_CAT1))[0]
        assert 674 in codes(over)  # the new maximum applies to new rows only
        detail = client.get(f"/v1/activities/{activity}").json()
        assert detail["title"] == "Opioid Prescribing 2019"
        assert {b["board"]: b["accepted"] for b in detail["boards"]}["NC"] == 2

        # A board without records can be removed again; one with records still cannot.
        assert client.patch(f"/v1/activities/{activity}", json={"registrations": [
            {"board": "NC", "credit_types": [NC_CAT1], "max_points": 3}]}).status_code == 409  # ABIM has one now


def test_another_providers_activity_cannot_be_changed(system: RunningSystem) -> None:
    with system.client(system.new_provider()["api_key"]) as owner:
        activity = owner.post("/v1/activities", json={
            "title": "Mine", "activity_type": "Course", "start_date": "2020-01-01", "end_date": "2020-12-31",
            "reporting_year": 2020, "ama_credits": 1,
            "registrations": [{"board": "NC", "credit_types": [NC_CAT1], "max_points": 1}]}).json()["activity_id"]
        removable = owner.patch(f"/v1/activities/{activity}", json={"registrations": [
            {"board": "ABIM", "credit_types": [ABIM_MK], "max_points": 1}]})
        assert removable.status_code == 200 and removable.json()["version"] == 2  # NC had no records
    with system.client(system.new_provider()["api_key"]) as other:
        assert other.patch(f"/v1/activities/{activity}", json={"title": "Theirs"}).status_code == 404
