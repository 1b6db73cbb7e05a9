"""The portal's cookie authenticates reads; a data-changing request with only the cookie must
carry the portal's header, which another site's form or script cannot send (CSRF)."""

from __future__ import annotations

import httpx

from tests.support.system import RunningSystem


def test_cookie_writes_need_the_portal_header(system: RunningSystem) -> None:
    key = system.new_provider()["api_key"]
    body = {"records": [{"activity_id": "300000001", "board": "ABO", "action": "Add"}]}
    with httpx.Client(base_url=system.url, cookies={"pars_key": key}, timeout=30) as browser:
        assert browser.get("/v1/activities").status_code == 200
        refused = browser.post("/v1/learner-records", json=body)
        assert refused.status_code == 403 and "portal" in refused.json()["detail"]
        assert browser.post("/v1/learner-records", json=body, headers={"X-PARS-Portal": "1"}).status_code == 202
