"""The portal's session: signing in with an API key opens a server-side session whose random id
(not the key) is the cookie; it authenticates reads, a data-changing request with only the cookie
must carry the portal's header (CSRF), and signing out ends it for good. The provider's API keys:
listed, created and revoked by admin keys only, with roles, expiry and revocation that takes the
keys a key minted with it."""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from tests.support import http
from tests.support.system import RunningSystem


def sign_in(system: RunningSystem, key: str) -> httpx.Client:
    browser = http.Client(base_url=system.url, timeout=30)
    answer = browser.post("/portal/sign-in", data={"api_key": key, "next": "/portal/activities"})
    assert answer.status_code == 303, answer.text
    return browser


def sessions(system: RunningSystem, digest: str) -> int:
    async def count() -> int:
        conn = await asyncpg.connect(system.env["DATABASE_URL"])
        try:
            return await conn.fetchval(f"SELECT count(*) FROM {system.namespace}_intake.portal_sessions "
                                       "WHERE session_hash = $1", digest)
        finally:
            await conn.close()

    return asyncio.run(count())


def test_sign_in_opens_a_server_side_session_and_sign_out_revokes_it(system: RunningSystem) -> None:
    key = system.new_provider()["api_key"]
    browser = sign_in(system, key)
    cookie = browser.cookies.get("pars_session")  # http on loopback: the plain name
    assert cookie and cookie != key and key not in str(browser.cookies.jar)
    again = http.post(f"{system.url}/portal/sign-in", data={"api_key": key}, timeout=30)
    set_cookie = again.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=strict" in set_cookie and "path=/" in set_cookie
    assert "secure" not in set_cookie  # http on loopback (the demo): a browser would not keep it
    digest = hashlib.sha256(cookie.encode()).hexdigest()
    assert sessions(system, digest) == 1  # stored hashed: the cookie's value is not in the table
    assert browser.get("/v1/activities").status_code == 200

    stolen = dict(browser.cookies)
    assert browser.post("/portal/sign-out").status_code == 303
    assert sessions(system, digest) == 0
    with http.Client(base_url=system.url, cookies=stolen, timeout=30) as replay:
        assert replay.get("/v1/activities").status_code == 401
        page = replay.get("/portal/activities")
        assert page.status_code == 303 and page.headers["location"].startswith("/portal/sign-in")
    # The API key itself is no cookie credential.
    with http.Client(base_url=system.url, cookies={"pars_key": key, "pars_session": key}, timeout=30) as old:
        assert old.get("/v1/activities").status_code == 401


def test_cookie_writes_need_the_portal_header(system: RunningSystem) -> None:
    key = system.new_provider()["api_key"]
    body = {"records": [{"activity_id": "300000001", "board": "ABO", "action": "Add"}]}
    browser = sign_in(system, key)
    assert browser.get("/v1/activities").status_code == 200
    refused = browser.post("/v1/learner-records", json=body)
    assert refused.status_code == 403 and "portal" in refused.json()["detail"]
    assert browser.post("/v1/learner-records", json=body, headers={"X-PARS-Portal": "1"}).status_code == 202


def test_outside_loopback_the_cookie_is_secure_and_host_prefixed(system: RunningSystem) -> None:
    key = system.new_provider()["api_key"]
    # As behind a TLS proxy that forwards plain HTTP for the public name.
    answer = http.post(f"{system.url}/portal/sign-in", data={"api_key": key},
                        headers={"Host": "pars.example.org", "Origin": "https://pars.example.org"}, timeout=30)
    assert answer.status_code == 303, answer.text
    set_cookie = answer.headers["set-cookie"]
    assert set_cookie.startswith("__Host-pars_session=") and "; secure" in set_cookie.lower()
    assert "domain=" not in set_cookie.lower()


def test_providers_list_create_and_revoke_their_own_keys(system: RunningSystem) -> None:
    first = system.new_provider()
    other = system.new_provider()
    with system.client(first["api_key"]) as client, system.client(other["api_key"]) as stranger:
        listed = client.get("/v1/api-keys").json()["api_keys"]
        assert [(k["label"], k["current"]) for k in listed] == [("First key", True)]
        assert set(listed[0]) == {"key_id", "label", "kind", "sandbox", "role", "user_email", "created_at",
                                    "expires_at", "created_by_key", "last_used_at", "current"}
        assert (listed[0]["role"], listed[0]["expires_at"], listed[0]["created_by_key"]) == ("admin", None, None)
        assert listed[0]["last_used_at"] is not None
        created = client.post("/v1/api-keys", json={"label": "LMS nightly export"})
        assert created.status_code == 201, created.text
        new = created.json()
        assert new["api_key"].startswith("pars_") and new["label"] == "LMS nightly export"
        listing = client.get("/v1/api-keys").text
        assert new["api_key"] not in listing and first["api_key"] not in listing  # never shown again
        with system.client(new["api_key"]) as second:
            assert second.get("/v1/activities").status_code == 200
            # Another provider can neither see nor revoke it.
            assert new["key_id"] not in stranger.get("/v1/api-keys").text
            assert stranger.delete(f"/v1/api-keys/{new['key_id']}").status_code == 404
            assert client.delete(f"/v1/api-keys/{new['key_id']}").status_code == 204
            assert second.get("/v1/activities").status_code == 401  # at once
            assert client.delete(f"/v1/api-keys/{new['key_id']}").status_code == 404
        assert client.post("/v1/api-keys", json={"label": ""}).status_code == 422
        assert client.post("/v1/api-keys", json={"label": "x", "api_key": "mine"}).status_code == 422
    # Revoking a key ends the portal sessions opened with it.
    browser = sign_in(system, first["api_key"])
    with system.client(first["api_key"]) as client:
        key_id = client.get("/v1/api-keys").json()["api_keys"][0]["key_id"]
        spare = client.post("/v1/api-keys", json={"label": "spare", "role": "admin"}).json()["api_key"]
    with system.client(spare) as client:
        assert client.delete(f"/v1/api-keys/{key_id}").status_code == 204
    assert browser.get("/v1/activities").status_code == 401


def test_key_roles_decide_who_submits_and_who_manages_keys(system: RunningSystem) -> None:
    made = system.new_provider()
    with system.client(made["api_key"]) as admin:
        def make(**body: object) -> dict:
            answer = admin.post("/v1/api-keys", json={"label": "key", **body})
            assert answer.status_code == 201, answer.text
            return answer.json()

        reader, staff = make(label="auditor", role="read"), make(label="staff")
        service = make(label="LMS", kind="web-service")
        assert (reader["role"], staff["role"], service["role"]) == ("read", "submit", "submit")
        assert staff["created_by_key"] == admin.get("/v1/api-keys").json()["api_keys"][0]["key_id"]
        refused = admin.post("/v1/api-keys", json={"label": "x", "kind": "web-service", "role": "admin"})
        assert refused.status_code == 422
    activity = {"activity_id": "x", "title": "t"}
    with system.client(reader["api_key"]) as client:
        assert client.get("/v1/activities").status_code == 200
        for answer in (client.post("/v1/activities", json=activity),
                       client.post("/v1/learner-records", json={"records": []})):
            assert answer.status_code == 403 and "may only read" in answer.json()["detail"]
        assert client.get("/v1/api-keys").status_code == 403
    with system.client(staff["api_key"]) as client:
        listing = client.get("/v1/api-keys")
        assert listing.status_code == 403 and "Only an admin key" in listing.json()["detail"]
        assert client.delete(f"/v1/api-keys/{reader['key_id']}").status_code == 403
        assert client.post("/v1/api-keys", json={"label": "mine", "role": "admin"}).status_code == 403
    with system.client(service["api_key"]) as client:
        assert client.get("/v1/api-keys").status_code == 403
    # A portal session has the role of the key it was opened with.
    browser = sign_in(system, staff["api_key"])
    assert browser.get("/portal/api-keys").status_code == 403
    assert browser.post("/v1/api-keys", json={"label": "s"}, headers={"X-Pars-Portal": "1"}).status_code == 403
    reading = sign_in(system, reader["api_key"])
    assert reading.get("/portal/activities").status_code == 200
    changed = reading.post("/portal/notifications", data={"notification_emails": "someone@example.org"})
    assert changed.status_code == 403 and "may only read" in changed.text
    assert reading.post("/v1/activities", json=activity, headers={"X-Pars-Portal": "1"}).status_code == 403


def test_a_key_stops_at_its_expiry(system: RunningSystem) -> None:
    made = system.new_provider()
    with system.client(made["api_key"]) as admin:
        past = admin.post("/v1/api-keys", json={"label": "x", "expires_at": "2020-01-01T00:00:00Z"})
        assert past.status_code == 422
        assert admin.post("/v1/api-keys", json={"label": "x", "expires_at": "2099-01-01T00:00:00"}).status_code == 422
        ends = datetime.now(UTC) + timedelta(seconds=3)
        brief = admin.post("/v1/api-keys", json={"label": "contractor", "expires_at": ends.isoformat()}).json()
        assert datetime.fromisoformat(brief["expires_at"]) == ends
    with system.client(brief["api_key"]) as client:
        assert client.get("/v1/activities").status_code == 200
        time.sleep(max(0.0, (ends - datetime.now(UTC)).total_seconds()) + 0.5)
        expired = client.get("/v1/activities")
        assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    refused = http.post(f"{system.url}/portal/sign-in", data={"api_key": brief["api_key"]}, timeout=30)
    assert refused.status_code == 401 and "expired" in refused.text


def test_revoking_a_key_revokes_the_keys_it_minted_directly_or_through_the_portal(system: RunningSystem) -> None:
    made = system.new_provider()
    with system.client(made["api_key"]) as admin:
        deputy = admin.post("/v1/api-keys", json={"label": "deputy", "role": "admin"}).json()
        bystander = admin.post("/v1/api-keys", json={"label": "bystander"}).json()
    with system.client(deputy["api_key"]) as client:
        child = client.post("/v1/api-keys", json={"label": "LMS", "kind": "web-service"}).json()
    browser = sign_in(system, deputy["api_key"])
    via_portal = browser.post("/v1/api-keys", json={"label": "grandchild", "role": "admin"},
                              headers={"X-Pars-Portal": "1"}).json()
    assert (child["created_by_key"], via_portal["created_by_key"]) == (deputy["key_id"], deputy["key_id"])
    with system.client(via_portal["api_key"]) as client:
        grandchild = client.post("/v1/api-keys", json={"label": "third generation"}).json()
    assert grandchild["created_by_key"] == via_portal["key_id"]

    with system.client(made["api_key"]) as admin:
        assert admin.delete(f"/v1/api-keys/{deputy['key_id']}").status_code == 204
        left = {k["label"] for k in admin.get("/v1/api-keys").json()["api_keys"]}
    assert left == {"First key", "bystander"}
    for key in (deputy, child, via_portal, grandchild):
        with system.client(key["api_key"]) as client:
            assert client.get("/v1/submissions/none").status_code == 401, key["label"]
    assert browser.get("/v1/activities").status_code == 401
    with system.client(bystander["api_key"]) as client:
        assert client.get("/v1/activities").status_code == 200
