"""Learner Search (the seed's required and optional fields, paging, CSV export), record detail,
and deleting a record by hand: Accepted and Rejected records become Deleted, a Submitted one
is refused with 801, and one past its reporting year's delete deadline with 706."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from pars_contracts.codes import ERROR_MESSAGES, resolution
from tests.support.system import RunningSystem, eventually

from .helpers import add_learners, codes, learner, register_activity, status_of, wait_for_status

pytestmark = pytest.mark.integration
ABIM_MK = "ABIM Medical Knowledge"
TODAY = "2020-03-15"  # the system's clock (conftest)


@pytest.fixture(scope="module")
def searched(system: RunningSystem) -> dict:
    """The seed's activity (2019) with an accepted NC learner, an accepted and a rejected ABIM
    learner (whose first name is a formula), and a 2020 course with an accepted NC learner."""
    provider = system.new_provider()
    with system.client(provider["api_key"]) as client:
        other = register_activity(client)
        surgery = register_activity(client, {"NC": ["AMA PRA Category 1 Credit"]}, year=2020, title="Surgery Update",
                                    provider_activity_id="SU-2020")
        nc = add_learners(client, other, "NC", learner("Traci", "Test", "999993", "07/01", "05/25/2019", 5))
        abim = add_learners(client, other, "ABIM",
                            learner("Test10", "Account10", "1000105", "02/01", "02/01/2019", 2, ABIM_MK),
                            learner("=HYPERLINK(1)", "Account9", "1000113", "10/01", "02/02/2019", 2, ABIM_MK))
        later = add_learners(client, surgery, "NC", learner("Traci", "Test", "999993", "07/01", "02/03/2020", 1))
        wait_for_status(client, abim[0]["record_id"], "Accepted")
        wait_for_status(client, abim[1]["record_id"], "Rejected")
    return {**provider, "other": other, "surgery": surgery, "nc": nc[0]["record_id"],
            "accepted": abim[0]["record_id"], "rejected": abim[1]["record_id"], "later": later[0]["record_id"]}


def found(client: httpx.Client, **params: object) -> list[str]:
    response = client.get("/v1/learner-records", params=params)
    assert response.status_code == 200, response.text
    return [r["record_id"] for r in response.json()["records"]]


def test_search_needs_a_last_name_an_activity_title_or_a_submission_date_range(system: RunningSystem,
                                                                              searched: dict) -> None:
    with system.client(searched["api_key"]) as client:
        for params in ({}, {"board": "ABIM"}, {"submitted_from": TODAY}, {"last_name": "  "},
                       {"learner_id": "999993", "status": "Accepted"}):
            response = client.get("/v1/learner-records", params=params)
            assert response.status_code == 422, params
            detail = response.json()["detail"]
            assert all(name in detail for name in ("last_name", "activity_title", "submitted_from", "submitted_to"))


def test_search_filters(system: RunningSystem, searched: dict) -> None:
    s = searched
    everything = {"submitted_from": TODAY, "submitted_to": TODAY}
    with system.client(s["api_key"]) as client:
        assert found(client, last_name="TEST") == [s["nc"], s["later"]]  # by name, then completion date
        assert found(client, activity_title="surgery") == [s["later"]]
        assert set(found(client, **everything)) == {s["nc"], s["accepted"], s["rejected"], s["later"]}
        assert found(client, submitted_from="2020-03-16", submitted_to="2020-12-31") == []
        assert set(found(client, activity_title="other", board="ABIM")) == {s["accepted"], s["rejected"]}
        assert found(client, last_name="test", state_board="nc", activity_id=s["surgery"]) == [s["later"]]
        assert found(client, last_name="test", provider_activity_id="su-2020") == [s["later"]]
        assert found(client, **everything, learner_id="1000105") == [s["accepted"]]
        assert set(found(client, **everything, id_type="license")) == {s["nc"], s["later"]}
        assert found(client, **everything, id_type="ABIM", status="Rejected") == [s["rejected"]]
        assert found(client, **everything, completed_from="2020-01-01", completed_to="2020-12-31") == [s["later"]]
        assert found(client, **everything, completed_to="2019-02-01") == [s["accepted"]]
        for wrong in ({"board": "NC"}, {"state_board": "ABIM"}, {"status": "Lost"}, {"submitted_from": "03/15/2020"},
                      {"page_size": 0}):
            assert client.get("/v1/learner-records", params={**everything, **wrong}).status_code == 422, wrong


def test_search_pages_and_exports_neutralized_csv(system: RunningSystem, searched: dict) -> None:
    everything = {"submitted_from": TODAY, "submitted_to": TODAY}
    with system.client(searched["api_key"]) as client:
        pages = [client.get("/v1/learner-records", params={**everything, "page": n, "page_size": 3}).json()
                 for n in (1, 2, 3)]
        assert [(p["total"], len(p["records"])) for p in pages] == [(4, 3), (4, 1), (4, 0)]
        assert len({r["record_id"] for p in pages for r in p["records"]}) == 4
        export = client.get("/v1/learner-records", params={**everything, "format": "csv"})
        assert export.headers["content-type"].startswith("text/csv")
        table = list(csv.reader(io.StringIO(export.text)))
        assert len(table) == 5 and table[0][3:5] == ["First Name", "Last Name"]
        formula = [row for row in table if row[4] == "Account9"][0]
        assert formula[3] == "'=HYPERLINK(1)" and formula[13] == "Rejected" and formula[14].startswith("665: ")


def test_record_detail(system: RunningSystem, searched: dict) -> None:
    with system.client(searched["api_key"]) as client:
        record = client.get(f"/v1/learner-records/{searched['rejected']}").json()
        assert {k: record[k] for k in ("activity_id", "activity_title", "board", "last_name", "learner_id",
                                       "learner_id_type", "date_of_birth", "completion_date", "credits",
                                       "credit_types", "status", "date_submitted")} == {
            "activity_id": searched["other"], "activity_title": "An Other is an Other", "board": "ABIM",
            "last_name": "Account9", "learner_id": "1000113", "learner_id_type": "ABIM", "date_of_birth": "10/01",
            "completion_date": "2019-02-02", "credits": "2", "credit_types": [ABIM_MK], "status": "Rejected",
            "date_submitted": TODAY}
        assert record["errors"] == [{"code": 665, "message": ERROR_MESSAGES[665], "resolution": resolution(665)}]
        assert record["credit_id"].startswith("ccid:")
        assert client.get("/v1/learner-records/no-such-record").status_code == 404


def delete(client: httpx.Client, record_id: str) -> dict:
    response = client.delete(f"/v1/learner-records/{record_id}", params={"wait": 20})
    assert response.status_code == 200, response.text
    return response.json()["rows"][0]


def test_accepted_and_rejected_records_can_be_deleted(system: RunningSystem) -> None:
    with system.client(system.new_provider()["api_key"]) as client:
        activity = register_activity(client, {"NC": ["AMA PRA Category 1 Credit"], "ABIM": [ABIM_MK]}, year=2020)
        accepted = add_learners(client, activity, "NC", learner("Traci", "Test", "999993", "07/01", "02/03/2020", 5))
        rejected = add_learners(client, activity, "ABIM", learner("Test11", "Account11", "1000104", "01/01",
                                                                  "02/03/2020", 1, ABIM_MK))
        wait_for_status(client, rejected[0]["record_id"], "Rejected")
        for row in accepted + rejected:
            assert delete(client, row["record_id"])["status"] == "Deleted"
            assert status_of(client, row["record_id"]) == "Deleted"
        assert found(client, activity_title="other") == []
        assert set(found(client, activity_title="other", status="Deleted")) == {r["record_id"] for r in accepted + rejected}
        assert client.get(f"/v1/activities/{activity}").json()["records_by_board"] == {}
        summary = client.get("/v1/activities").json()["activities"][0]
        assert (summary["submitted"], summary["accepted"], summary["rejected"]) == (0, 0, 0)
        assert codes(delete(client, accepted[0]["record_id"])) == [605]  # already deleted
        # Deleted, the same learner and completion can be reported again.
        again = add_learners(client, activity, "NC", learner("Traci", "Test", "999993", "07/01", "02/03/2020", 5))
        assert again[0]["status"] == "Accepted"


def test_a_submitted_record_cannot_be_deleted_until_the_board_decides(system: RunningSystem) -> None:
    with system.client(system.new_provider()["api_key"]) as client:
        activity = register_activity(client, {"ABS": ["ABS Continuous Certification"]}, year=2020)
        for day in range(1, 4):  # ABS decides within a (24 s) day; retried should it decide in between
            row = add_learners(client, activity, "ABS", learner("Alice", "Walker", "6000003", "02/02",
                                                                f"02/0{day}/2020", 1, "ABS Continuous Certification"))[0]
            assert row["status"] == "Submitted"
            refused = delete(client, row["record_id"])
            if codes(refused) == [801]:
                break
        assert refused["errors"] == [{"code": 801, "message": ERROR_MESSAGES[801], "resolution": resolution(801)}]
        assert status_of(client, row["record_id"]) in ("Submitted", "Accepted")  # not deleted


def test_a_record_of_a_past_reporting_year_cannot_be_deleted(system: RunningSystem) -> None:
    with system.client(system.new_provider()["api_key"]) as client:
        activity = register_activity(client, {"NC": ["AMA PRA Category 1 Credit"]}, year=2019)
        row = add_learners(client, activity, "NC", learner("Traci", "Test", "999993", "07/01", "05/25/2019", 5))[0]
        assert row["status"] == "Accepted"  # 2019 still takes records until March 31, 2020
        refused = delete(client, row["record_id"])
        assert refused["errors"] == [{"code": 706, "message": ERROR_MESSAGES[706], "resolution": resolution(706)}]
        eventually(lambda: status_of(client, row["record_id"]) == "Accepted", what="the record to stay Accepted")
