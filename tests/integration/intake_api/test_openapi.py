"""The service documents itself: /openapi.json lists every endpoint with a summary, its request
body (JSON, and XML for the web service), its security scheme and its error answers. That /docs and
/redoc render it, in a browser, is tests/e2e/test_api_docs.py."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import http
from tests.support.system import RunningSystem

pytestmark = pytest.mark.integration

EXPECTED_PATHS = {
    "/v1/admin/providers", "/v1/admin/providers/{provider_id}/users", "/v1/admin/boards/{board}/physicians",
    "/v1/activities", "/v1/activities/{activity_id}", "/v1/activities/{activity_id}/learners",
    "/v1/learner-records", "/v1/learner-records/{record_id}", "/v1/submissions/{submission_id}",
    "/v1/learner-match", "/v1/uploads", "/v1/uploads/{upload_id}", "/v1/uploads/{upload_id}/errors",
    "/v1/webhook-endpoints", "/v1/webhook-endpoints/{endpoint_id}/deliveries",
}
# POSTs that act on the resource in their path and take no body.
BODILESS_ACTIONS = ("/disable", "/enable", "/rotate-secret", "/resend")


@pytest.fixture(scope="module")
def document(system: RunningSystem) -> dict[str, Any]:
    response = http.get(f"{system.ops_url}/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, item in document["paths"].items() for method, op in item.items()]


def test_every_endpoint_is_documented(document: dict[str, Any]) -> None:
    assert EXPECTED_PATHS <= set(document["paths"])
    for method, path, op in operations(document):
        assert op.get("summary"), (method, path)
        admin = path.startswith("/v1/admin")
        assert op["security"] == [{"AdminToken" if admin else "ProviderApiKey": []}], (method, path)
        documented = set(op["responses"])
        assert {"401", "422"} <= documented, (method, path, documented)
        if admin:
            assert "403" in documented, (method, path)
        if "{" in path:
            assert "404" in documented, (method, path)
        assert op["responses"]["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"}
        if method in ("POST", "PUT", "PATCH") and not path.endswith(BODILESS_ACTIONS):
            assert op["requestBody"]["content"], (method, path)


def test_the_web_service_takes_json_and_xml(document: dict[str, Any]) -> None:
    submit = document["paths"]["/v1/learner-records"]["post"]
    content = submit["requestBody"]["content"]
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/RecordsIn"}
    assert "application/xml" in content
    record = document["components"]["schemas"]["RecordIn"]
    assert {"activity_id", "board", "action", "learner_id", "credit_id"} <= set(record["properties"])
    assert record["additionalProperties"] is False  # unknown fields are refused
    assert {"413", "415"} <= set(submit["responses"])
    assert {p["name"] for p in submit["parameters"]} == {"wait"}


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            return ([node["$ref"]] if "$ref" in node else []) + [r for v in node.values() for r in refs(v)]
        if isinstance(node, list):
            return [r for v in node for r in refs(v)]
        return []

    schemas = document["components"]["schemas"]
    missing = {r for r in refs(document) if r.removeprefix("#/components/schemas/") not in schemas}
    assert not missing
    assert set(document["components"]["securitySchemes"]) == {"ProviderApiKey", "AdminToken"}


def test_search_documents_its_filters(document: dict[str, Any]) -> None:
    search = document["paths"]["/v1/learner-records"]["get"]
    names = {p["name"] for p in search["parameters"]}
    assert {"last_name", "activity_title", "submitted_from", "submitted_to", "board", "state_board", "activity_id",
            "provider_activity_id", "learner_id", "id_type", "status", "completed_from", "completed_to", "page",
            "page_size", "format"} == names
