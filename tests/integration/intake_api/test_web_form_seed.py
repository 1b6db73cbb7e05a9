"""The seed's web form (document 001, "Using the PARS Web Form" and "Manual Entry Errors"),
entered through `POST /v1/activities/{id}/learners?wait=`, and the read models following the
boards' decisions: each screen shows a new status within a second of the decision."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from pars_contracts.codes import ERROR_MESSAGES, resolution
from tests.support.kafka import read_until
from tests.support.system import RunningSystem, eventually

from .helpers import add_learners, learner, register_activity, wait_for_status

pytestmark = pytest.mark.integration
PART_II, PART_IV = "ABPath MOC Part II", "ABPath MOC Part IV"


def test_abpath_learners_are_submitted_and_a_wrong_nc_birthday_is_an_immediate_error(system: RunningSystem) -> None:
    with system.client(system.new_provider()["api_key"]) as client:
        activity = register_activity(client)
        rows = add_learners(client, activity, "ABPATH",
                            learner("Test2", "Account2", "1000106", "03/01", "01/05/2019", "3.5", PART_II),
                            learner("Test3", "Account3", "1000107", "04/01", "05/25/2019", "59.25", PART_II, PART_IV),
                            learner("Test4", "Account4", "1000108", "05/01", "12/31/2019", "4", PART_II, PART_IV))
        assert [r["status"] for r in rows] == ["Submitted"] * 3, rows
        assert all(r["record_id"] and r["credit_id"] for r in rows)

        wrong = add_learners(client, activity, "NC", learner("Traci", "Test", "999998", "07/01", "05/25/2019", 5,
                                                              "AMA PRA Category 1 Credit"))
        assert wrong == [{"row": 1, "record_id": wrong[0]["record_id"], "credit_id": wrong[0]["credit_id"],
                          "errors": [{"code": 664, "message": ERROR_MESSAGES[664], "resolution": resolution(664)}]}]
        right = add_learners(client, activity, "NC", learner("Traci", "Test", "999993", "07/01", "05/25/2019", 5,
                                                              "AMA PRA Category 1 Credit"))
        assert right[0]["status"] == "Accepted"

        detail = client.get(f"/v1/activities/{activity}").json()
        nc = detail["records_by_board"]["NC"]
        assert [(r["learner_id"], r["status"]) for r in nc] == [("999993", "Accepted")]  # the 664 row is not saved
        assert {r["first_name"] for r in detail["records_by_board"]["ABPATH"]} == {"Test2", "Test3", "Test4"}
        assert client.get(f"/v1/learner-records/{wrong[0]['record_id']}").status_code == 404


def test_the_same_learner_on_two_boards_is_accepted_by_each(system: RunningSystem) -> None:
    with system.client(system.new_provider()["api_key"]) as client:
        activity = register_activity(client)
        abim = add_learners(client, activity, "ABIM", learner("Susan", "O'Laughlin", "999925", "1/1", "01/11/2019",
                                                              0.25, "ABIM Medical Knowledge"))
        abpath = add_learners(client, activity, "ABPATH", learner("Susan", "O'Laughlin", "999925", "1/1",
                                                                  "03/12/2019", 0.25, PART_II))
        assert [abim[0]["status"], abpath[0]["status"]] == ["Submitted", "Submitted"]
        for row in abim + abpath:
            wait_for_status(client, row["record_id"], "Accepted")
        detail = client.get(f"/v1/activities/{activity}").json()
        seen = {board: [(r["last_name"], r["completion_date"], r["status"]) for r in records]
                for board, records in detail["records_by_board"].items()}
        assert seen == {"ABIM": [("O'Laughlin", "2019-01-11", "Accepted")],
                        "ABPATH": [("O'Laughlin", "2019-03-12", "Accepted")]}
        assert {b["board"]: b["accepted"] for b in detail["boards"]} == {"ABIM": 1, "ABPATH": 1, "NC": 0}


def test_every_screen_shows_a_board_decision_within_a_second(system: RunningSystem) -> None:
    with system.client(system.new_provider()["api_key"]) as client:
        activity = register_activity(client)
        row = add_learners(client, activity, "ABIM", learner("Test10", "Account10", "1000105", "02/01",
                                                             "02/01/2019", 2, "ABIM Medical Knowledge"))[0]
        assert row["status"] == "Submitted"

        def screens() -> tuple:
            summary = client.get("/v1/activities", params={"title": "An Other"}).json()["activities"][0]
            search = client.get("/v1/learner-records", params={"last_name": "Account10"}).json()["records"]
            detail = client.get(f"/v1/activities/{activity}").json()["records_by_board"]["ABIM"]
            record = client.get(f"/v1/learner-records/{row['record_id']}").json()
            return ((summary["submitted"], summary["accepted"]), search[0]["status"], detail[0]["status"],
                    record["status"])

        assert screens() == ((1, 0), "Submitted", "Submitted", "Submitted")
        eventually(lambda: screens() == ((0, 1), "Accepted", "Accepted", "Accepted"), timeout=30, interval=0.05,
                   what="every screen to show Accepted")
        seen_at = datetime.now(UTC)

    decisions = asyncio.run(read_until(
        system.env["KAFKA_BOOTSTRAP_SERVERS"], [f"{system.namespace}.pars.board.decisions.v1"],
        lambda ms: any(m.payload["record_id"] == row["record_id"] and m.payload["status"] == "Accepted" for m in ms)))
    decided = next(m for m in decisions if m.payload["record_id"] == row["record_id"]
                   and m.payload["status"] == "Accepted")
    lag = (seen_at - decided.occurred_at).total_seconds()
    assert lag < 1.0, f"the screens showed the decision {lag:.2f}s after the board made it"
