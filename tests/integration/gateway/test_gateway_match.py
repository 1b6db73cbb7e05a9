"""Learner match end to end: intake's `POST /v1/learner-match` asks the real board gateway's
`POST /v1/match`, which answers from the board's registry with the board's rules."""

from __future__ import annotations

from tests.support.system import RunningSystem


def identity(first: str, last: str, learner_id: str | None, dob: str) -> dict:
    return {"first_name": first, "last_name": last, "learner_id": learner_id, "date_of_birth": dob}


def test_identities_are_checked_against_the_real_registry(gateway_system: RunningSystem) -> None:
    provider = gateway_system.new_provider()
    with gateway_system.client(provider["api_key"]) as client:
        answer = client.post("/v1/learner-match", json={"board": "NC", "learners": [
            identity("Traci", "Test", "999993", "07/01"),
            identity("Traci", "Test", "999998", "07/01"),  # the seed's manual entry error: 664
            identity("Traci", "Test", "000000", "07/01"),
            identity("TRACI", "Tést", "999993", "7-1"),
        ]})
        assert answer.status_code == 200, answer.text
        assert [(r["match"], [e["code"] for e in r["errors"]]) for r in answer.json()["results"]] == [
            (True, []), (False, [664]), (False, [661]), (True, [])]
        surgeons = client.post("/v1/learner-match", json={"board": "ABS", "learners": [
            identity("John", "Smith", None, "04/04"), identity("Alice", "Walker", None, "02/02")]}).json()
        assert [[e["code"] for e in r["errors"]] for r in surgeons["results"]] == [[718], []]
        assert client.get("/v1/activities").json()["total"] == 0  # nothing was stored
