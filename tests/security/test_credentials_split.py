"""Credentials split (review N8, N10, L6), on a running system with plain HTTP: the admin API
refuses the service token; every internal endpoint of the other services (the gateway's match and
backlog, the validator's validation, the notifier's e-mail queue) refuses the admin token and
answers the service token; intake's provider port serves neither /metrics, /readyz nor the API
document, which answer on its operations port."""

from __future__ import annotations

import httpx

from tests.support.system import ADMIN_TOKEN, SERVICE_TOKEN, RunningSystem


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_admin_api_refuses_the_service_token(system: RunningSystem) -> None:
    body = {"name": "Not Made", "user_email": "nobody@example.org", "notification_emails": ["nobody@example.org"]}
    for method, path in (("POST", "/v1/admin/providers"), ("GET", "/v1/admin/dead-letters"),
                         ("GET", "/v1/admin/upstream-credentials"), ("GET", "/v1/admin/ops/summary")):
        refused = httpx.request(method, system.url + path, json=body if method == "POST" else None,
                                headers=bearer(SERVICE_TOKEN), timeout=30)
        assert refused.status_code == 403, (path, refused.text)
    assert httpx.get(system.url + "/v1/admin/dead-letters", headers=bearer(ADMIN_TOKEN), timeout=30).status_code == 200


def test_internal_endpoints_refuse_the_admin_token_and_answer_the_service_token(system: RunningSystem) -> None:
    gateway, validator, notifier = (system.system[s].url for s in ("board-gateway", "validator", "notifier"))
    match = {"board": "NC", "learners": [{"first_name": "Traci", "last_name": "Test", "learner_id": "999993",
                                          "date_of_birth": "07/01"}]}
    calls = [("POST", f"{gateway}/v1/match", match, 200), ("GET", f"{gateway}/v1/board-backlog", None, 200),
             ("GET", f"{notifier}/v1/emails", None, 200),
             ("POST", f"{validator}/v1/validate", {"records": []}, 422)]  # 422: past the credential, an empty question
    for method, url, body, answered in calls:
        for headers in ({}, bearer(ADMIN_TOKEN)):
            refused = httpx.request(method, url, json=body, headers=headers, timeout=30)
            assert refused.status_code == 401, (url, refused.text)
            assert refused.headers["www-authenticate"] == "Bearer"
        assert httpx.request(method, url, json=body, headers=bearer(SERVICE_TOKEN), timeout=30).status_code == answered, url


def test_metrics_readiness_and_the_api_document_are_off_the_provider_port(system: RunningSystem) -> None:
    for path in ("/metrics", "/readyz", "/openapi.json", "/docs"):
        assert httpx.get(system.url + path, timeout=30).status_code == 404, path
        assert httpx.get(system.ops_url + path, timeout=30).status_code == 200, path
    assert httpx.get(system.url + "/healthz", timeout=30).status_code == 200
    # The operations port is no back door to the provider API.
    assert httpx.get(system.ops_url + "/v1/activities", headers=bearer(ADMIN_TOKEN), timeout=30).status_code == 404
