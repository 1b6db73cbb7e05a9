"""The seed's workflows the conformance review found missing or wrong (E5, E8, B11, B14, B16), each
through the paths a provider uses (the HTTP API and web form, tab uploads, the upstream Kafka topic),
on one system with real Kafka and PostgreSQL. ABPATH decides within seconds here: a simulated day
lasts 12 real seconds, so its 12-hourly run comes within 6.

Seed lines are those of document 001 (see docs/seed-decisions.md)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.integration.intake_stream.test_upstream import completion, outcomes_of, send_envelopes
from tests.integration.intake_uploads.support import (
    accepted_upload,
    completed,
    error_rows,
    row,
    tab_text,
)
from tests.support.system import YEAR, RunningSystem, eventually, running_system

pytestmark = pytest.mark.integration
DAY_SECONDS = 12
system = running_system("seed_workflows", BOARD_TIME_SCALE=str(86400 / DAY_SECONDS))
PART_II = "ABPath MOC Part II"
AMA = "AMA PRA Category 1 Credit"
COMPLETED = f"05/05/{YEAR}"


def setup(system: RunningSystem, registrations: dict[str, list[str]]) -> tuple[dict, httpx.Client, str]:
    provider = system.new_provider()
    client = system.client(provider["api_key"])
    response = client.post("/v1/activities", json={
        "title": "Thursday Testing - Maine State Pilot", "activity_type": "Course", "start_date": f"{YEAR}-01-01",
        "end_date": f"{YEAR}-12-31", "reporting_year": YEAR, "ama_credits": 500,
        "registrations": [{"board": b, "credit_types": t, "max_points": 500} for b, t in registrations.items()]})
    assert response.status_code == 201, response.text
    return provider, client, response.json()["activity_id"]


def learner(first: str, last: str, learner_id: str | None, dob: str, credits: Any, *types: str,
            **extra: Any) -> dict:
    return {"first_name": first, "last_name": last, "learner_id": learner_id, "date_of_birth": dob,
            "completion_date": COMPLETED, "credits": credits, "credit_types": list(types), **extra}


def web_form(client: httpx.Client, activity: str, board: str, *learners: dict) -> list[dict]:
    response = client.post(f"/v1/activities/{activity}/learners", params={"wait": 20},
                           json={"board": board, "learners": list(learners)})
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def web_service(client: httpx.Client, *records: dict) -> list[dict]:
    response = client.post("/v1/learner-records", params={"wait": 20}, json={"records": list(records)})
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def codes(row: dict) -> list[int]:
    return [e["code"] for e in row.get("errors", [])]


def record(client: httpx.Client, record_id: str) -> dict:
    return client.get(f"/v1/learner-records/{record_id}").json()


def wait_status(client: httpx.Client, record_id: str, status: str, timeout: float = 60) -> dict:
    eventually(lambda: record(client, record_id).get("status") == status, timeout=timeout,
               what=f"record {record_id} to be {status}")
    return record(client, record_id)


def of_learner(client: httpx.Client, last_name: str) -> list[dict]:
    response = client.get("/v1/learner-records", params={"last_name": last_name})
    assert response.status_code == 200, response.text
    return response.json()["records"]


def statuses(client: httpx.Client, last_name: str) -> list[str]:
    return sorted(r["status"] for r in of_learner(client, last_name))


def new_physician(system: RunningSystem, board: str, id_type: str, first: str, last: str, dob: str,
                  learner_id: str | None = None) -> str:
    """A physician of the board's simulated registry, added or changed (the board's own account)."""
    learner_id = learner_id or f"{uuid.uuid4().int % 10**7:07d}"
    with system.admin() as admin:
        response = admin.post(f"/v1/admin/boards/{board}/physicians", json={"physicians": [
            {"learner_id": learner_id, "id_type": id_type, "first_name": first, "last_name": last,
             "date_of_birth": dob}]})
    assert response.status_code == 202, response.text
    return learner_id


def board_knows(client: httpx.Client, board: str, learner_id: str, first: str, last: str, dob: str) -> None:
    def matches() -> bool:
        answer = client.post("/v1/learner-match", json={"board": board, "learners": [
            {"learner_id": learner_id, "first_name": first, "last_name": last, "date_of_birth": dob}]})
        return answer.status_code == 200 and answer.json()["results"][0]["match"] is True

    eventually(matches, what=f"{board} to know {learner_id} born {dob}")


# --- Resubmission after a rejection (seed 476: "A new record with corrected information must be
# submitted ... removing the rejected record is optional"; 360: the physician may fix their account)

def test_abpath_664_rejections_then_corrected_resubmissions_by_upload(system: RunningSystem) -> None:
    """The seed's Test5 and Test8 (lines 450-451), rejected with 664, then sent again corrected."""
    provider, client, activity = setup(system, {"ABPATH": [PART_II]})
    wrong = [row("ABPATH", activity, "1000109", "Test5", "Account5", "06/16", COMPLETED, "12", PART_II),
             row("ABPATH", activity, "1000112", "Test8", "Account8", "09/13", COMPLETED, "8.5", PART_II)]
    first = completed(client, accepted_upload(client, "May_Learners.txt", tab_text(wrong).encode()))
    assert (first["processed"], first["not_processed"]) == (2, 0)
    for last in ("Account5", "Account8"):
        eventually(lambda last=last: statuses(client, last) == ["Rejected"], what=f"ABPATH to reject {last}")
        assert [e["code"] for e in of_learner(client, last)[0]["errors"]] == [664]

    corrected = [row("ABPATH", activity, "1000109", "Test5", "Account5", "06/15", COMPLETED, "12", PART_II),
                 row("ABPATH", activity, "1000112", "Test8", "Account8", "09/12", COMPLETED, "8.5", PART_II)]
    again = completed(client, accepted_upload(client, "May_Learners_corrected.txt", tab_text(corrected).encode()))
    assert (again["processed"], again["not_processed"]) == (2, 0)  # no 603: the rejected ones block nothing
    for last in ("Account5", "Account8"):
        eventually(lambda last=last: statuses(client, last) == ["Accepted", "Rejected"],
                   what=f"ABPATH to accept corrected {last}")

    # The corrected Add is live: sent again it is a duplicate (603), exactly as before.
    dup = completed(client, accepted_upload(client, "May_Learners_again.txt", tab_text(corrected[:1]).encode()))
    assert (dup["processed"], dup["not_processed"]) == (0, 1)
    assert error_rows(client, dup["upload_id"])[0][17] == "603"


def test_unchanged_row_after_the_physician_fixed_their_account_and_a_delete_finds_the_live_one(
        system: RunningSystem) -> None:
    provider, client, activity = setup(system, {"ABPATH": [PART_II]})
    learner_id = new_physician(system, "ABPATH", "ABPATH", "Paula", "Fixer", "03/01")
    sent = [row("ABPATH", activity, learner_id, "Paula", "Fixer", "03/02", COMPLETED, "4", PART_II)]
    completed(client, accepted_upload(client, "fixer.txt", tab_text(sent).encode()))
    eventually(lambda: statuses(client, "Fixer") == ["Rejected"], what="ABPATH to reject (664)")

    new_physician(system, "ABPATH", "ABPATH", "Paula", "Fixer", "03/02", learner_id)  # her board account fixed
    board_knows(client, "ABPATH", learner_id, "Paula", "Fixer", "03/02")
    view = completed(client, accepted_upload(client, "fixer.txt", tab_text(sent).encode(), allow_duplicate=True))
    assert (view["processed"], view["not_processed"]) == (1, 0)  # the same row, the same credit id: new
    eventually(lambda: statuses(client, "Fixer") == ["Accepted", "Rejected"], what="ABPATH to accept it")
    rejected, live = sorted(of_learner(client, "Fixer"), key=lambda r: r["status"] != "Rejected")

    # Seed 559: a tab Delete "with the same information as ... originally" removes the live record,
    # never the rejected one that shares its credit id.
    delete = [row("ABPATH", activity, learner_id, "Paula", "Fixer", "03/02", COMPLETED, "4", PART_II, action="Delete")]
    gone = completed(client, accepted_upload(client, "fixer_delete.txt", tab_text(delete).encode()))
    assert (gone["processed"], gone["not_processed"]) == (1, 0)
    wait_status(client, live["record_id"], "Deleted")
    assert record(client, rejected["record_id"])["status"] == "Rejected"


def test_explicit_credit_id_reused_after_a_rejection_by_web_service(system: RunningSystem) -> None:
    provider, client, activity = setup(system, {"ABPATH": [PART_II]})
    credit_id = f"ccid:testProvider.org:{uuid.uuid4().hex[:8]}"
    test8 = {"activity_id": activity, "board": "ABPATH", "action": "Add", "learner_id_type": "ABPATH",
             "credit_id": credit_id, **learner("Test8", "Account8", "1000112", "09/13", 8.5, PART_II)}
    [first] = web_service(client, test8)
    assert first["status"] == "Submitted"
    wait_status(client, first["record_id"], "Rejected")

    [second] = web_service(client, test8 | {"date_of_birth": "09/12"})  # the same credit id, corrected
    assert second["status"] == "Submitted", second
    wait_status(client, second["record_id"], "Accepted")
    [third] = web_service(client, test8 | {"date_of_birth": "09/12"})
    assert codes(third) == [603]  # a live record holds the id

    # A web-service Delete repeats the credit id and every completion field (seed 001 567): the
    # rejected record's date of birth finds nothing, the live record's removes it.
    [other] = web_service(client, test8 | {"action": "Delete"})
    assert codes(other) == [605], other
    [delete] = web_service(client, test8 | {"date_of_birth": "09/12", "action": "Delete"})
    assert delete["status"] in ("Deleted", "Submitted", "Accepted"), delete
    wait_status(client, second["record_id"], "Deleted")
    assert record(client, first["record_id"])["status"] == "Rejected"


def test_rejection_then_corrected_resubmission_over_the_upstream_topic(system: RunningSystem) -> None:
    provider, client, activity = setup(system, {"ABPATH": [PART_II]})
    pid = provider["provider_id"]
    credit_id = f"ccid:lms.example:{uuid.uuid4().hex[:8]}"
    test5 = {"board": "ABPATH", "learner_id_type": "ABPATH", "learner_id": "1000109", "first_name": "Test5",
             "last_name": "Account5", "date_of_birth": "06/16", "credits": "12", "credit_types": [PART_II]}
    wrong = completion(pid, activity, credit_id, "05-05", test5, payload__completion_date=f"{YEAR}-05-05")
    send_envelopes(system, pid, [wrong])
    [outcome] = outcomes_of(system, pid, [wrong.message_id])[wrong.message_id]
    record_id = outcome.payload["record_id"]
    wait_status(client, record_id, "Rejected")

    fixed = completion(pid, activity, credit_id, "05-05", test5 | {"date_of_birth": "06/15"},
                       payload__completion_date=f"{YEAR}-05-05")
    send_envelopes(system, pid, [fixed])
    [again] = outcomes_of(system, pid, [fixed.message_id])[fixed.message_id]
    assert not again.payload.get("errors"), again.payload
    wait_status(client, again.payload["record_id"], "Accepted")


# --- The Traci Tester pair (seed 529-530): two ACCEPTED records of one day, DOBs 11/10 and 12/7 ---

def test_the_traci_tester_pair_are_both_stored(system: RunningSystem) -> None:
    provider, client, activity = setup(system, {"ME-MD": [AMA]})
    first = web_form(client, activity, "ME", learner("Traci", "Tester", "MD9966", "11/10", 14, AMA,
                                                     learner_id_type="LICENSE"))
    assert first[0]["status"] == "Accepted", first
    # The Maine board knows her as born 11/10 and does not compare dates of birth (seed: both ACCEPTED).
    second = web_form(client, activity, "ME", learner("Traci", "Tester", "MD9966", "12/7", 14, AMA,
                                                      learner_id_type="LICENSE"))
    assert second[0]["status"] == "Accepted", second  # not 603: another date of birth, another record
    found = of_learner(client, "Tester")
    # Two records, both Accepted, under the Maine board the activity registers.
    assert sorted((r["status"], r["board"]) for r in found if r["activity_id"] == activity) == [
        ("Accepted", "ME-MD"), ("Accepted", "ME-MD")]
    # The seed's "ME" finds them in Learner Search, as does the board's own code.
    for code in ("ME", "ME-MD"):
        searched = client.get("/v1/learner-records", params={"last_name": "Tester", "state_board": code}).json()
        assert {r["record_id"] for r in searched["records"] if r["activity_id"] == activity} == {
            r["record_id"] for r in found if r["activity_id"] == activity}, code


# --- Learners and boards as the seed writes them ---

def test_me_rows_and_an_npi_only_state_learner_by_web_service_upload_and_upstream(system: RunningSystem) -> None:
    """Seed 82-83 and 116-117: "ME" for either Maine board; 48: a state learner by "either ID"."""
    provider, client, activity = setup(system, {"ME-MD": [AMA], "NC": [AMA]})
    pid = provider["provider_id"]
    nora = {"activity_id": activity, "board": "ME", "action": "Add",
            "credit_id": f"ccid:lms.example:{uuid.uuid4().hex[:8]}",
            **learner("Nora", "Npi", None, "10/10", 2, AMA, npi="1122334455")}
    [by_service] = web_service(client, nora)
    assert by_service["status"] == "Accepted", by_service
    stored = record(client, by_service["record_id"])
    assert stored["board"] == "ME-MD"
    # Known by the NPI alone: the record shows and is found by it (seed 48, "either ID").
    assert (stored["learner_id"], stored["learner_id_type"]) == ("1122334455", "NPI"), stored
    by_npi = client.get("/v1/learner-records", params={"last_name": "Npi", "learner_id": "1122334455",
                                                       "id_type": "NPI"}).json()["records"]
    assert [r["record_id"] for r in by_npi] == [by_service["record_id"]]

    upload = [row("ME", activity, "MD9966", "Traci", "Tester", "11/10", COMPLETED, "3", AMA, id_type="LICENSE"),
              row("NC", activity, "", "Traci", "Test", "07/01", COMPLETED, "5", AMA, id_type="NPI")]
    upload[1][4] = "1234567893"  # the tab file has no NPI column: an NPI is given as the learner id
    view = completed(client, accepted_upload(client, "maine.txt", tab_text(upload).encode()))
    assert (view["processed"], view["not_processed"]) == (2, 0), error_rows(client, view["upload_id"])

    # NC by NPI alone, in the web form's NPI field (Learner ID blank).
    [nc] = web_form(client, activity, "NC", learner("Traci", "Test", None, "07/01", 1, AMA, npi="1234567893",
                                                    completion_date=f"05/06/{YEAR}"))
    assert nc["status"] == "Accepted", nc

    upstream = completion(pid, activity, f"ccid:lms.example:{uuid.uuid4().hex[:8]}", "05-05",
                          {"board": "ME", "learner_id_type": "LICENSE", "learner_id": "MD9966",
                           "first_name": "Traci", "last_name": "Tester", "date_of_birth": "11/10",
                           "credits": "1", "credit_types": [AMA]},
                          payload__completion_date=f"{YEAR}-05-07")
    send_envelopes(system, pid, [upstream])
    [outcome] = outcomes_of(system, pid, [upstream.message_id])[upstream.message_id]
    assert not outcome.payload.get("errors"), outcome.payload
    wait_status(client, outcome.payload["record_id"], "Accepted")


def test_me_on_an_activity_with_both_maine_boards_is_a_clear_row_error(system: RunningSystem) -> None:
    provider, client, activity = setup(system, {"ME-MD": [AMA], "ME-DO": [AMA]})
    [row_] = web_form(client, activity, "ME", learner("Traci", "Tester", "MD9966", "11/10", 1, AMA))
    assert codes(row_) == [713]
    assert row_["errors"][0]["message"] == "Activity registration type is not valid."  # the seed's, exactly
    assert "ME-MD or ME-DO" in row_["errors"][0]["resolution"]
    [by_code] = web_form(client, activity, "ME-DO", learner("Owen", "Osteo", "DO1234", "06/06", 1, AMA))
    assert by_code["status"] == "Accepted", by_code


def test_a_stray_row_inside_a_good_file_is_that_rows_error(system: RunningSystem) -> None:
    """Seed 221: "PARS will not reject entire files due to data entry errors"."""
    provider, client, activity = setup(system, {"ME-MD": [AMA]})
    good = row("ME-MD", activity, "MD9966", "Traci", "Tester", "11/10", COMPLETED, "2", AMA, id_type="LICENSE")
    stray = ["Totals", "", "", "", "", "", "", "", "", "", "2"]
    view = completed(client, accepted_upload(client, "with_totals.txt", tab_text([good, stray]).encode()))
    assert (view["records"], view["processed"], view["not_processed"]) == (2, 1, 1)
    [reported] = error_rows(client, view["upload_id"])
    assert reported[0] == "Totals" and "803" in reported[17]
    assert statuses(client, "Tester") == ["Accepted"]
