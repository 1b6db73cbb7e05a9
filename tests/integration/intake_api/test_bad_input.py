"""Bad input of every kind gets a clear 4xx JSON answer (or per-row errors), never a 5xx, and
nothing of a refused request is stored: malformed JSON, unknown fields, wrong types, oversize
and binary bodies, wrong encodings, NUL characters and lone surrogates, deep nesting. A small
hypothesis fuzz sends random JSON to every JSON endpoint."""

from __future__ import annotations

import os

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.system import RunningSystem

from .helpers import register_activity, stored_rows

pytestmark = pytest.mark.integration
JSON = {"Content-Type": "application/json"}
RECORD = {"activity_id": "300000001", "board": "NC", "action": "Add", "first_name": "Traci", "last_name": "Test",
          "learner_id": "999993", "date_of_birth": "07/01", "completion_date": "02/03/2020", "credits": 5}


@pytest.fixture(scope="module")
def provider(system: RunningSystem) -> dict:
    provider = system.new_provider()
    with system.client(provider["api_key"]) as client:
        provider["activity"] = register_activity(client, {"NC": ["AMA PRA Category 1 Credit"]}, year=2020)
    return provider


def endpoints(activity: str) -> list[str]:
    return ["/v1/learner-records", f"/v1/activities/{activity}/learners", "/v1/activities", "/v1/learner-match"]


def counted_paths(activity: str) -> list[str]:
    """The routes whose learner rows are counted on the raw body, before it is parsed."""
    return ["/v1/learner-records", f"/v1/activities/{activity}/learners"]


def refused(response: httpx.Response, *statuses: int) -> dict:
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def test_malformed_and_wrongly_shaped_json(system: RunningSystem, provider: dict) -> None:
    with system.client(provider["api_key"]) as client:
        for path in endpoints(provider["activity"]):
            for raw in (b'{"records": [', b"null", b"[]", b'"text"', b"{}", b"{'single': 'quotes'}",
                        b"[" * 100_000 + b"]" * 100_000):
                # A small route refuses a body over its cap (64 KiB) before reading it; the learner
                # rows' routes refuse more nesting than their rows hold before parsing it.
                small_route_over_cap = path == "/v1/activities" and len(raw) > 64 * 1024
                counted = raw.startswith(b"[[") and path in counted_paths(provider["activity"])
                refused(client.post(path, content=raw, headers=JSON),
                        *((413,) if small_route_over_cap or counted else (400, 422)))
        problems = refused(client.post("/v1/learner-records", json={"records": [{**RECORD, "colour": "blue"}]}),
                           422)["problems"]
        assert problems == [{"field": "records.0.colour", "problem": "Extra inputs are not permitted"}]
        for wrong in ({"records": {"a": 1}}, {"records": [{**RECORD, "credits": {"n": 1}}]},
                      {"records": [{**RECORD, "credit_types": "ABIM"}]}, {"records": [RECORD] * 2501},
                      {"records": [{**RECORD, "last_name": "x" * 301}]}, {"records": [], "extra": 1}):
            refused(client.post("/v1/learner-records", json=wrong), 413, 422)
        refused(client.post(f"/v1/activities/{provider['activity']}/learners", json={"board": "NC", "learners": [
            {"first_name": "A", "activity_id": "1"}]}), 422)  # the web form's rows name no activity
        refused(client.post("/v1/learner-records?wait=31", json={"records": [RECORD]}), 422)
        refused(client.post("/v1/learner-records?wait=nan", json={"records": [RECORD]}), 422)
    assert stored_rows(system, provider["provider_id"]) == {"submissions": 0, "records": 0, "activities": 1}


def test_text_that_cannot_be_stored_is_refused(system: RunningSystem, provider: dict) -> None:
    with system.client(provider["api_key"]) as client:
        for path in endpoints(provider["activity"])[:2]:
            body = {"records": [{**RECORD, "last_name": "Te\u0000st"}]} if "records" in path else {
                "board": "NC", "learners": [{"first_name": "A\u0000"}]}
            problems = refused(client.post(path, json=body), 422)["problems"]
            assert "NUL" in problems[0]["problem"]
            surrogate = (b'{"records": [{"last_name": "\\ud800"}]}' if "records" in path else
                         b'{"board": "NC", "learners": [{"last_name": "\\udfff"}]}')
            refused(client.post(path, content=surrogate, headers=JSON), 422)
        odd_key = b'{"board": "NC", "learners": [{"\\ud800": 1}]}'  # a key that UTF-8 cannot carry
        refused(client.post(f"/v1/activities/{provider['activity']}/learners", content=odd_key, headers=JSON), 422)
        for url in ("/v1/learner-records/%00", "/v1/learner-records?last_name=%00", "/v1/activities/1%002"):
            refused(client.get(url), 400)
        refused(client.post("/v1/admin/providers/%00/users", json={"email": "a@b.c"}), 400)
    assert stored_rows(system, provider["provider_id"]) == {"submissions": 0, "records": 0, "activities": 1}


def test_binary_bodies_and_wrong_encodings(system: RunningSystem, provider: dict) -> None:
    with system.client(provider["api_key"]) as client:
        for path in endpoints(provider["activity"]):
            for raw in (os.urandom(2048), b"\x89PNG\r\n\x1a\n" + os.urandom(64), b"\xff\xfe\x00\x00",
                        '{"board": "NC", "learners": [{"last_name": "Müller"}]}'.encode("latin-1")):
                # A small route refuses a body over its cap (64 KiB) before reading it; the learner
                # rows' routes refuse more nesting than their rows hold before parsing it.
                small_route_over_cap = path == "/v1/activities" and len(raw) > 64 * 1024
                counted = raw.startswith(b"[[") and path in counted_paths(provider["activity"])
                refused(client.post(path, content=raw, headers=JSON),
                        *((413,) if small_route_over_cap or counted else (400, 422)))
            refused(client.post(path, content=b"records=1", headers={"Content-Type": "text/plain"}), 415, 422)
        utf16 = '{"records": [{"last_name": "Müller"}]}'.encode("utf-16")
        refused(client.post("/v1/learner-records", content=utf16, headers=JSON), 422)
    assert stored_rows(system, provider["provider_id"]) == {"submissions": 0, "records": 0, "activities": 1}


def test_oversize_bodies_answer_413_before_being_read(system: RunningSystem, provider: dict) -> None:
    big = b'{"records": [' + b" " * (5 * 1024 * 1024) + b"]}"
    with system.client(provider["api_key"]) as client:
        for path in endpoints(provider["activity"]):
            assert "larger than" in refused(client.post(path, content=big, headers=JSON), 413)["detail"]

            def chunks():  # no Content-Length: counted while it streams
                for _ in range(6):
                    yield b" " * (1024 * 1024)

            refused(client.post(path, content=chunks(), headers=JSON), 413)
    assert stored_rows(system, provider["provider_id"])["submissions"] == 0


def test_more_records_than_a_request_takes_are_refused_before_being_parsed(system: RunningSystem,
                                                                           provider: dict) -> None:
    """2,501 records are refused 413 on their bytes, saying how many a request takes (pydantic would
    build them all, then answer 422); so is a bare list of a million objects, or deep nesting."""
    many = b",".join([b"{}"] * 2501)
    flood = b"[" + b"{}," * 1_000_000 + b"{}]"
    with system.client(provider["api_key"]) as client:
        for path, body in zip(counted_paths(provider["activity"]),
                              (b'{"records": [' + many + b"]}", b'{"board": "NC", "learners": [' + many + b"]}"),
                              strict=True):
            detail = refused(client.post(path, content=body, headers=JSON), 413)["detail"]
            assert detail == ("The request holds more than 2,500 records: send at most 2,500 records a request. "
                              "Nothing was stored."), detail
            assert "more than 2,500 records" in refused(client.post(path, content=flood, headers=JSON), 413)["detail"]
            deep = refused(client.post(path, content=b'{"records": ' + b"[" * 90_000 + b"]" * 90_000 + b"}",
                                       headers=JSON), 413)
            assert "more nesting, values or fields than 2,500 records hold" in deep["detail"]
    assert stored_rows(system, provider["provider_id"])["submissions"] == 0


# --- fuzz ---------------------------------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(
    max_size=40)
anything = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12),
                                                                                             inner, max_size=4),
                        max_leaves=20)
field_names = st.sampled_from([*RECORD, "learner_id_type", "npi", "credit_types", "credit_id", "unknown"])
records = st.dictionaries(field_names, anything | st.text(max_size=12), max_size=8)
bodies = st.one_of(
    anything,
    st.fixed_dictionaries({"records": st.lists(records, max_size=3)}),
    st.fixed_dictionaries({"board": anything, "learners": st.lists(records, max_size=3)}),
    st.fixed_dictionaries({"title": anything, "activity_type": anything, "start_date": anything,
                           "end_date": anything, "reporting_year": anything, "ama_credits": anything,
                           "registrations": st.lists(st.dictionaries(
                               st.sampled_from(["board", "credit_types", "max_points"]), anything), max_size=2)}),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies, which=st.integers(min_value=0, max_value=3))
def test_fuzz_random_json_never_gets_a_server_error(system: RunningSystem, provider: dict, body: object,
                                                    which: int) -> None:
    path = endpoints(provider["activity"])[which]
    with system.client(provider["api_key"]) as client:
        response = client.post(path, json=body)
    assert response.status_code < 500, (path, body, response.text[:300])
    if response.status_code >= 400:
        assert response.json()["detail"]


@settings(max_examples=60, deadline=None)
@given(params=st.dictionaries(st.sampled_from(["last_name", "activity_title", "submitted_from", "submitted_to",
                                               "board", "state_board", "status", "id_type", "page", "page_size",
                                               "format", "completed_from", "reporting_year", "title"]),
                              st.text(max_size=30), max_size=5),
       path=st.sampled_from(["/v1/learner-records", "/v1/activities"]))
def test_fuzz_random_queries_never_get_a_server_error(system: RunningSystem, provider: dict, params: dict,
                                                      path: str) -> None:
    with system.client(provider["api_key"]) as client:
        response = client.get(path, params=params)
    assert response.status_code < 500, (path, params, response.text[:300])
