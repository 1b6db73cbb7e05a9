"""Activities: registration (9-digit ACCME id, the catalog's spelling), the Activity Learner
Summary with its counts, filters, paging and CSV export, and Activity Detail per board."""

from __future__ import annotations

import csv
import io
import re

import httpx
import pytest

from tests.support.system import RunningSystem, eventually

from .helpers import add_learners, learner, register_activity

pytestmark = pytest.mark.integration
ABIM_MK = "ABIM Medical Knowledge"


def body(**changes: object) -> dict:
    return {"title": "Course", "activity_type": "Course", "start_date": "2020-01-01", "end_date": "2020-12-31",
            "reporting_year": 2020, "ama_credits": 10,
            "registrations": [{"board": "NC", "credit_types": ["AMA PRA Category 1 Credit"], "max_points": 10}],
            **changes}


def test_registering_assigns_an_id_and_refuses_what_the_catalog_does_not_know(system: RunningSystem) -> None:
    with system.client(system.new_provider()["api_key"]) as client:
        created = client.post("/v1/activities", json=body(registrations=[
            {"board": "abpath", "credit_types": ["abpath moc part ii", "ABPath  MOC Part IV", "ABPath MOC Part II"],
             "max_points": 12.5}]))
        assert created.status_code == 201, created.text
        activity = created.json()
        assert re.fullmatch(r"[0-9]{9}", activity["activity_id"])
        assert activity["registrations"] == [
            {"board": "ABPATH", "credit_types": ["ABPath MOC Part II", "ABPath MOC Part IV"], "max_points": "12.5"}]
        assert client.get(f"/v1/activities/{activity['activity_id']}").json()["title"] == "Course"

        refusals = {
            "unknown board": body(registrations=[{"board": "XYZ", "credit_types": ["A"], "max_points": 1}]),
            "credit type of another board": body(registrations=[
                {"board": "ABIM", "credit_types": ["ABO MOC Part II"], "max_points": 1}]),
            "a board twice": body(registrations=[
                {"board": "NC", "credit_types": ["AMA PRA Category 1 Credit"], "max_points": 1},
                {"board": "nc", "credit_types": ["Controlled Substance"], "max_points": 1}]),
            "ends before it starts": body(start_date="2020-05-01", end_date="2020-04-01"),
            "no registration": body(registrations=[]),
            "unknown field": body(color="blue"),
            "wrong type": body(reporting_year="next year"),
            "no points": body(registrations=[{"board": "NC", "credit_types": ["Controlled Substance"], "max_points": 0}]),
        }
        for why, wrong in refusals.items():
            response = client.post("/v1/activities", json=wrong)
            assert response.status_code == 422, (why, response.text)
            assert response.json()["detail"], why
        assert "ABIM Medical Knowledge" in client.post("/v1/activities", json=refusals["credit type of another board"]).text
        assert client.get("/v1/activities").json()["total"] == 1  # nothing of the refused ones was stored


@pytest.fixture(scope="module")
def summary_provider(system: RunningSystem) -> dict:
    """Three activities: the seed's "An Other is an Other" (2019: ABIM, ABPATH) with an accepted
    and a rejected ABIM learner, "North Carolina Course" (2019: NC) with one accepted learner, and
    a 2020 course whose title is a formula."""
    provider = system.new_provider()
    with system.client(provider["api_key"]) as client:
        other = register_activity(client, {"ABIM": [ABIM_MK], "ABPATH": ["ABPath MOC Part II"]})
        nc = register_activity(client, {"NC": ["AMA PRA Category 1 Credit"]}, title="North Carolina Course",
                               provider_activity_id="NC-2019", activity_type="Course")
        formula = register_activity(client, {"ABO": ["ABO MOC Part II"]}, year=2020, title='=HYPERLINK("http://x")',
                                    provider_activity_id="100%_real")
        rows = add_learners(client, other, "ABIM",
                            learner("Test10", "Account10", "1000105", "02/01", "02/01/2019", 2, ABIM_MK),
                            learner("Test11", "Account11", "1000104", "01/01", "02/02/2019", 2, ABIM_MK))
        assert [r["status"] for r in rows] == ["Submitted", "Submitted"]
        assert add_learners(client, nc, "NC", learner("Traci", "Test", "999993", "07/01", "05/25/2019", 5))[0][
            "status"] == "Accepted"
        eventually(lambda: _counts(client, other) == (0, 1, 1), what="ABIM to decide both learners")
    return {**provider, "other": other, "nc": nc, "formula": formula}


def _counts(client: httpx.Client, activity: str) -> tuple[int, int, int]:
    found = [a for a in client.get("/v1/activities").json()["activities"] if a["activity_id"] == activity][0]
    return found["submitted"], found["accepted"], found["rejected"]


def test_summary_counts_and_filters(system: RunningSystem, summary_provider: dict) -> None:
    p = summary_provider
    with system.client(p["api_key"]) as client:
        def ids(**params: object) -> list[str]:
            response = client.get("/v1/activities", params=params)
            assert response.status_code == 200, response.text
            return [a["activity_id"] for a in response.json()["activities"]]

        listed = {a["activity_id"]: a for a in client.get("/v1/activities").json()["activities"]}
        other = listed[p["other"]]
        assert (other["title"], other["activity_type"], other["boards"], other["reporting_year"]) == (
            "An Other is an Other", "Other", ["ABIM", "ABPATH"], 2019)
        assert (other["submitted"], other["accepted"], other["rejected"]) == (0, 1, 1)
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", other["learners_last_updated"])
        assert listed[p["formula"]]["learners_last_updated"] is None
        assert ids(reporting_year=2019) == [p["other"], p["nc"]]
        assert ids(reporting_year=2020) == [p["formula"]]
        assert ids(title="OTHER") == [p["other"]]
        assert ids(title="%") == []  # the user's % is a character, not a wildcard
        assert ids(provider_activity_id="100%_") == [p["formula"]]
        assert ids(provider_activity_id="nc-2019") == [p["nc"]]
        assert ids(board="abim") == [p["other"]]
        assert ids(board="NC", reporting_year=2019) == [p["nc"]]
        assert ids(board="NC", reporting_year=2020) == []
        assert client.get("/v1/activities", params={"board": "XYZ"}).status_code == 422


def test_summary_pages_and_exports_csv_without_formulas(system: RunningSystem, summary_provider: dict) -> None:
    with system.client(summary_provider["api_key"]) as client:
        pages = [client.get("/v1/activities", params={"page": n, "page_size": 2}).json() for n in (1, 2, 3)]
        assert [p["total"] for p in pages] == [3, 3, 3]
        assert [len(p["activities"]) for p in pages] == [2, 1, 0]
        assert client.get("/v1/activities", params={"page_size": 1001}).status_code == 422
        export = client.get("/v1/activities", params={"format": "csv"})
        assert export.headers["content-type"].startswith("text/csv")
        assert "attachment" in export.headers["content-disposition"]
        table = list(csv.reader(io.StringIO(export.text)))
        assert table[0][:2] == ["ACCME Activity ID", "Activity Title"] and len(table) == 4
        titles = {row[1] for row in table[1:]}
        assert '\'=HYPERLINK("http://x")' in titles and "An Other is an Other" in titles
        assert not any(cell.startswith(("=", "+", "@")) for row in table for cell in row)


def test_detail_lists_records_per_board(system: RunningSystem, summary_provider: dict) -> None:
    p = summary_provider
    with system.client(p["api_key"]) as client:
        detail = client.get(f"/v1/activities/{p['other']}").json()
        assert (detail["title"], detail["start_date"], detail["end_date"], detail["reporting_year"]) == (
            "An Other is an Other", "2019-01-01", "2019-12-31", 2019)
        assert [(b["board"], b["name"], b["max_points"], b["accepted"], b["rejected"]) for b in detail["boards"]] == [
            ("ABIM", "American Board of Internal Medicine", "500", 1, 1),
            ("ABPATH", "American Board of Pathology", "500", 0, 0)]
        abim = detail["records_by_board"]["ABIM"]
        assert [(r["first_name"], r["status"], [e["code"] for e in r["errors"]]) for r in abim] == [
            ("Test10", "Accepted", []), ("Test11", "Rejected", [664])]
        assert abim[0]["credit_types"] == [ABIM_MK] and abim[0]["credits"] == "2"
        only = client.get(f"/v1/activities/{p['other']}", params={"board": "ABPATH"}).json()
        assert only["records_by_board"] == {} and [b["board"] for b in only["boards"]] == ["ABPATH"]
        export = client.get(f"/v1/activities/{p['other']}", params={"format": "csv"}).text
        assert "Test10" in export and "664: Diplomate date of birth" in export
        assert client.get("/v1/activities/999999999").status_code == 404
        assert client.get("/v1/activities/not-an-id").status_code == 404


def test_learners_for_an_unknown_activity_are_refused_whole(system: RunningSystem, summary_provider: dict) -> None:
    with system.client(summary_provider["api_key"]) as client:
        response = client.post("/v1/activities/999999999/learners",
                               json={"board": "NC", "learners": [learner("A", "B", "999993", "07/01", "05/25/2019", 1)]})
        assert response.status_code == 404
        assert client.get("/v1/learner-records", params={"last_name": "B"}).json()["total"] == 0
