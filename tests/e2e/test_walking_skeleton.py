"""A learner record travels intake -> validator -> board-gateway -> intake over the real broker
and database; a board rejection reaches the notifier, which e-mails it through real SMTP."""

from __future__ import annotations

import uuid

import pytest

from tests.support.system import YEAR, RunningSystem, eventually

pytestmark = pytest.mark.integration


def register_activity(client, **boards: str) -> str:
    response = client.post("/v1/activities", json={
        "title": "Annual Meeting", "activity_type": "Course", "provider_activity_id": "AM-1",
        "start_date": f"{YEAR}-01-01", "end_date": f"{YEAR}-12-31", "reporting_year": YEAR, "ama_credits": 500,
        "registrations": [{"board": b, "credit_types": [t], "max_points": 500} for b, t in boards.items()]})
    assert response.status_code == 201, response.text
    return response.json()["activity_id"]


def learner(first: str, last: str, learner_id: str, dob: str, day: str, credits: str, credit_type: str) -> dict:
    return {"first_name": first, "last_name": last, "learner_id": learner_id, "date_of_birth": dob,
            "completion_date": f"{day}/{YEAR}", "credits": credits, "credit_types": [credit_type]}


def test_direct_board_accepts_at_once_and_a_non_match_is_an_immediate_error(system: RunningSystem) -> None:
    provider = system.new_provider()
    with system.client(provider["api_key"]) as client:
        activity = register_activity(client, ABO="ABO MOC Part II")
        response = client.post(f"/v1/activities/{activity}/learners?wait=20", json={"board": "ABO", "learners": [
            learner("Vincent", "Van Gogh", "98989", "03/30", "02/10", "0.25", "ABO MOC Part II"),
            learner("Georgia", "O'Keeffe", "97979", "12/01", "05/05", "0.25", "ABO MOC Part II"),
            learner("Georgia", "O'Keeffe", "97979", "11/15", "05/05", "0.3", "ABO MOC Part II"),
        ]})
        assert response.status_code == 200, response.text
        rows = response.json()["rows"]
        assert rows[0]["status"] == "Accepted"
        assert [e["code"] for e in rows[1]["errors"]] == [664]  # wrong date of birth: not saved
        assert [e["code"] for e in rows[2]["errors"]] == [675]  # PARS validation: .25 steps
        detail = client.get(f"/v1/activities/{activity}").json()
        assert [r["last_name"] for r in detail["records_by_board"]["ABO"]] == ["Van Gogh"]


def test_within_a_day_board_submits_then_decides_and_rejections_are_emailed(system: RunningSystem) -> None:
    # Its own recipient: the mail catcher is shared by every system of the test session.
    office = f"office-{uuid.uuid4().hex[:8]}@example.org"
    provider = system.new_provider(name="Eastern CME Partners", notification_emails=[office])
    with system.client(provider["api_key"]) as client:
        activity = register_activity(client, ABIM="ABIM Medical Knowledge")
        response = client.post(f"/v1/activities/{activity}/learners?wait=20", json={"board": "ABIM", "learners": [
            learner("Susan", "O'Laughlin", "999925", "01/01", "01/11", "0.25", "ABIM Medical Knowledge"),
            learner("Test11", "Account11", "1000104", "01/01", "01/12", "2", "ABIM Medical Knowledge"),
        ]})
        assert response.status_code == 200, response.text
        accepted_id, rejected_id = (r["record_id"] for r in response.json()["rows"])
        assert [r["status"] for r in response.json()["rows"]] == ["Submitted", "Submitted"]

        def status(record_id: str) -> str | None:
            return client.get(f"/v1/learner-records/{record_id}").json()["status"]

        eventually(lambda: status(accepted_id) == "Accepted", what="ABIM to accept O'Laughlin")
        eventually(lambda: status(rejected_id) == "Rejected", what="ABIM to reject Test11")
        rejected = client.get(f"/v1/learner-records/{rejected_id}").json()
        assert [e["code"] for e in rejected["errors"]] == [664]

    def to_this_provider(m) -> bool:  # noqa: ANN001
        return "ABIM rejected 1" in m["Subject"] and office in m["To"]

    mails = eventually(lambda: system.mails(to_this_provider), what="the rejection e-mail")
    assert len(mails) == 1
    text = mails[0].get_body(("plain",)).get_content()
    assert "Test11 Account11" in text and "1000104" in text and "664" in text and activity in text
