"""A12 (seed 001 495; SPEC 113, 135): a JSON web-service record names its credit id. One without
it is answered with 650, like an XML or upstream row, and is not stored; the web form (the portal's
Add Learners) and tab uploads keep deriving one. Over HTTP with Kafka and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest

from pars_contracts.codes import ERROR_MESSAGES
from pars_contracts.values import DERIVED_CREDIT_ID_PREFIX
from tests.support.system import RunningSystem

from .helpers import add_learners, codes, learner, register_activity

pytestmark = pytest.mark.integration
AMA = "AMA PRA Category 1 Credit"


def test_a_web_service_record_without_credit_id_is_650_and_not_stored(system: RunningSystem) -> None:
    with system.client(system.new_provider()["api_key"]) as client:
        activity = register_activity(client, {"NC": [AMA]}, year=2019)
        traci = {"activity_id": activity, "board": "NC", "action": "Add",
                 **learner("Traci", "Test", "999993", "07/01", "05/25/2019", 5, AMA)}
        for missing in ({}, {"credit_id": ""}, {"credit_id": "   "}, {"credit_id": None}):
            response = client.post("/v1/learner-records", params={"wait": 20}, json={"records": [traci | missing]})
            assert response.status_code == 200, response.text
            [row] = response.json()["rows"]
            assert codes(row) == [650], row
            assert row["errors"][0]["message"] == ERROR_MESSAGES[650] and not row.get("credit_id"), row
            assert "status" not in row or row["status"] is None, row
            if row.get("record_id"):
                assert client.get(f"/v1/learner-records/{row['record_id']}").status_code == 404
        assert client.get("/v1/learner-records", params={"last_name": "Test"}).json()["total"] == 0
        assert client.get(f"/v1/activities/{activity}").json()["records_by_board"].get("NC", []) == []

        # With its credit id the same record is stored under it.
        credit_id = f"ccid:example.org:{uuid.uuid4().hex[:8]}"
        response = client.post("/v1/learner-records", params={"wait": 20},
                               json={"records": [traci | {"credit_id": credit_id}]})
        [row] = response.json()["rows"]
        assert row["status"] == "Accepted" and row["credit_id"] == credit_id, row

        # The portal's Add Learners form (POST /v1/activities/{id}/learners) still derives one.
        [form] = add_learners(client, activity, "NC", learner("Traci", "Test", "999993", "07/01", "05/26/2019", 5, AMA))
        assert form["status"] == "Accepted" and form["credit_id"].startswith(DERIVED_CREDIT_ID_PREFIX), form
        found = client.get("/v1/learner-records", params={"last_name": "Test"}).json()["records"]
        assert sorted(r["credit_id"] == credit_id for r in found) == [False, True], found
