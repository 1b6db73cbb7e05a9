"""The web service in XML: `POST /v1/learner-records` with a MedBiquitous activity report
answers exactly like the JSON path (202, or every row's outcome with `?wait=`); a document
that cannot be read is refused whole with the seed's message, and hostile XML stores nothing."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from pars_intake.domain.rows import NO_RECORDS, NOT_FORMATTED, NOT_XML
from tests.support.system import RunningSystem, eventually
from tests.support.xmlwrite import records_to_xml

from .helpers import codes, georgia, register_activity, status_of

pytestmark = pytest.mark.integration
CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "xml"
XML = {"Content-Type": "application/xml"}



@pytest.fixture(scope="module")
def provider(system: RunningSystem) -> dict:
    provider = system.new_provider()
    with system.client(provider["api_key"]) as client:
        provider["activity"] = register_activity(client, {"ABO": ["ABO MOC Part II"], "ABIM": ["ABIM Medical Knowledge"]},
                                                 year=2020, title="Annual Meeting for Ophthalmology")
    return provider


def stored(client: httpx.Client) -> int:
    """The provider's stored records in any status but Deleted: a record of an earlier test that a
    board accepts meanwhile (Submitted, then Accepted) leaves the count as it was."""
    return client.get("/v1/learner-records", params={"submitted_from": "2000-01-01",
                                                     "submitted_to": "2100-01-01"}).json()["total"]


def test_xml_records_are_answered_like_json(system: RunningSystem, provider: dict) -> None:
    activity = provider["activity"]
    document = records_to_xml([
        georgia(activity),
        georgia(activity, date_of_birth="12/01", credit_id="ccid:testProvider.org:2"),
        georgia(activity, credit_id=""),
        georgia(activity, board="ABIM", learner_id_type="ABIM", learner_id="1000105", first_name="Test10",
                last_name="Account10", date_of_birth="02/01", credits="1", credit_types=["ABIM Medical Knowledge"],
                credit_id="ccid:testProvider.org:3"),
    ])
    with system.client(provider["api_key"]) as client:
        response = client.post("/v1/learner-records", params={"wait": 20}, content=document, headers=XML)
        assert response.status_code == 200, response.text
        rows = response.json()["rows"]
        assert [r["row"] for r in rows] == [1, 2, 3, 4]
        assert rows[0]["status"] == "Accepted" and rows[0]["credit_id"] == "ccid:testProvider.org:123488"
        assert codes(rows[1]) == [664]
        assert 650 in codes(rows[2])  # no CreditID: the XML's own error
        # ABIM runs every four simulated hours (4 s here): by the time the last row has its first
        # outcome, its run may still have decided this one already.
        assert rows[3]["status"] in ("Submitted", "Accepted")

        # Deleting through the web service: the same information and credit id as the original (seed).
        delete = records_to_xml([georgia(activity, action="Delete")])
        accepted = client.post("/v1/learner-records", content=delete, headers={"Content-Type": "text/xml"})
        assert accepted.status_code == 202, accepted.text
        submission = accepted.json()
        assert [r["row"] for r in submission["rows"]] == [1] and submission["rows"][0]["record_id"]
        eventually(lambda: status_of(client, rows[0]["record_id"]) == "Deleted", what="the XML delete")
        outcome = client.get(f"/v1/submissions/{submission['submission_id']}").json()
        assert outcome["rows"][0]["status"] == "Deleted"


def test_unreadable_documents_are_refused_whole_with_the_seeds_message(system: RunningSystem,
                                                                       provider: dict) -> None:
    hostile = sorted(CORPUS.glob("bad_*.xml"))
    assert len(hostile) >= 8
    with system.client(provider["api_key"]) as client:
        before = stored(client)
        for path in hostile:
            response = client.post("/v1/learner-records", params={"wait": 5}, content=path.read_bytes(), headers=XML)
            assert response.status_code == 422, (path.name, response.text)
            assert response.json()["detail"] in (NOT_FORMATTED, NOT_XML, NO_RECORDS), path.name
        tab = b"Learner Template B\tABO\t300000001\tABO\t97979\tGeorgia\tO'Keeffe\n"
        for body, message in ((tab, NOT_XML), (b'{"records": []}', NOT_XML), (b"", NOT_XML),
                              (b"<ar:ActivityReports xmlns:ar='http://ns.medbiq.org/activityreport/v1/'/>", NO_RECORDS),
                              (b"<html><body>hello</body></html>", NOT_FORMATTED),
                              (b"<a>" * 100 + b"x", NOT_FORMATTED)):
            response = client.post("/v1/learner-records", content=body, headers={"Content-Type": "application/xml"})
            assert (response.status_code, response.json()["detail"]) == (422, message), body[:40]
        assert stored(client) == before


def test_size_limits_answer_413(system: RunningSystem, provider: dict) -> None:
    with system.client(provider["api_key"]) as client:
        many = records_to_xml([georgia(provider["activity"], credit_id=f"ccid:x:{n}") for n in range(2501)])
        assert len(many) < 5 * 1024 * 1024
        response = client.post("/v1/learner-records", content=many, headers=XML)
        assert response.status_code == 413 and "2,500" in response.json()["detail"]
        huge = b"<?xml version='1.0'?>" + b" " * (5 * 1024 * 1024 + 1)
        response = client.post("/v1/learner-records", content=huge, headers=XML)
        assert response.status_code == 413 and "larger than" in response.json()["detail"]


def test_content_types(system: RunningSystem, provider: dict) -> None:
    document = records_to_xml([georgia(provider["activity"], credit_id="ccid:x:ct")])
    with system.client(provider["api_key"]) as client:
        for content_type in ("application/xml; charset=utf-8", "text/xml", "application/activityreport+xml"):
            response = client.post("/v1/learner-records", content=document, headers={"Content-Type": content_type})
            assert response.status_code == 202, (content_type, response.text)
        assert client.post("/v1/learner-records", content=document,
                           headers={"Content-Type": "application/json"}).status_code == 422
        assert client.post("/v1/learner-records", content=document,
                           headers={"Content-Type": "text/plain"}).status_code == 415
        assert client.post("/v1/learner-records", files={"file": ("a.xml", document)}).status_code == 415
