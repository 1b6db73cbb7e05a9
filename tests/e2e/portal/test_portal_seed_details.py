"""The seed's last portal details in a real headless Chromium (review-seed-conformance-2, rows 9-13,
15, 16): a web-form row decided after Save's wait still shows its outcome; the upload's processing
wording, the completion pop-up with the participants added and deleted; RPC ID on Activity Detail;
EXPORT ALL and a Yes/No column per credit type on Learner Records; the Web Services Guide link."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect

from pars_contracts.codes import ERROR_MESSAGES
from tests.e2e.portal.portal_helpers import browser_fixtures, provider_fixture
from tests.support.system import YEAR, RunningSystem

pytestmark = pytest.mark.integration

AMA = "AMA PRA Category 1 Credit"
OPIOIDS = "Prescribing of Opioid Education"

provider = provider_fixture("system", "Seed Details Medical Center")
context, page = browser_fixtures("system")


@pytest.fixture(scope="module")
def activity(provider: dict) -> str:
    response = provider["client"].post("/v1/activities", json={
        "title": "Thursday Testing - Maine State Pilot", "activity_type": "Course", "provider_activity_id": "ME-PILOT",
        "start_date": f"{YEAR}-01-01", "end_date": f"{YEAR}-12-31", "reporting_year": YEAR, "ama_credits": 500,
        "registrations": [{"board": "ME-MD", "credit_types": [AMA, OPIOIDS], "max_points": 500},
                          {"board": "NC", "credit_types": [AMA], "max_points": 500}]})
    assert response.status_code == 201, response.text
    return response.json()["activity_id"]


def fill(row, first: str, last: str, learner_id: str, dob: str, completed: str, credits: str) -> None:  # noqa: ANN001
    row.get_by_label("First name").fill(first)
    row.get_by_label("Last name").fill(last)
    row.get_by_label("Date completed").fill(completed)
    row.get_by_label("Date of birth").fill(dob)
    row.get_by_label("Learner ID #").fill(learner_id)
    row.get_by_label("Credits/points").fill(credits)


def test_a_row_decided_after_the_wait_shows_its_outcome_in_the_form(page: Page, system: RunningSystem,
                                                                    activity: str) -> None:
    """Seed 001 97: "If any errors occurred ... an error message will appear". Save's answer is
    held back as if the wait had ended first (every row Pending); the form then reads the
    submission and shows each row's outcome once known."""
    def as_if_still_pending(route: Route) -> None:
        real = route.fetch().json()
        route.fulfill(status=202, json={**real, "complete": False, "rows": [
            {"row": r["row"], "record_id": r["record_id"], "credit_id": r.get("credit_id"), "status": "Pending"}
            for r in real["rows"]]})

    page.goto(f"{system.url}/portal/activities/{activity}?board=NC")
    page.route(re.compile(r".*/v1/activities/\d+/learners\?wait=.*"), as_if_still_pending)
    page.get_by_role("button", name="+ Add learners manually").click()
    page.get_by_role("button", name="+ Add learners manually").click()
    rows = page.locator(".learner-row")
    fill(rows.nth(0), "Traci", "Test", "999993", "07/01", f"05/25/{YEAR}", "5")
    fill(rows.nth(1), "Traci", "Test", "999998", "07/01", f"05/25/{YEAR}", "5")  # the seed's 664 on NC
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#save-status")).to_contain_text("2 still being validated")

    # The NC board's 664 arrives on the second row; the first, accepted, leaves the form.
    expect(rows).to_have_count(1, timeout=20000)
    expect(rows.first.get_by_label("Learner ID #")).to_have_value("999998")
    expect(rows.first.locator(".row-errors")).to_contain_text(f"999998 - 664: {ERROR_MESSAGES[664]}", timeout=20000)
    expect(page.locator("#records tbody tr").filter(has_text="999993")).to_contain_text("Accepted")


def test_activity_detail_shows_the_rpc_id(page: Page, system: RunningSystem, activity: str) -> None:
    page.goto(f"{system.url}/portal/activities/{activity}")
    expect(page.get_by_text(f"ACCME Activity ID: {activity}, Provider Activity ID: ME-PILOT, RPC ID: N/A")).to_be_visible()


def test_learner_records_have_yes_no_per_credit_type_and_export_all(page: Page, system: RunningSystem,
                                                                    provider: dict, activity: str) -> None:
    """Seed 001 529-557: the Traci Tester pair, AMA PRA CAT 1 Yes and PRESCRIBING OF OPIOID EDUCATION
    No on each, and EXPORT ALL."""
    client = provider["client"]
    traci = {"first_name": "Traci", "last_name": "Tester", "learner_id": "MD9966", "learner_id_type": "LICENSE",
             "completion_date": f"02/18/{YEAR}", "credits": "14", "credit_types": [AMA]}
    saved = client.post(f"/v1/activities/{activity}/learners", params={"wait": 20}, json={
        "board": "ME-MD", "learners": [traci | {"date_of_birth": "11/10"}, traci | {"date_of_birth": "12/7"}]})
    assert [r.get("status") for r in saved.json()["rows"]] == ["Accepted", "Accepted"], saved.text
    page.goto(f"{system.url}/portal/records/{saved.json()['rows'][0]['record_id']}")
    table = page.get_by_role("region", name="The learner's records on the activity")
    expect(table.locator("thead")).to_contain_text(AMA)
    expect(table.locator("thead")).to_contain_text(OPIOIDS)
    head = [c.strip() for c in table.locator("thead th").all_inner_texts()]
    for row in table.locator("tbody tr").all():
        cells = [c.strip() for c in row.locator("td").all_inner_texts()]
        assert (cells[head.index(AMA)], cells[head.index(OPIOIDS)]) == ("Yes", "No"), cells
    expect(page.locator("#learner-total")).to_have_text("Total Credits/Points Earned: 28")

    with page.expect_download() as info:
        page.get_by_role("link", name="Export all (CSV)").click()
    path = info.value.path()
    assert path is not None
    exported = list(csv.DictReader(io.StringIO(Path(path).read_bytes().decode("utf-8-sig"))))
    assert [(r["Learner ID"], r["Status"], r["Credits Accepted"]) for r in exported] == [
        ("MD9966", "Accepted", "14")] * 2


def test_upload_wording_pop_up_with_added_and_deleted_and_the_web_services_guide(
        page: Page, system: RunningSystem, activity: str) -> None:
    """Seed 001 306-312 (the processing message; a pop-up offering to view the submission or upload
    more), S0 82 (the number of participants added or deleted), 001 657 (Web Services Guide)."""
    page.goto(f"{system.url}/portal/uploads")
    guide = page.get_by_role("link", name="Web Services Guide")
    expect(guide).to_have_attribute("href", "/docs")

    held: list[str] = []

    def first_poll_processing(route: Route) -> None:
        held.append(route.request.url)
        if len(held) > 1:
            return route.continue_()
        real = route.fetch().json()
        route.fulfill(json={**real, "status": "processing", "progress": 0.5})

    page.route(re.compile(r".*/v1/uploads/[0-9a-f-]{36}$"), first_poll_processing)
    line = "\t".join(["Learner Template B", "NC", activity, "LICENSE", "999993", "Traci", "Test", "07/01",
                      f"04/04/{YEAR}", "Add", "2", AMA])
    page.get_by_label("File", exact=True).set_input_files(
        {"name": "nc_learners.txt", "mimeType": "text/plain", "buffer": (line + "\r\n").encode()})
    page.get_by_role("button", name="Upload file").click()
    message = page.locator("#upload-message")
    expect(message).to_contain_text("Your file (nc_learners.txt) is processing. This may take up to 10 minutes.")
    expect(message).to_contain_text("You may leave this page while it's processing. We'll send you an email when "
                                    "the process is complete. You can also check the status of your upload in "
                                    "View Upload History.")
    expect(message).to_contain_text("While your file is processing, you can not upload a new file.")
    expect(message.get_by_role("link", name="View Upload History")).to_have_attribute("href", "#history")

    done = page.get_by_role("dialog", name="Your file has finished processing")
    expect(done).to_be_visible(timeout=30000)
    expect(done).to_contain_text("Your file (nc_learners.txt) has finished processing: 1 participant(s) added, "
                                 "0 deleted; 1 record(s) processed, 0 not processed.")
    view = done.get_by_role("link", name="View your submission")
    expect(view).to_have_attribute("href", re.compile(r"^/portal/uploads/[0-9a-f-]{36}/learners$"))
    done.get_by_role("button", name="Upload additional files").click()
    expect(done).to_be_hidden()
    expect(page.get_by_label("File", exact=True)).to_be_focused()
    assert len(held) >= 2  # the held poll, then the real ones
