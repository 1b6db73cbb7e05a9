"""Credentials split (review N8, N10, L6), on a running system with plain HTTP: the admin API
refuses the service token; every internal endpoint of the other services (the gateway's match and
backlog, the validator's validation, the notifier's e-mail queue) refuses the admin token and
answers the service token; intake's provider port serves neither /metrics, /readyz nor the API
document, which answer on its operations port."""

from __future__ import annotations

import pytest

from tests.support import http
from tests.support.system import ADMIN_TOKEN, SERVICE_TOKEN, RunningSystem


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_admin_api_refuses_the_service_token(system: RunningSystem) -> None:
    body = {"name": "Not Made", "user_email": "nobody@example.org", "notification_emails": ["nobody@example.org"]}
    for method, path in (("POST", "/v1/admin/providers"), ("GET", "/v1/admin/dead-letters"),
                         ("GET", "/v1/admin/upstream-credentials"), ("GET", "/v1/admin/ops/summary")):
        refused = http.request(method, system.url + path, json=body if method == "POST" else None,
                                headers=bearer(SERVICE_TOKEN), timeout=30)
        assert refused.status_code == 403, (path, refused.text)
    assert http.get(system.url + "/v1/admin/dead-letters", headers=bearer(ADMIN_TOKEN), timeout=30).status_code == 200


def test_internal_endpoints_refuse_the_admin_token_and_answer_the_service_token(system: RunningSystem) -> None:
    gateway, validator, notifier = (system.system[s].url for s in ("board-gateway", "validator", "notifier"))
    match = {"board": "NC", "learners": [{"first_name": "Traci", "last_name": "Test", "learner_id": "999993",
                                          "date_of_birth": "07/01"}]}
    calls = [("POST", f"{gateway}/v1/match", match, 200), ("GET", f"{gateway}/v1/board-backlog", None, 200),
             ("GET", f"{notifier}/v1/emails", None, 200),
             ("POST", f"{validator}/v1/validate", {"records": []}, 422)]  # 422: past the credential, an empty question
    for method, url, body, answered in calls:
        for headers in ({}, bearer(ADMIN_TOKEN)):
            refused = http.request(method, url, json=body, headers=headers, timeout=30)
            assert refused.status_code == 401, (url, refused.text)
            assert refused.headers["www-authenticate"] == "Bearer"
        assert http.request(method, url, json=body, headers=bearer(SERVICE_TOKEN), timeout=30).status_code == answered, url


def test_metrics_and_readiness_are_off_the_provider_port_and_the_api_document_on_both(system: RunningSystem) -> None:
    for path in ("/metrics", "/readyz"):
        assert http.get(system.url + path, timeout=30).status_code == 404, path
        assert http.get(system.ops_url + path, timeout=30).status_code == 200, path
    # The API document is the providers' Web Services Guide (the upload page links it).
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert http.get(system.url + path, timeout=30).status_code == 200, path
        assert http.get(system.ops_url + path, timeout=30).status_code == 200, path
    assert http.get(system.url + "/healthz", timeout=30).status_code == 200
    # The operations port is no back door to the provider API.
    assert http.get(system.ops_url + "/v1/activities", headers=bearer(ADMIN_TOKEN), timeout=30).status_code == 404


def test_intakes_kafka_user_may_not_grant_rights_and_the_credential_admin_does_only_that(system: RunningSystem) -> None:
    """Review N7: a leak of intake's Kafka password (the user every intake pod consumes and
    produces with) is no longer control of Kafka: it cannot create an ACL. The upstream-credential
    API logs in as the credential admin, which may alter ACLs and read no topic."""
    import asyncio

    from aiokafka import AIOKafkaConsumer
    from aiokafka.errors import KafkaError

    from pars_runtime.kafka_security import Acl, Admin, KafkaSecurityError, client_options, create_acls

    intake = system.system["intake"].env
    servers = intake["KAFKA_BOOTSTRAP_SERVERS"]
    grant = Acl(f"User:{system.namespace}-nobody", "TOPIC", f"{system.namespace}.pars.board.decisions.v1",
                "LITERAL", "WRITE")

    def login(user: str, password: str) -> dict:
        return client_options(intake["KAFKA_SECURITY_PROTOCOL"], "SCRAM-SHA-512", user, password)

    async def create(options: dict) -> None:
        async with Admin(servers, **options) as admin:
            await create_acls(admin, [grant])

    async def read_decisions(options: dict) -> None:
        consumer = AIOKafkaConsumer(f"{system.namespace}.pars.board.decisions.v1", bootstrap_servers=servers,
                                    group_id=f"{system.namespace}-acl-admin-probe", auto_offset_reset="earliest",
                                    **options)
        await consumer.start()
        try:
            await consumer.getmany(timeout_ms=5000)
        finally:
            await consumer.stop()

    with pytest.raises(KafkaSecurityError, match="error 31"):  # CLUSTER_AUTHORIZATION_FAILED
        asyncio.run(create(login(intake["KAFKA_USERNAME"], intake["KAFKA_PASSWORD"])))
    admin = login(intake["KAFKA_ACL_ADMIN_USERNAME"], intake["KAFKA_ACL_ADMIN_PASSWORD"])
    with pytest.raises(KafkaError):  # no topic, no group: it reads nothing
        asyncio.run(read_decisions(admin))
    # Upstream credentials still work end to end (they are made by the credential admin).
    provider = system.new_provider(name="Credential Admin CME")
    with system.admin() as client:
        made = client.post("/v1/admin/upstream-credentials", json={"provider_ids": [provider["provider_id"]]})
        assert made.status_code == 201, made.text
        assert client.delete(f"/v1/admin/upstream-credentials/{made.json()['credential_id']}").status_code == 200


def test_each_service_logs_in_to_postgresql_as_a_role_that_reads_only_its_own_schema(system: RunningSystem) -> None:
    """Review N11: the launcher gives each service a role of its own, owner of its schema only."""
    import asyncio

    import asyncpg

    async def check() -> None:
        urls = {name: system.system[name].env["DATABASE_URL"] for name in ("intake", "validator", "notifier")}
        assert len(set(urls.values()) | {system.env["DATABASE_URL"]}) == 4  # none shares the stack's login
        conn = await asyncpg.connect(urls["validator"])
        try:
            assert await conn.fetchval("SELECT current_user") == f"pars_{system.namespace}_validator"
            await conn.fetchval(f'SELECT count(*) FROM "{system.namespace}_validator".schema_migrations')
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetchval(f'SELECT count(*) FROM "{system.namespace}_intake".records')
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(f'CREATE SCHEMA "{system.namespace}_elsewhere"')
        finally:
            await conn.close()

    asyncio.run(check())
