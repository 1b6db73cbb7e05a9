"""The portal's session: signing in with an API key opens a server-side session whose random id
(not the key) is the cookie; it authenticates reads, a data-changing request with only the cookie
must carry the portal's header (CSRF), and signing out ends it for good."""

from __future__ import annotations

import asyncio
import hashlib

import asyncpg
import httpx

from tests.support.system import RunningSystem


def sign_in(system: RunningSystem, key: str) -> httpx.Client:
    browser = httpx.Client(base_url=system.url, timeout=30)
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
    again = httpx.post(f"{system.url}/portal/sign-in", data={"api_key": key}, timeout=30)
    set_cookie = again.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=strict" in set_cookie and "path=/" in set_cookie
    assert "secure" not in set_cookie  # http on loopback (the demo): a browser would not keep it
    digest = hashlib.sha256(cookie.encode()).hexdigest()
    assert sessions(system, digest) == 1  # stored hashed: the cookie's value is not in the table
    assert browser.get("/v1/activities").status_code == 200

    stolen = dict(browser.cookies)
    assert browser.post("/portal/sign-out").status_code == 303
    assert sessions(system, digest) == 0
    with httpx.Client(base_url=system.url, cookies=stolen, timeout=30) as replay:
        assert replay.get("/v1/activities").status_code == 401
        page = replay.get("/portal/activities")
        assert page.status_code == 303 and page.headers["location"].startswith("/portal/sign-in")
    # The API key itself is no cookie credential.
    with httpx.Client(base_url=system.url, cookies={"pars_key": key, "pars_session": key}, timeout=30) as old:
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
    answer = httpx.post(f"{system.url}/portal/sign-in", data={"api_key": key},
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
        assert set(listed[0]) == {"key_id", "label", "kind", "sandbox", "user_email", "created_at", "last_used_at",
                                    "current"}
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
        spare = client.post("/v1/api-keys", json={"label": "spare"}).json()["api_key"]
    with system.client(spare) as client:
        assert client.delete(f"/v1/api-keys/{key_id}").status_code == 204
    assert browser.get("/v1/activities").status_code == 401
