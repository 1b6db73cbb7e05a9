"""Deletes through the provider API: a decided record is deleted at the board; a record still
awaiting the board cannot be deleted yet (801); an unknown credit id is 605. (After December 31 of
the reporting year a delete is refused, 706: tests/integration/intake_uploads/test_year_close.py,
on the system whose clock is in January.)"""

from __future__ import annotations

import httpx
import pytest

from tests.support.system import YEAR, RunningSystem, running_system

pytestmark = pytest.mark.integration


# Board time a thousand times slower than real: within-a-day records stay Submitted.
slow_boards = running_system("deletes", BOARD_TIME_SCALE="0.001")


def setup(system: RunningSystem, year: int) -> tuple[httpx.Client, str]:
    client = system.client(system.new_provider()["api_key"])
    response = client.post("/v1/activities", json={
        "title": "Deletes", "activity_type": "Course", "start_date": f"{year}-01-01", "end_date": f"{year}-12-31",
        "reporting_year": year, "ama_credits": 100, "registrations": [
            {"board": "ABO", "credit_types": ["ABO MOC Part II"], "max_points": 100},
            {"board": "ABIM", "credit_types": ["ABIM Medical Knowledge"], "max_points": 100}]})
    assert response.status_code == 201, response.text
    return client, response.json()["activity_id"]


def add(client: httpx.Client, activity: str, board: str, year: int) -> dict:
    learner = ({"first_name": "Vincent", "last_name": "Van Gogh", "learner_id": "98989", "date_of_birth": "03/30",
                "credit_types": ["ABO MOC Part II"]} if board == "ABO" else
               {"first_name": "Susan", "last_name": "O'Laughlin", "learner_id": "999925", "date_of_birth": "01/01",
                "credit_types": ["ABIM Medical Knowledge"]})
    response = client.post(f"/v1/activities/{activity}/learners?wait=20", json={"board": board, "learners": [
        {**learner, "completion_date": f"02/10/{year}", "credits": "1"}]})
    assert response.status_code == 200, response.text
    return response.json()["rows"][0]


def delete(client: httpx.Client, record_id: str) -> dict:
    response = client.delete(f"/v1/learner-records/{record_id}?wait=20")
    assert response.status_code == 200, response.text
    return response.json()["rows"][0]


def test_accepted_record_is_deleted_and_its_credit_id_is_free_again(slow_boards: RunningSystem) -> None:
    year = YEAR
    client, activity = setup(slow_boards, year)
    added = add(client, activity, "ABO", year)
    assert added["status"] == "Accepted"
    assert delete(client, added["record_id"])["status"] == "Deleted"
    assert client.get(f"/v1/learner-records/{added['record_id']}").json()["status"] == "Deleted"
    again = add(client, activity, "ABO", year)  # the same row may be reported again once deleted
    assert again["status"] == "Accepted"


def test_submitted_record_cannot_be_deleted_yet(slow_boards: RunningSystem) -> None:
    year = YEAR
    client, activity = setup(slow_boards, year)
    added = add(client, activity, "ABIM", year)
    assert added["status"] == "Submitted"
    assert [e["code"] for e in delete(client, added["record_id"])["errors"]] == [801]
    assert client.get(f"/v1/learner-records/{added['record_id']}").json()["status"] == "Submitted"


def test_delete_with_unknown_credit_id_is_605(slow_boards: RunningSystem) -> None:
    year = YEAR
    client, activity = setup(slow_boards, year)
    response = client.post("/v1/learner-records?wait=20", json={"records": [{
        "activity_id": activity, "board": "ABO", "action": "Delete", "first_name": "Vincent", "last_name": "Van Gogh",
        "learner_id": "98989", "date_of_birth": "03/30", "completion_date": f"02/11/{year}", "credits": "1",
        "credit_types": ["ABO MOC Part II"], "credit_id": "ccid:test.example:never-sent"}]})
    assert [e["code"] for e in response.json()["rows"][0]["errors"]] == [605]
