"""Learner match end to end: intake's `POST /v1/learner-match` asks the real board gateway's
`POST /v1/match`, which answers from the board's registry with the board's rules."""

from __future__ import annotations

from tests.support import http
from tests.support.system import ADMIN_TOKEN, SERVICE_TOKEN, RunningSystem

INTAKE = {"Authorization": f"Bearer {SERVICE_TOKEN}"}


def identity(first: str, last: str, learner_id: str | None, dob: str) -> dict:
    return {"first_name": first, "last_name": last, "learner_id": learner_id, "date_of_birth": dob}


def test_identities_are_checked_against_the_real_registry(gateway_system: RunningSystem) -> None:
    provider = gateway_system.new_provider()
    with gateway_system.client(provider["api_key"]) as client:
        answer = client.post("/v1/learner-match", json={"board": "NC", "learners": [
            identity("Traci", "Test", "999993", "07/01"),
            identity("Traci", "Test", "999998", "07/01"),  # the seed's manual entry error: 664
            identity("Traci", "Test", "000000", "07/01"),
            identity("TRACI", "Tést", "1234567893", "7-1"),  # her NPI; names fold case and accents; 7-1 is 07/01
        ]})
        assert answer.status_code == 200, answer.text
        # The provider learns only match or not (718), not the board's reason (664, 661).
        assert [(r["match"], [e["code"] for e in r["errors"]]) for r in answer.json()["results"]] == [
            (True, []), (False, [718]), (False, [718]), (True, [])]
        surgeons = client.post("/v1/learner-match", json={"board": "ABS", "learners": [
            identity("John", "Smith", None, "04/04"), identity("Alice", "Walker", None, "02/02")]}).json()
        assert [[e["code"] for e in r["errors"]] for r in surgeons["results"]] == [[718], []]
        assert client.get("/v1/activities").json()["total"] == 0  # nothing was stored


def test_the_gateways_match_answers_only_intake(gateway_system: RunningSystem) -> None:
    # Directly, the gateway tells a board's own reason (664: wrong date of birth): an oracle that
    # intake's answer (718 only, rate-limited) keeps from providers. Without the service token
    # (the admin token is not it: the gateway does not hold it): nothing.
    url = gateway_system.system["board-gateway"].url + "/v1/match"
    question = {"board": "NC", "learners": [identity("Traci", "Test", "999998", "07/01")]}
    for headers in ({}, {"Authorization": "Bearer not-the-service-token-0123456789"}, {"Authorization": SERVICE_TOKEN},
                    {"Authorization": f"Bearer {ADMIN_TOKEN}"}):
        refused = http.post(url, json=question, headers=headers, timeout=30)
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert "results" not in refused.json()
    answered = http.post(url, json=question, headers=INTAKE, timeout=30)
    assert answered.status_code == 200 and answered.json()["results"][0]["code"] == 664


def test_the_gateways_backlog_answers_only_intake(gateway_system: RunningSystem) -> None:
    url = gateway_system.system["board-gateway"].url + "/v1/board-backlog"
    for headers in ({}, {"Authorization": f"Bearer {ADMIN_TOKEN}"}):
        refused = http.get(url, headers=headers, timeout=30)
        assert refused.status_code == 401 and "boards" not in refused.json()
    answered = http.get(url, headers=INTAKE, timeout=30)
    assert answered.status_code == 200 and {b["board"] for b in answered.json()["boards"]} >= {"ABIM", "ABS"}


def test_the_gateways_metrics_and_readiness_are_on_its_operations_port_only(gateway_system: RunningSystem) -> None:
    gateway = gateway_system.system["board-gateway"]
    for path in ("/metrics", "/readyz"):
        assert http.get(gateway.url + path, timeout=30).status_code == 404
        assert http.get(gateway.ops_url + path, timeout=30).status_code == 200
    assert "pars_board_backlog" in http.get(gateway.ops_url + "/metrics", timeout=30).text
    assert http.get(gateway.url + "/healthz", timeout=30).status_code == 200


def test_the_gateways_match_body_is_bounded(gateway_system: RunningSystem) -> None:
    url = gateway_system.system["board-gateway"].url + "/v1/match"
    too_big = http.post(url, content=b'{"board": "NC", "learners": [' + b" " * (2 * 1024 * 1024) + b"]}",
                         headers={"Content-Type": "application/json", **INTAKE}, timeout=30)
    assert too_big.status_code == 413
    assert http.post(url, json={"board": "NC", "learners": [identity("Traci", "Test", "999993", "07/01")]},
                      headers=INTAKE, timeout=30).json()["results"][0]["match"] is True
