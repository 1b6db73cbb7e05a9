"""Tenancy, proven for every endpoint the OpenAPI document lists: no key and a wrong key are
refused, the admin API takes only the admin token, and a second provider sees none of the
first one's activities, records, submissions or uploads (`404`, never a hint they exist).

Every operation must have an entry in ACCESS: a new endpoint without one fails this test."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support import http
from tests.support.system import ADMIN_TOKEN, RunningSystem, eventually

from .helpers import codes, learner, register_activity

pytestmark = pytest.mark.integration

NC_LEARNER = learner("Traci", "Test", "999993", "07/01", "02/03/2020", 5, "AMA PRA Category 1 Credit")
NC_ROW = {**NC_LEARNER, "board": "NC", "action": "Add"}
TAB_ROW = "\t".join(["Learner Template B", "NC", "{activity}", "LICENSE", "999993", "Traci", "Test", "07/01",
                     "02/04/2020", "Add", "5", "AMA PRA Category 1 Credit"]) + "\r\n"

# How each operation is scoped: "admin" (admin token only), "own" (a path names one of the
# provider's resources: another provider's is 404), "list" (answers only the caller's data),
# "create" (makes data for the caller only), "stateless" (reads no provider data).
ACCESS: dict[tuple[str, str], str] = {
    ("POST", "/v1/admin/providers"): "admin",
    ("POST", "/v1/admin/providers/{provider_id}/users"): "admin",
    ("PUT", "/v1/admin/providers/{provider_id}/rems"): "admin",
    ("POST", "/v1/admin/boards/{board}/physicians"): "admin",
    ("GET", "/v1/admin/ops/summary"): "admin",
    ("GET", "/v1/admin/ops/history"): "admin",
    ("GET", "/v1/admin/dead-letters"): "admin",
    ("POST", "/v1/admin/dead-letters/replay"): "admin",
    ("POST", "/v1/admin/upstream-credentials"): "admin",
    ("GET", "/v1/admin/upstream-credentials"): "admin",
    ("DELETE", "/v1/admin/upstream-credentials/{credential_id}"): "admin",
    ("POST", "/v1/activities"): "create",
    ("GET", "/v1/activities"): "list",
    ("GET", "/v1/activities/{activity_id}"): "own",
    ("PATCH", "/v1/activities/{activity_id}"): "own",
    ("POST", "/v1/activities/{activity_id}/learners"): "own",
    ("POST", "/v1/learner-records"): "create",
    ("GET", "/v1/learner-records"): "list",
    ("GET", "/v1/learner-records/{record_id}"): "own",
    ("DELETE", "/v1/learner-records/{record_id}"): "own",
    ("GET", "/v1/learner-records/{record_id}/learner"): "own",
    ("GET", "/v1/submissions/{submission_id}"): "own",
    ("POST", "/v1/learner-match"): "stateless",
    ("POST", "/v1/uploads"): "create",
    ("GET", "/v1/uploads"): "list",
    ("GET", "/v1/uploads/{upload_id}"): "own",
    ("GET", "/v1/uploads/{upload_id}/errors"): "own",
    ("GET", "/v1/uploads/{upload_id}/learners"): "own",
    ("GET", "/v1/api-keys"): "list",
    ("POST", "/v1/api-keys"): "create",
    ("DELETE", "/v1/api-keys/{key_id}"): "own",
    ("GET", "/v1/provider"): "list",
    ("PUT", "/v1/provider/notification-emails"): "create",
    ("PUT", "/v1/provider/upstream-outcomes"): "create",
    ("POST", "/v1/webhook-endpoints"): "create",
    ("GET", "/v1/webhook-endpoints"): "list",
    ("GET", "/v1/webhook-endpoints/{endpoint_id}"): "own",
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"): "own",
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/disable"): "own",
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/enable"): "own",
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): "own",
    ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries"): "own",
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/resend"): "own",
}
# The operations a web-service credential (software's, not a person's) may call; every other
# provider operation refuses it (403). A sandbox credential may call only the first.
WEB_SERVICE = [("POST", "/v1/learner-records"), ("GET", "/v1/submissions/{submission_id}"),
               ("POST", "/v1/activities"), ("PATCH", "/v1/activities/{activity_id}")]
# What a valid request to an "own" operation sends besides the path (so that only ownership can refuse it).
OWN_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/activities/{activity_id}/learners"): {"json": {"board": "NC", "learners": [NC_LEARNER]}},
    ("PATCH", "/v1/activities/{activity_id}"): {"json": {"title": "Renamed by another provider"}},
}


def operations(system: RunningSystem) -> list[tuple[str, str]]:
    document = http.get(f"{system.ops_url}/openapi.json").json()
    return sorted((method.upper(), path) for path, item in document["paths"].items() for method in item
                  if method in ("get", "post", "put", "patch", "delete"))


def fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids[m[1]], path)


@pytest.fixture(scope="module")
def first(system: RunningSystem) -> dict[str, str]:
    """Provider A with one of everything: an activity, an accepted record, its submission, an upload."""
    provider = system.new_provider(name="Provider A")
    with system.client(provider["api_key"]) as client:
        activity = register_activity(client, {"NC": ["AMA PRA Category 1 Credit"]}, year=2020, title="A only")
        saved = client.post(f"/v1/activities/{activity}/learners", params={"wait": 20},
                            json={"board": "NC", "learners": [NC_LEARNER]})
        row = saved.json()["rows"][0]
        assert saved.status_code == 200 and row["status"] == "Accepted", saved.text
        upload = client.post("/v1/uploads", files={"file": ("a.txt", TAB_ROW.format(activity=activity).encode())})
        assert upload.status_code == 202, upload.text
        eventually(lambda: client.get(f"/v1/uploads/{upload.json()['upload_id']}").json()["status"] == "completed",
                   what="A's upload to complete")
        key_id = client.get("/v1/api-keys").json()["api_keys"][0]["key_id"]
        endpoint = client.post("/v1/webhook-endpoints", json={"url": "https://a.example.org/pars/hooks"})
        assert endpoint.status_code == 201, endpoint.text
    return {"api_key": provider["api_key"], "provider_id": provider["provider_id"], "activity_id": activity,
            "record_id": row["record_id"], "credit_id": row["credit_id"], "submission_id": saved.json()["submission_id"],
            "upload_id": upload.json()["upload_id"], "board": "NC",
            "key_id": key_id, "credential_id": "no-such-credential", "endpoint_id": endpoint.json()["id"],
            "delivery_id": "msg_none"}


@pytest.fixture(scope="module")
def second(system: RunningSystem) -> str:
    return system.new_provider(name="Provider B")["api_key"]


def test_every_operation_has_an_access_rule(system: RunningSystem) -> None:
    assert set(operations(system)) == set(ACCESS), "add each new operation to ACCESS, with its check"


def test_no_key_and_a_wrong_key_are_refused_everywhere(system: RunningSystem, first: dict[str, str]) -> None:
    for method, path in operations(system):
        url = system.url + fill(path, first)
        admin = ACCESS[(method, path)] == "admin"
        for headers in ({}, {"Authorization": "Bearer pars_not-a-key"}, {"Authorization": "Basic abc"},
                        {"Authorization": f"Bearer {ADMIN_TOKEN}"} if not admin else
                        {"Authorization": f"Bearer {first['api_key']}"}):
            response = http.request(method, url, headers=headers)
            expected = (403 if admin and headers.get("Authorization", "").startswith("Bearer ") else 401)
            assert response.status_code == expected, (method, path, headers, response.text)
            assert response.json()["detail"], (method, path)


def test_a_second_provider_cannot_reach_the_first_ones_resources(system: RunningSystem, first: dict[str, str],
                                                                  second: str) -> None:
    owner, other = system.client(first["api_key"]), system.client(second)
    before = owner.get(f"/v1/activities/{first['activity_id']}").json()["records_by_board"]
    for (method, path), kind in ACCESS.items():
        if kind != "own":
            continue
        extra = OWN_BODIES.get((method, path), {})
        refused = other.request(method, fill(path, first), **extra)
        assert refused.status_code == 404, (method, path, refused.text)
        assert first["activity_id"] not in refused.text and "Traci" not in refused.text
        if method == "GET":
            assert owner.get(fill(path, first)).status_code == 200, (method, path)
    # Nothing changed for the owner: the record was not deleted, no rows were added to its activity.
    record = owner.get(f"/v1/learner-records/{first['record_id']}").json()
    assert record["status"] == "Accepted"
    assert owner.get(f"/v1/activities/{first['activity_id']}").json()["records_by_board"] == before


def test_lists_show_only_the_callers_data(system: RunningSystem, first: dict[str, str], second: str) -> None:
    with system.client(second) as other:
        activities = other.get("/v1/activities", params={"title": "A only"}).json()
        assert activities["total"] == 0 and activities["activities"] == []
        for params in ({"last_name": "Test"}, {"activity_title": "A only"},
                       {"submitted_from": "2000-01-01", "submitted_to": "2100-01-01"}):
            found = other.get("/v1/learner-records", params=params).json()
            assert found["total"] == 0, params
            csv = other.get("/v1/learner-records", params={**params, "format": "csv"}).text
            assert "Traci" not in csv
        assert other.get("/v1/uploads").json()["uploads"] == []
        assert "A only" not in other.get("/v1/activities", params={"format": "csv"}).text


def test_creating_cannot_touch_another_providers_data(system: RunningSystem, first: dict[str, str],
                                                      second: str) -> None:
    with system.client(second) as other, system.client(first["api_key"]) as owner:
        # A record naming A's activity is answered exactly like an unknown activity (690).
        response = other.post("/v1/learner-records", params={"wait": 20},
                              json={"records": [{**NC_ROW, "activity_id": first["activity_id"],
                                                 "credit_id": "ccid:tenant-b.example:1"}]})
        assert response.status_code == 200 and codes(response.json()["rows"][0]) == [690], response.text
        # A Delete repeating A's record (same information, A's credit id) finds nothing (605... or 690).
        delete = other.post("/v1/learner-records", params={"wait": 20},
                            json={"records": [{**NC_ROW, "activity_id": first["activity_id"], "action": "Delete",
                                               "credit_id": first["credit_id"]}]})
        assert 690 in codes(delete.json()["rows"][0]), delete.text
        # An upload naming A's activity: its rows are B's, and refused as unknown (690).
        upload = other.post("/v1/uploads", files={"file": ("b.txt", TAB_ROW.format(activity=first["activity_id"]).encode())})
        assert upload.status_code == 202, upload.text
        status = eventually(lambda: (s := other.get(f"/v1/uploads/{upload.json()['upload_id']}").json())["status"]
                            == "completed" and s, what="B's upload to complete")
        assert status["not_processed"] == 1
        assert "690" in other.get(f"/v1/uploads/{upload.json()['upload_id']}/errors").text
        # B's new activity is B's: A's summary does not list it.
        mine = register_activity(other, {"NC": ["AMA PRA Category 1 Credit"]}, year=2020, title="B only")
        assert mine not in owner.get("/v1/activities", params={"format": "csv"}).text
        assert owner.get(f"/v1/learner-records/{first['record_id']}").json()["status"] == "Accepted"


def test_web_service_credentials_reach_only_the_web_service(system: RunningSystem, first: dict[str, str],
                                                            second: str) -> None:
    with system.client(second) as other:
        credentials = {sandbox: other.post("/v1/api-keys", json={"label": "LMS", "kind": "web-service",
                                                                  "sandbox": sandbox}).json()["api_key"]
                       for sandbox in (False, True)}
    for sandbox, key in credentials.items():
        allowed = WEB_SERVICE[:1] if sandbox else WEB_SERVICE
        for (method, path), kind in ACCESS.items():
            if kind == "admin" or (method, path) in allowed:
                continue
            refused = http.request(method, system.url + fill(path, first), headers={"Authorization": f"Bearer {key}"})
            assert refused.status_code == 403, (sandbox, method, path, refused.text)
            assert "credential" in refused.json()["detail"] and "Traci" not in refused.text
    # The web service's own read is scoped like a person's: another provider's submission is 404.
    with system.client(credentials[False]) as service:
        assert service.get(f"/v1/submissions/{first['submission_id']}").status_code == 404
        assert service.patch(f"/v1/activities/{first['activity_id']}", json={"title": "Taken"}).status_code == 404
