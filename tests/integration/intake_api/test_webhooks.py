"""Standard Webhooks from the provider's side: an endpoint registered through the API receives
an event queued with `enqueue` (in a real PostgreSQL transaction), signed so that the
`standardwebhooks` package verifies it; a receiver answering 500 for a while gets it later with
the same webhook-id; one that never succeeds has its endpoint disabled and the provider e-mailed.
The system runs the retry schedule 32,400 times faster (3 days in 8 s: WEBHOOK_TIME_SCALE in
conftest.py) and in demo mode, so that http:// to the test's loopback receiver is allowed."""

from __future__ import annotations

import asyncio
import itertools
import re
import uuid
from contextlib import closing
from importlib import resources
from typing import Any

import asyncpg
import orjson
from standardwebhooks import Webhook

from pars_intake.store import webhooks as store
from pars_intake.webhooks import WebhookEvent, enqueue_many
from tests.support import http
from tests.support.system import RunningSystem, eventually
from tests.support.webhook_receiver import Receiver

from .helpers import georgia, register_activity
from .test_portal_cookie import sign_in

EVENT = "learner_record.status_changed"


def queue_event(system: RunningSystem, provider_id: str, payload: dict[str, Any], event_type: str = EVENT,
                rollback: bool = False) -> str:
    """Queues one event as the outcome code does: in a transaction of its own on intake's schema."""
    event_id = uuid.uuid4().hex
    queue_events(system, [WebhookEvent(provider_id, event_type, event_id, payload)], rollback)
    return event_id


def queue_events(system: RunningSystem, events: list[WebhookEvent], rollback: bool = False) -> None:
    """Calls `enqueue_many` as a consumer batch does, in one transaction."""

    async def run() -> None:
        conn = await asyncpg.connect(system.env["DATABASE_URL"],
                                     server_settings={"search_path": f"{system.namespace}_intake"})
        try:
            transaction = conn.transaction()
            await transaction.start()
            await enqueue_many(conn, events)
            await (transaction.rollback() if rollback else transaction.commit())
        finally:
            await conn.close()

    asyncio.run(run())


def register(client: Any, url: str, **extra: Any) -> dict:
    response = client.post("/v1/webhook-endpoints", json={"url": url, "description": "LMS", **extra})
    assert response.status_code == 201, response.text
    return response.json()


def deliveries(client: Any, endpoint_id: str) -> list[dict]:
    response = client.get(f"/v1/webhook-endpoints/{endpoint_id}/deliveries")
    assert response.status_code == 200, response.text
    return response.json()["deliveries"]


def test_a_receiver_down_for_a_while_gets_the_signed_event_later_with_the_same_id(system: RunningSystem) -> None:
    provider = system.new_provider()
    with system.client(provider["api_key"]) as client, Receiver(iter([500, 500, 503])) as receiver:
        endpoint = register(client, receiver.url)
        assert endpoint["secret"].startswith("whsec_") and endpoint["enabled"]
        payload = {"record_id": "r-1", "status": "Accepted", "channel": "service", "credit_id": "ccid:lms.org:1"}
        queue_event(system, provider["provider_id"], payload)

        (delivered,) = eventually(lambda: receiver.answered(200), timeout=30, what="the event delivered")
        assert Webhook(endpoint["secret"]).verify(delivered.body, delivered.headers) == {
            "type": EVENT, "timestamp": orjson.loads(delivered.body)["timestamp"], "data": payload}
        assert [r.answered for r in receiver.received] == [500, 500, 503, 200]
        assert {r.headers["webhook-id"] for r in receiver.received} == {delivered.headers["webhook-id"]}

        (delivery,) = eventually(lambda: [d for d in deliveries(client, endpoint["id"]) if d["status"] == "delivered"],
                                 what="the delivery shown as delivered")
        assert delivery["id"] == delivered.headers["webhook-id"]
        assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 503, 200]
        assert delivery["attempts"][0]["response_excerpt"] == "receiver down for maintenance"
        metrics = http.get(f"{system.ops_url}/metrics").text
        assert 'pars_webhook_attempts_total{outcome="retried"}' in metrics
        assert 'pars_webhook_attempts_total{outcome="delivered"}' in metrics

        # Resending sends the same event, with the same id, once more.
        assert client.post(f"/v1/webhook-endpoints/{endpoint['id']}/deliveries/{delivery['id']}/resend").status_code == 202
        again = eventually(lambda: receiver.answered(200)[1:], what="the resent delivery")
        assert again[0].headers["webhook-id"] == delivery["id"] and again[0].body == delivered.body


def test_a_batch_of_events_goes_to_each_providers_endpoints_that_take_its_type_once(system: RunningSystem) -> None:
    """A consumer batch's status changes of several providers are queued together: each event
    reaches only its own provider's endpoints, only those that take its type, once, even when
    the batch is handled again (a redelivery)."""
    first, second = system.new_provider(), system.new_provider()
    with system.client(first["api_key"]) as a, system.client(second["api_key"]) as b, Receiver(iter([])) as receiver:
        every_type = register(a, receiver.url)
        other_only = register(a, receiver.url, events=["other.event"])
        seconds = register(b, receiver.url, events=[EVENT])
        batch = [WebhookEvent(first["provider_id"], EVENT, uuid.uuid4().hex, {"n": 1}),
                 WebhookEvent(second["provider_id"], EVENT, uuid.uuid4().hex, {"n": 2}),
                 WebhookEvent(first["provider_id"], "other.event", uuid.uuid4().hex, {"n": 3}),
                 WebhookEvent(second["provider_id"], "other.event", uuid.uuid4().hex, {"n": 4})]
        queue_events(system, batch)
        queue_events(system, batch)  # handled again: nothing new

        def queued(client: Any, endpoint: dict) -> list[str]:
            return sorted(d["event_id"] for d in deliveries(client, endpoint["id"]))

        assert queued(a, every_type) == sorted([batch[0].event_id, batch[2].event_id])
        assert queued(a, other_only) == [batch[2].event_id]
        assert queued(b, seconds) == [batch[1].event_id]
        eventually(lambda: len(receiver.answered(200)) == 4, timeout=30, what="the four deliveries sent")
        assert sorted(orjson.loads(r.body)["data"]["n"] for r in receiver.answered(200)) == [1, 2, 3, 3]


def test_a_web_service_records_decision_reaches_the_providers_endpoint(system: RunningSystem) -> None:
    """The whole path: software submits a record through the web service; the board's decision
    (ABO decides at once) is the record's status change, queued with its outbox message and
    delivered, signed, to the endpoint the provider registered."""
    provider = system.new_provider()
    with system.client(provider["api_key"]) as client, Receiver(iter([])) as receiver:
        endpoint = register(client, receiver.url, events=[EVENT])
        activity = register_activity(client, {"ABO": ["ABO MOC Part II"]}, year=2020)
        made = client.post("/v1/api-keys", json={"label": "LMS", "kind": "web-service"})
        assert made.status_code == 201, made.text
        row = georgia(activity).model_dump(exclude={"format_errors"}) | {"credits": 4.0}
        with system.client(made.json()["api_key"]) as lms:
            answer = lms.post("/v1/learner-records", json={"records": [row]})
        assert answer.status_code == 202, answer.text
        (record,) = answer.json()["rows"]

        (got,) = eventually(lambda: receiver.answered(200), timeout=30, what="the record's decision delivered")
        event = Webhook(endpoint["secret"]).verify(got.body, got.headers)
        assert event["type"] == EVENT
        assert {k: event["data"][k] for k in ("record_id", "provider_id", "status", "channel", "credit_id", "sequence")} == {
            "record_id": record["record_id"], "provider_id": provider["provider_id"], "status": "Accepted",
            "channel": "web-service", "credit_id": row["credit_id"], "sequence": 1}, event["data"]["errors"]
        assert client.get(f"/v1/learner-records/{record['record_id']}").json()["status"] == "Accepted"


def test_endpoints_are_listed_without_secrets_rotated_disabled_and_deleted(system: RunningSystem) -> None:
    provider = system.new_provider()
    with system.client(provider["api_key"]) as client, Receiver(iter([])) as receiver:
        endpoint = register(client, receiver.url, events=[EVENT])
        other = register(client, receiver.url, events=["something.else"])
        listed = client.get("/v1/webhook-endpoints").json()["webhook_endpoints"]
        assert [e["id"] for e in listed] == [endpoint["id"], other["id"]]
        assert "secret" not in str(listed) and endpoint["secret"] not in str(listed)

        rotated = client.post(f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret").json()
        assert rotated["secret"].startswith("whsec_") and rotated["secret"] != endpoint["secret"]
        queue_event(system, provider["provider_id"], {"n": 1})
        queue_event(system, provider["provider_id"], {"n": 2}, rollback=True)  # rolled back: nothing queued
        (got,) = eventually(lambda: receiver.answered(200), what="the event after rotation")
        for secret in (rotated["secret"], endpoint["secret"]):  # the old one still signs for a while
            assert Webhook(secret).verify(got.body, got.headers)["data"] == {"n": 1}
        assert len(deliveries(client, other["id"])) == 0  # it takes another event type only

        assert client.post(f"/v1/webhook-endpoints/{endpoint['id']}/disable").json()["enabled"] is False
        queue_event(system, provider["provider_id"], {"n": 3})
        assert len(deliveries(client, endpoint["id"])) == 1  # nothing queued for a disabled endpoint

        assert client.delete(f"/v1/webhook-endpoints/{endpoint['id']}").status_code == 204
        assert client.get(f"/v1/webhook-endpoints/{endpoint['id']}").status_code == 404
        assert len(receiver.received) == 1


def test_bad_urls_and_other_credentials_are_refused(system: RunningSystem) -> None:
    provider, stranger = system.new_provider(), system.new_provider()
    with system.client(provider["api_key"]) as client:
        for url, why in (("http://lms.example.org/hooks", "https://"), ("https://u:p@lms.example.org/", "password")):
            response = client.post("/v1/webhook-endpoints", json={"url": url})
            assert response.status_code == 422 and why in response.json()["detail"], response.text
        endpoint = register(client, "https://lms.example.org/hooks")
        service = client.post("/v1/api-keys", json={"label": "LMS", "kind": "web-service"}).json()["api_key"]
    with system.client(service) as software:
        assert software.get("/v1/webhook-endpoints").status_code == 403
    with system.client(stranger["api_key"]) as other:
        assert other.post(f"/v1/webhook-endpoints/{endpoint['id']}/disable").status_code == 404
        assert other.get("/v1/webhook-endpoints").json()["webhook_endpoints"] == []


def test_an_endpoint_failing_for_the_whole_window_is_disabled_and_the_provider_emailed(system: RunningSystem) -> None:
    provider = system.new_provider()
    with system.client(provider["api_key"]) as client, Receiver(itertools.repeat(500)) as receiver:
        endpoint = register(client, receiver.url)
        queue_event(system, provider["provider_id"], {"n": 1})
        disabled = eventually(lambda: not client.get(f"/v1/webhook-endpoints/{endpoint['id']}").json()["enabled"],
                              timeout=60, what="the endpoint disabled")
        assert disabled
        (delivery,) = deliveries(client, endpoint["id"])
        assert delivery["status"] == "failed" and len(delivery["attempts"]) == len(receiver.received) > 5
        assert {r.headers["webhook-id"] for r in receiver.received} == {delivery["id"]}
        recipient = provider["notification_emails"][0]
        (mail,) = eventually(lambda: system.mails(lambda m: recipient in str(m["To"])
                                                  and "webhook endpoint disabled" in str(m["Subject"])),
                             timeout=60, what="the e-mail about the disabled endpoint")
        assert receiver.url in str(mail["Subject"])
        # Resending needs the endpoint enabled.
        resend = f"/v1/webhook-endpoints/{endpoint['id']}/deliveries/{delivery['id']}/resend"
        assert client.post(resend).status_code == 409
        assert client.post(f"/v1/webhook-endpoints/{endpoint['id']}/enable").json()["enabled"] is True
        assert client.post(resend).status_code == 202


def test_the_portal_manages_endpoints_and_shows_deliveries_with_a_resend_button(system: RunningSystem) -> None:
    provider = system.new_provider()
    with closing(sign_in(system, provider["api_key"])) as browser, Receiver(iter([500])) as receiver:
        page = browser.post("/portal/webhooks", data={"url": receiver.url, "description": "LMS"})
        assert page.status_code == 201, page.text
        secret = re.search(r'id="new-secret" type="text" readonly value="(whsec_[^"]+)"', page.text)
        assert secret and "it will not be shown again" in page.text
        listed = browser.get("/portal/webhooks").text
        assert receiver.url in listed and secret[1] not in listed
        endpoint_id = re.search(r'href="/portal/webhooks/(we_[0-9a-f]+)"', listed)[1]  # type: ignore[index]

        queue_event(system, provider["provider_id"], {"n": 1})
        (got,) = eventually(lambda: receiver.answered(200), what="the event delivered")
        Webhook(secret[1]).verify(got.body, got.headers)
        def shown_delivered() -> str | None:
            text = browser.get(f"/portal/webhooks/{endpoint_id}").text
            return text if "Delivered" in text else None

        deliveries_page = eventually(shown_delivered, what="the delivery shown as delivered")
        assert got.headers["webhook-id"] in deliveries_page and "500, 200" in deliveries_page
        resend = f"/portal/webhooks/{endpoint_id}/deliveries/{got.headers['webhook-id']}/resend"
        assert 'action="' + resend + '"' in deliveries_page
        assert browser.post(resend, headers={"origin": "https://evil.example"}).status_code == 403  # CSRF
        assert browser.post(resend).status_code == 303
        eventually(lambda: receiver.answered(200)[1:], what="the resent delivery")

        assert browser.post(f"/portal/webhooks/{endpoint_id}/disable").status_code == 303
        assert "Disabled: Disabled by the provider." in browser.get("/portal/webhooks").text
        refused = browser.post("/portal/webhooks", data={"url": "http://lms.example.org/"})
        assert refused.status_code == 422 and "https://" in refused.text
        assert browser.post(f"/portal/webhooks/{endpoint_id}/delete").status_code == 303
        assert browser.get(f"/portal/webhooks/{endpoint_id}").status_code == 404


def test_instances_claim_due_deliveries_without_taking_the_same_one(system: RunningSystem) -> None:
    """N instances: concurrent claims (SKIP LOCKED) share the due rows, none twice, and a claimed
    row is not due again until its lease ends; a late result of a re-claimed attempt is dropped.
    In a schema of its own, away from the running system's own deliverer."""
    schema = f"webhooks_claims_{uuid.uuid4().hex[:8]}"
    migration = resources.files("pars_intake").joinpath("migrations/015_webhooks.sql").read_text()

    async def run() -> tuple[list[list[str]], list[str], bool]:
        admin = await asyncpg.connect(system.env["DATABASE_URL"])
        await admin.execute(f"CREATE SCHEMA {schema}")
        try:
            pools = [await asyncpg.create_pool(system.env["DATABASE_URL"], min_size=1, max_size=2,
                                               server_settings={"search_path": schema}) for _ in range(2)]
            async with pools[0].acquire() as conn:
                await conn.execute("CREATE TABLE providers (provider_id text PRIMARY KEY)")
                await conn.execute(migration)
                await conn.execute("INSERT INTO providers VALUES ('1234567')")
                await conn.execute("INSERT INTO webhook_endpoints (endpoint_id, provider_id, url, secret) "
                                   "VALUES ('we_1', '1234567', 'https://lms.example.org/', 'whsec_x')")
                await store.add_deliveries(conn, [(f"msg_{n}", "we_1", "1234567", EVENT, f"e{n}", "{}")
                                                  for n in range(6)])
            claims = await asyncio.gather(*(store.claim_due(pool, 4, 60) for pool in pools))
            again = await store.claim_due(pools[0], 10, 60)
            async with pools[1].acquire() as conn, conn.transaction():
                stale = await store.record_attempt(conn, claims[0][0]["delivery_id"], 0, 200, "", None)
            for pool in pools:
                await pool.close()
            return [[d["delivery_id"] for d in claim] for claim in claims], [d["delivery_id"] for d in again], stale
        finally:
            await admin.execute(f"DROP SCHEMA {schema} CASCADE")
            await admin.close()

    claims, again, stale = asyncio.run(run())
    claimed = claims[0] + claims[1]
    assert sorted(claimed) == [f"msg_{n}" for n in range(6)]  # every due row once, by one of them
    assert again == [] and stale is False
