"""Web-service credentials and Sandbox PARS (seed S1 350, 462; review G6), through the HTTP API
with real Kafka and PostgreSQL.

A web-service credential is software's, not a person's: it submits through the web service and
reads its submissions, and opens nothing else (not the portal). A sandbox credential's submission
is validated and answered exactly as in production (the same codes for an invalid row, the same
outcome for a valid one) and nothing is stored, sent to a board or counted."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import pytest

from pars_intake.domain.rows import RowInput
from tests.support import http
from tests.support.system import RunningSystem
from tests.support.xmlwrite import records_to_xml

from .helpers import codes, georgia, register_activity, stored_rows

pytestmark = pytest.mark.integration
XML = {"Content-Type": "application/xml"}



def rows_of(activity: str) -> list[RowInput]:
    return [
        georgia(activity),  # valid: Accepted at once
        georgia(activity, date_of_birth="12/01", credit_id="ccid:sandbox.test:2"),  # the board's 664 (sandbox: 718)
        georgia(activity, credit_id=""),  # no CreditID: 650
        georgia(activity, board="ABIM", learner_id_type="ABIM", learner_id="1000105", first_name="Test10",
                last_name="Account10", date_of_birth="02/01", credits="1", credit_types=["ABIM Medical Knowledge"],
                credit_id="ccid:sandbox.test:3"),  # within a day: Submitted
        georgia(activity, credits="999", credit_id="ccid:sandbox.test:4", completion_date="13/45/2020"),  # rules
    ]


def as_json(row: RowInput) -> dict:
    return row.model_dump(exclude={"format_errors"}) | {"credits": float(row.credits or 0)}


def answers(response: httpx.Response) -> list[tuple[int, str | None, list[int]]]:
    assert response.status_code == 200, response.text
    return [(r["row"], r.get("status"), codes(r)) for r in response.json()["rows"]]


def new_key(client: httpx.Client, **body: Any) -> dict:
    response = client.post("/v1/api-keys", json={"label": "LMS", **body})
    assert response.status_code == 201, response.text
    return response.json()


def ledger_entries(system: RunningSystem, provider_id: str, excluding: tuple[str, ...] = ()) -> int:
    async def count() -> int:
        conn = await asyncpg.connect(system.env["DATABASE_URL"])
        try:
            return await conn.fetchval(f"SELECT count(*) FROM {system.namespace}_validator.ledger WHERE provider_id = $1 "
                                       "AND NOT credit_id = ANY($2::text[])", provider_id, list(excluding))
        finally:
            await conn.close()

    return asyncio.run(count())


def searched(client: httpx.Client) -> int:
    return client.get("/v1/learner-records", params={"submitted_from": "2000-01-01",
                                                     "submitted_to": "2100-01-01"}).json()["total"]


@pytest.fixture(scope="module")
def provider(system: RunningSystem) -> dict:
    provider = system.new_provider()
    with system.client(provider["api_key"]) as client:
        provider["activity"] = register_activity(client, {"ABO": ["ABO MOC Part II"], "ABIM": ["ABIM Medical Knowledge"]},
                                                 year=2020, title="Sandbox Ophthalmology")
        provider["service_key"] = new_key(client, kind="web-service")
        provider["sandbox_key"] = new_key(client, kind="web-service", sandbox=True)
    return provider


def test_keys_have_a_kind_and_only_web_service_credentials_are_sandboxes(system: RunningSystem,
                                                                         provider: dict) -> None:
    service, sandbox = provider["service_key"], provider["sandbox_key"]
    assert (service["kind"], service["sandbox"], sandbox["kind"], sandbox["sandbox"]) == (
        "web-service", False, "web-service", True)
    assert service["api_key"].startswith("pars_ws_") and sandbox["api_key"].startswith("pars_sandbox_")
    with system.client(provider["api_key"]) as client:
        listed = {k["key_id"]: (k["kind"], k["sandbox"]) for k in client.get("/v1/api-keys").json()["api_keys"]}
        assert listed[service["key_id"]] == ("web-service", False)
        assert listed[sandbox["key_id"]] == ("web-service", True)
        assert "api_key" not in str(client.get("/v1/api-keys").json()["api_keys"])
        assert client.post("/v1/api-keys", json={"label": "x", "sandbox": True}).status_code == 422
        assert client.post("/v1/api-keys", json={"label": "x", "kind": "robot"}).status_code == 422


def test_a_web_service_credential_submits_and_reads_its_submission_but_opens_nothing_else(
        system: RunningSystem, provider: dict) -> None:
    activity = provider["activity"]
    with system.client(provider["service_key"]["api_key"]) as client:
        document = records_to_xml([georgia(activity, credit_id="ccid:service.test:1")])
        response = client.post("/v1/learner-records", params={"wait": 20}, content=document, headers=XML)
        assert answers(response) == [(1, "Accepted", [])]
        submission = client.get(f"/v1/submissions/{response.json()['submission_id']}")
        assert submission.status_code == 200 and submission.json()["rows"][0]["status"] == "Accepted"
        # The seed's web service submits "activity and participant completion data" (001 346).
        registered = register_activity(client, {"ABO": ["ABO MOC Part II"]}, year=2020, title="From the LMS")
        changed = client.patch(f"/v1/activities/{registered}", json={"title": "From the LMS, changed"})
        assert changed.status_code == 200 and changed.json()["title"] == "From the LMS, changed", changed.text
        for method, path in (("GET", "/v1/activities"), ("GET", "/v1/learner-records?last_name=Smith"),
                             ("GET", "/v1/api-keys"), ("POST", "/v1/api-keys"), ("GET", "/v1/uploads"),
                             ("GET", f"/v1/activities/{activity}")):
            refused = client.request(method, path, json={"label": "more"} if method == "POST" else None)
            assert refused.status_code == 403, (method, path, refused.text)
            assert "web-service credential" in refused.json()["detail"]
    # The portal: signing in with it is refused and opens no session.
    with http.Client(base_url=system.url, timeout=30) as browser:
        browser.get("/portal/sign-in")
        signed = browser.post("/portal/sign-in", data={"api_key": provider["service_key"]["api_key"]},
                              headers={"Origin": system.url})
        assert signed.status_code == 403 and "web-service credential" in signed.text
        assert not browser.cookies


def test_sandbox_answers_like_production_and_stores_nothing(system: RunningSystem, provider: dict) -> None:
    activity, provider_id = provider["activity"], provider["provider_id"]
    document = records_to_xml(rows_of(activity))
    with system.client(provider["sandbox_key"]["api_key"]) as sandbox, system.client(provider["api_key"]) as user:
        before = (stored_rows(system, provider_id), ledger_entries(system, provider_id), searched(user))

        first = sandbox.post("/v1/learner-records", content=document, headers=XML)  # no ?wait= needed
        assert first.json()["sandbox"] is True and first.json()["submission_id"] is None
        assert all(r["record_id"] is None for r in first.json()["rows"])
        after = (stored_rows(system, provider_id), ledger_entries(system, provider_id), searched(user))
        assert after == before, "the sandbox stored something"

        production = user.post("/v1/learner-records", params={"wait": 20}, content=document, headers=XML)
        # The board's refusal is 718 in the sandbox, as learner match answers it (security review N3:
        # it tells no date of birth); the real submission gets the board's own 664.
        assert answers(first)[1] == (2, None, [718]) and 664 in answers(production)[1][2]
        # ABIM runs every four simulated hours (4 s here): by the time production's last row has its
        # first outcome, the run may still have decided this one. The sandbox never reaches the board.
        assert answers(first)[3] == (4, "Submitted", []) and answers(production)[3] in (
            (4, "Submitted", []), (4, "Accepted", []))
        same = [0, 2, 4]
        assert [answers(first)[i] for i in same] == [answers(production)[i] for i in same]
        # Errors carry the same guidance as production's (A39), word for word.
        def errors(response: httpx.Response) -> list[list[dict]]:
            return [r.get("errors", []) for i, r in enumerate(response.json()["rows"]) if i != 1]
        assert errors(first) == errors(production) and any(errors(first))
        assert all(e["resolution"] for row_errors in errors(first) for e in row_errors)
        assert answers(production)[0] == (1, "Accepted", [])
        assert 664 in answers(production)[1][2] and 650 in answers(production)[2][2] and answers(production)[4][2]

        # Against the provider's ledger: the same rows again are now duplicates, in the sandbox as in production.
        # (Counting only the entries no later event changes: the validator forgets the 664 row's entry
        # when it reads the board's refusal, which may come after intake showed the outcome, and ABIM
        # decides its row within a simulated day, which may end meanwhile; a rejection frees an entry.)
        deciding = tuple(rows_of(activity)[i].credit_id or "" for i in (1, 3))
        before = (stored_rows(system, provider_id), ledger_entries(system, provider_id, deciding), searched(user))
        again = sandbox.post("/v1/learner-records", json={"records": [as_json(rows_of(activity)[0])]})
        assert (stored_rows(system, provider_id), ledger_entries(system, provider_id, deciding), searched(user)) == before
        production_again = user.post("/v1/learner-records", params={"wait": 20},
                                     json={"records": [as_json(rows_of(activity)[0])]})
        assert answers(again) == answers(production_again) and answers(again)[0][2], answers(again)

    with system.client(provider["sandbox_key"]["api_key"]) as sandbox:
        refused = sandbox.get(f"/v1/submissions/{production.json()['submission_id']}")
        assert refused.status_code == 403 and "Sandbox PARS" in refused.json()["detail"]
        no_activity = sandbox.post("/v1/activities", json={"title": "x"})
        assert no_activity.status_code == 403 and "cannot register" in no_activity.json()["detail"]
