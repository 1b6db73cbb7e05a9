"""GET /v1/learner-records/{record_id}/learner over HTTP: the learner's records on the record's
activity (seed 001 525-557, "LEARNER RECORDS"): same learner id or same name, every board, Deleted
ones too, with entered and accepted credits and the accepted total."""

from __future__ import annotations

import pytest

from tests.support.system import RunningSystem

from .helpers import add_learners, learner, register_activity

pytestmark = pytest.mark.integration

AMA = "AMA PRA Category 1 Credit"


def test_a_learners_records_on_an_activity_with_totals(system: RunningSystem) -> None:
    provider = system.new_provider(name="Learner Records CME")
    with system.client(provider["api_key"]) as client:
        activity = register_activity(client, {"NC": [AMA]}, year=2020, title="Learner records")
        other = register_activity(client, {"NC": [AMA]}, year=2020, title="Another activity")
        rows = add_learners(client, activity, "NC", learner("Traci", "Test", "999993", "07/01", "02/03/2020", 3, AMA),
                            learner("Traci", "Test", "999993", "07/01", "02/05/2020", "1.5", AMA),
                            learner("Tina", "Tennessee", "999998", "08/02", "02/03/2020", 2, AMA))
        assert [r["status"] for r in rows[:2]] == ["Accepted", "Accepted"], rows
        elsewhere = add_learners(client, other, "NC", learner("Traci", "Test", "999993", "07/01", "02/03/2020", 4, AMA))
        assert elsewhere[0]["status"] == "Accepted"
        deleted = client.delete(f"/v1/learner-records/{rows[1]['record_id']}", params={"wait": 20})
        assert deleted.json()["rows"][0]["status"] == "Deleted", deleted.text

        answer = client.get(f"/v1/learner-records/{rows[0]['record_id']}/learner")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["learner"] == {"first_name": "Traci", "last_name": "Test", "learner_id": "999993", "npi": None}
        assert body["activity_id"] == activity
        assert [(r["record_id"], r["status"], r["entered_credits"], r["accepted_credits"], r["deletable"])
                for r in body["records"]] == [
            (rows[0]["record_id"], "Accepted", "3", "3", True), (rows[1]["record_id"], "Deleted", "1.5", "0", False)]
        assert body["total_accepted_credits"] == "3" and body["total_entered_credits"] == "3"

        other_provider = system.new_provider(name="Someone else")
        with system.client(other_provider["api_key"]) as stranger:
            refused = stranger.get(f"/v1/learner-records/{rows[0]['record_id']}/learner")
            assert refused.status_code == 404 and "Traci" not in refused.text
