"""Learner match: identities checked against a board's registry before submitting, through the
board gateway's `POST /v1/match` (here the conftest's stand-in, on the gateway's seed registry
and matching rules). Nothing is stored; a gateway that cannot answer is a clear 503."""

from __future__ import annotations

import pytest

from pars_contracts.codes import ERROR_MESSAGES
from tests.support.system import SERVICE_TOKEN, RunningSystem

from .fake_gateway import FakeGateway
from .helpers import stored_rows

pytestmark = pytest.mark.integration


def identity(first: str, last: str, learner_id: str | None, dob: str | None) -> dict:
    return {"first_name": first, "last_name": last, "learner_id": learner_id, "date_of_birth": dob}


def test_identities_are_checked_against_the_boards_registry(system: RunningSystem, gateway: FakeGateway) -> None:
    provider = system.new_provider()
    with system.client(provider["api_key"]) as client:
        response = client.post("/v1/learner-match", json={"board": "nc", "learners": [
            identity("Traci", "Test", "999993", "07/01"),
            identity("Traci", "Test", "999998", "07/01"),  # the seed's "Manual Entry Errors": 664 on submission
            identity("Traci", "Test", "000000", "07/01"),  # 661 on submission
        ]})
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["board"] == "NC"
        # The caller learns only match or not (718), never the board's reason (no DOB or id oracle).
        assert [(r["row"], r["match"], [e["code"] for e in r["errors"]]) for r in answer["results"]] == [
            (1, True, []), (2, False, [718]), (3, False, [718])]
        assert answer["results"][1]["errors"][0]["message"] == ERROR_MESSAGES[718]
        # Names fold case and accents; 7-1 is 07/01. One identity once a call.
        folded = client.post("/v1/learner-match", json={"board": "NC", "learners": [
            identity("TRACI", "Tést", "999993", "7-1")]}).json()
        assert folded["results"][0]["match"] is True
        assert gateway.questions[-1]["learners"][0]["date_of_birth"] == "07/01"
        assert set(gateway.authorizations) == {f"Bearer {SERVICE_TOKEN}"}  # the service token, never the admin token

        abs_answer = client.post("/v1/learner-match", json={"board": "ABS", "learners": [
            identity("John", "Smith", None, "04/04"), identity("Alice", "Walker", None, "02/02")]}).json()
        assert [[e["code"] for e in r["errors"]] for r in abs_answer["results"]] == [[718], []]
    assert stored_rows(system, provider["provider_id"]) == {"submissions": 0, "records": 0, "activities": 0}


def test_bad_requests_and_an_unavailable_gateway(system: RunningSystem, gateway: FakeGateway) -> None:
    with system.client(system.new_provider()["api_key"]) as client:
        one = {"board": "NC", "learners": [identity("Traci", "Test", "999993", "07/01")]}
        assert client.post("/v1/learner-match", json={**one, "board": "XYZ"}).status_code == 422
        assert client.post("/v1/learner-match", json={**one, "learners": []}).status_code == 422
        assert client.post("/v1/learner-match", json={**one, "learners": [{"colour": "x"}]}).status_code == 422
        assert client.post("/v1/learner-match", json={**one, "learners": one["learners"] * 501}).status_code == 422
        try:
            for mode in ("error", "garbage", "short"):
                gateway.mode = mode
                response = client.post("/v1/learner-match", json=one)
                assert response.status_code == 503, (mode, response.text)
                assert "cannot be checked" in response.json()["detail"]
        finally:
            gateway.mode = "ok"
        assert client.post("/v1/learner-match", json=one).json()["results"][0]["match"] is True
