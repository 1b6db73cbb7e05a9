"""Opioid Analgesic REMS learner reporting (docs/rems.md; seed 001 lines 116, 230, 258-266), over
HTTP with real Kafka and PostgreSQL: a participating provider's REMS activity takes REMS learners
by web service and by upload and they are Accepted at once; a provider that does not take part is
refused whole (403) and nothing is stored; a REMS row missing what REMS needs gets its error."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.integration.intake_stream.test_upstream import completion, outcomes_of, send_envelopes
from tests.integration.intake_uploads.support import (
    accepted_upload,
    completed,
    error_rows,
    register_activity,
    row,
    stored_counts,
    tab_text,
    upload,
)
from tests.support.system import YEAR, RunningSystem

pytestmark = pytest.mark.integration
PRESCRIBER, NON_PRESCRIBER = "OA REMS Registered Prescriber", "OA REMS Non-Prescriber"
REMS = {"REMS": [PRESCRIBER, NON_PRESCRIBER], "NC": ["AMA PRA Category 1 Credit"]}
COMPLETED = f"05/05/{YEAR}"


def rems_record(activity: str, last: str, **extra: Any) -> dict:
    return {"activity_id": activity, "board": "REMS", "action": "Add", "first_name": "Nora", "last_name": last,
            "completion_date": COMPLETED, "credits": 2, "credit_types": [NON_PRESCRIBER],
            "credit_id": f"ccid:example.org:{uuid.uuid4().hex[:12]}", **extra}


def rems_row(activity: str, first: str, last: str, credits: str, credit_type: str, npi: str = "") -> list[str]:
    """A Template B REMS row: no date of birth, and an NPI or no learner id at all."""
    cells = row("REMS", activity, npi, first, last, "", COMPLETED, credits, credit_type, id_type="NPI")
    cells[3] = "NPI" if npi else ""
    return cells


def web_service(client: httpx.Client, *records: dict) -> httpx.Response:
    return client.post("/v1/learner-records", params={"wait": 20}, json={"records": list(records)})


def codes(outcome: dict) -> list[int]:
    return [e["code"] for e in outcome.get("errors", [])]


def set_participant(system: RunningSystem, provider_id: str, value: bool) -> None:
    with system.admin() as admin:
        response = admin.put(f"/v1/admin/providers/{provider_id}/rems", json={"rems_participant": value})
    assert response.status_code == 200, response.text
    assert response.json() == {"provider_id": provider_id, "rems_participant": value}


def test_a_participant_reports_rems_learners_by_web_service_and_upload(system: RunningSystem) -> None:
    provider = system.new_provider(rems_participant=True)
    assert provider["rems_participant"] is True
    client = system.client(provider["api_key"])
    assert client.get("/v1/provider").json()["rems_participant"] is True
    # S1 116: a REMS activity is an ordinary activity that may also report to boards.
    activity = register_activity(client, REMS, year=YEAR, title="OA REMS Activity")
    assert {r["board"] for r in client.get(f"/v1/activities/{activity}").json()["registrations"]} == {"REMS", "NC"}

    answered = web_service(client, rems_record(activity, "Nurse"),
                           rems_record(activity, "Prescriber", learner_id_type="NPI", learner_id="1234567893",
                                       credit_types=[PRESCRIBER]))
    assert answered.status_code == 200, answered.text
    assert [r["status"] for r in answered.json()["rows"]] == ["Accepted", "Accepted"], answered.text

    rows = [rems_row(activity, "Ursula", "Uploaded", "1", NON_PRESCRIBER),
            rems_row(activity, "Peter", "Uploaded", "1.5", PRESCRIBER, npi="1234567893"),
            row("NC", activity, "999993", "Traci", "Test", "07/01", COMPLETED, "1", id_type="LICENSE"),
            rems_row(activity, "Lana", "", "1", NON_PRESCRIBER)]
    upload_id = accepted_upload(client, "rems.txt", tab_text(rows).encode(), submission_type="rems")
    view = completed(client, upload_id)
    assert (view["accepted"], view["not_processed"]) == (2, 2), error_rows(client, upload_id)
    report = {cells[5]: cells for cells in error_rows(client, upload_id)}
    assert set(report) == {"Traci", "Lana"}, report
    assert "713" in "\t".join(report["Traci"]) and "Opioid Analgesic REMS" in "\t".join(report["Traci"])
    assert "623" in "\t".join(report["Lana"])
    uploaded = client.get("/v1/learner-records", params={"last_name": "Uploaded"}).json()["records"]
    assert sorted((r["board"], r["status"]) for r in uploaded) == [("REMS", "Accepted")] * 2


def test_a_rems_row_missing_what_rems_needs_gets_its_error(system: RunningSystem) -> None:
    client = system.client(system.new_provider(rems_participant=True)["api_key"])
    activity = register_activity(client, REMS, year=YEAR)
    answered = web_service(client, rems_record(activity, "Nameless", first_name=None),
                           rems_record(activity, "Typeless", credit_types=[]),
                           rems_record(activity, "Boarded", credit_types=["ABIM Medical Knowledge"]),
                           rems_record(activity, "Undated", completion_date=None))
    assert answered.status_code == 200, answered.text
    assert [codes(r) for r in answered.json()["rows"]] == [[622], [677], [676], [631]], answered.text
    # A board upload does not take REMS rows: they belong to the REMS submission type.
    rows = [rems_row(activity, "Ursula", "Misfiled", "1", NON_PRESCRIBER)]
    view = completed(client, accepted_upload(client, "board.txt", tab_text(rows).encode()))
    assert (view["accepted"], view["not_processed"]) == (0, 1), view


def test_a_provider_that_does_not_take_part_is_refused_and_nothing_is_stored(system: RunningSystem) -> None:
    provider = system.new_provider()
    assert provider["rems_participant"] is False
    client = system.client(provider["api_key"])
    assert client.get("/v1/provider").json()["rems_participant"] is False
    refused = client.post("/v1/activities", json={
        "title": "OA REMS Activity", "activity_type": "Course", "start_date": f"{YEAR}-01-01",
        "end_date": f"{YEAR}-12-31", "reporting_year": YEAR, "ama_credits": 5,
        "registrations": [{"board": "REMS", "credit_types": [PRESCRIBER], "max_points": 5}]})
    assert refused.status_code == 403 and "does not take part" in refused.json()["detail"], refused.text
    board_only = register_activity(client, {"NC": ["AMA PRA Category 1 Credit"]}, year=YEAR)
    patched = client.patch(f"/v1/activities/{board_only}", json={"registrations": [
        {"board": "NC", "credit_types": ["AMA PRA Category 1 Credit"], "max_points": 500},
        {"board": "REMS", "credit_types": [PRESCRIBER], "max_points": 5}]})
    assert patched.status_code == 403, patched.text

    # Participation ends after a REMS activity was registered: new REMS rows are refused.
    set_participant(system, provider["provider_id"], True)
    activity = register_activity(client, REMS, year=YEAR)
    set_participant(system, provider["provider_id"], False)
    before = stored_counts(system, provider["provider_id"])
    by_api = web_service(client, rems_record(activity, "Refused"))
    assert by_api.status_code == 403 and "Opioid Analgesic REMS" in by_api.json()["detail"], by_api.text
    by_form = client.post(f"/v1/activities/{activity}/learners", json={"board": "REMS", "learners": [
        {"first_name": "Nora", "last_name": "Refused", "completion_date": COMPLETED, "credits": 1,
         "credit_types": [NON_PRESCRIBER]}]})
    assert by_form.status_code == 403, by_form.text
    rows = [rems_row(activity, "Ursula", "Refused", "1", NON_PRESCRIBER)]
    by_upload = upload(client, "rems.txt", tab_text(rows).encode(), submission_type="rems")
    assert by_upload.status_code == 403 and "does not take part" in by_upload.json()["detail"], by_upload.text
    assert stored_counts(system, provider["provider_id"]) == before
    # From its upstream system the completion is the provider's own, so it gets an outcome (not a
    # dead letter): 713, saying why.
    learner = {"board": "REMS", "first_name": "Nora", "last_name": "Upstream", "credits": 1,
               "credit_types": [NON_PRESCRIBER]}
    event = completion(provider["provider_id"], activity, f"ccid:lms.example:{uuid.uuid4().hex[:12]}", "05-05",
                       learner, payload__completion_date=COMPLETED)
    send_envelopes(system, provider["provider_id"], [event])
    [outcome] = outcomes_of(system, provider["provider_id"], [event.message_id])[event.message_id]
    assert outcome.payload["status"] is None, outcome.payload  # not stored: invalid
    [error] = outcome.payload["errors"]
    assert error["code"] == 713 and error["message"] == "Activity registration type is not valid.", error
    assert "does not take part in the Opioid Analgesic REMS" in error["hint"], error
    # Its board learners go on as before.
    nc = web_service(client, {"activity_id": activity, "board": "NC", "action": "Add", "first_name": "Traci",
                              "last_name": "Test", "learner_id": "999993", "learner_id_type": "LICENSE",
                              "date_of_birth": "07/01", "completion_date": COMPLETED, "credits": 1,
                              "credit_id": f"ccid:example.org:{uuid.uuid4().hex[:12]}"})
    assert nc.status_code == 200 and nc.json()["rows"][0]["status"] == "Accepted", nc.text


def test_an_unknown_provider_cannot_be_made_a_participant(system: RunningSystem) -> None:
    with system.admin() as admin:
        assert admin.put("/v1/admin/providers/0000001/rems", json={"rems_participant": True}).status_code == 404
