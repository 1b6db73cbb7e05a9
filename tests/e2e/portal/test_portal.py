"""The provider portal in a real headless Chromium, walked as provider staff would (SPEC 3.5):
sign in with the API key, the Activity Learner Summary, Activity Detail with Add Learners
Manually (a board error on one row, fixed and saved), record details with Delete, Batch Upload
with live progress and Download Errors, Learner Search with Export, and every page at phone width.

Activities are registered through the API beforehand: registration is not a portal screen."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import asyncpg
import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Download, Page, Route, expect

from pars_contracts.codes import ERROR_MESSAGES, resolution
from tests.e2e.portal.portal_helpers import browser_fixtures
from tests.support import http
from tests.support.browser import screenshot_path
from tests.support.system import YEAR, RunningSystem, eventually

pytestmark = pytest.mark.integration

TITLE = "Annual Meeting: Ophthalmology & North Carolina"
HOSTILE = '<script>alert("x")</script> Grand Rounds'
AMA = "AMA PRA Category 1 Credit"


# An hour of board time per second: ABIM's hourly batch decides within seconds.


def register(client: httpx.Client, title: str, boards: dict[str, list[str]], year: int = YEAR,
             provider_activity_id: str = "AM-1") -> str:
    response = client.post("/v1/activities", json={
        "title": title, "activity_type": "Course", "provider_activity_id": provider_activity_id,
        "start_date": f"{year}-01-01", "end_date": f"{year}-12-31", "reporting_year": year, "ama_credits": 20,
        "registrations": [{"board": b, "credit_types": t, "max_points": 20} for b, t in boards.items()]})
    assert response.status_code == 201, response.text
    return response.json()["activity_id"]


@pytest.fixture(scope="module")
def provider(system: RunningSystem) -> Iterator[dict]:
    created = system.new_provider(name="Western Regional Medical Center")
    with system.client(created["api_key"]) as client:
        activity = register(client, TITLE, {"NC": [AMA, "Controlled Substance"], "ABO": ["ABO MOC Part II"],
                                            "ABIM": ["ABIM Medical Knowledge"]})
        hostile = register(client, HOSTILE, {"TN": [AMA]}, provider_activity_id="GR-2")
        last_year = register(client, "Last Year's Course", {"NC": [AMA]}, year=YEAR - 1, provider_activity_id="LY")
        yield {**created, "client": client, "activity": activity, "hostile": hostile, "last_year": last_year}


context, page = browser_fixtures("system")


def downloaded(download: Download) -> str:
    path = download.path()
    assert path is not None
    return Path(path).read_bytes().decode("utf-8-sig")


def test_sign_in_with_the_api_key_and_sign_out(browser: Browser, system: RunningSystem, provider: dict) -> None:
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(f"{system.url}/portal/search")
    expect(page).to_have_url(f"{system.url}/portal/sign-in?next=%2Fportal%2Fsearch")
    page.get_by_label("API key").fill("pars_not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("The API key is not valid. Check it and try again.")
    page.get_by_label("API key").fill(provider["api_key"])
    page.keyboard.press("Enter")  # the form works from the keyboard
    expect(page.get_by_role("heading", name="Learner Search")).to_be_visible()  # back where it was going
    expect(page.get_by_text("Western Regional Medical Center")).to_be_visible()
    # A server-side session: the cookie holds a random session id, never the API key.
    cookie = next(c for c in ctx.cookies() if c["name"] == "pars_session")
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict", "/")
    assert provider["api_key"] not in str(ctx.cookies()) and len(cookie["value"]) >= 40
    assert "pars_session" not in page.evaluate("document.cookie")
    with http.Client(base_url=system.url, cookies={"pars_session": cookie["value"]}) as copied:
        assert copied.get("/v1/activities").status_code == 200

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_have_text("You are signed out.")
    assert not [c for c in ctx.cookies() if c["name"] == "pars_session"]
    page.goto(f"{system.url}/portal/activities")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    ctx.close()
    # Signing out revoked the session: the old cookie, copied before, no longer works anywhere.
    with http.Client(base_url=system.url, cookies={"pars_session": cookie["value"]}) as copied:
        assert copied.get("/v1/activities").status_code == 401
        assert copied.get("/portal/activities").status_code == 303

    # Another site cannot sign a visitor in (login CSRF), nor out.
    forged = http.post(f"{system.url}/portal/sign-in", data={"api_key": provider["api_key"]},
                        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert forged.status_code == 403 and "set-cookie" not in forged.headers


def test_api_keys_are_listed_created_and_revoked(browser: Browser, system: RunningSystem) -> None:
    own = system.new_provider(name="Keys Test Hospital")
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(f"{system.url}/portal/sign-in")
    page.get_by_label("API key").fill(own["api_key"])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", name="API keys", exact=True)).to_be_visible()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("First key (this session)")
    assert own["api_key"] not in page.content()

    page.get_by_label("Label").fill("LMS nightly export")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_role("status")).to_contain_text("will not be shown again")
    new_key = page.get_by_role("textbox", name="API key").input_value()
    assert new_key.startswith("pars_")
    expect(rows).to_have_count(2)
    expect(page.locator("tbody tr", has_text="LMS nightly export")).to_contain_text("Never")
    # A new key submits and reads but manages no keys, and has no expiry unless one is chosen.
    expect(page.locator("tbody tr", has_text="LMS nightly export")).to_contain_text("Submit and read")
    expect(page.locator("tbody tr", has_text="LMS nightly export")).to_contain_text("No expiry")
    with system.client(new_key) as client:
        assert client.get("/v1/activities").status_code == 200
        page.goto(f"{system.url}/portal/api-keys")  # the key is shown once only
        assert new_key not in page.content()
        expect(page.locator("tbody tr", has_text="LMS nightly export")).not_to_contain_text("Never")

        page.get_by_role("button", name="Revoke LMS nightly export").click()
        expect(rows).to_have_count(1)
        assert client.get("/v1/activities").status_code == 401  # revoked at once

    # Revoking the key this session was opened with ends the session.
    page.get_by_role("button", name="Revoke First key").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(f"{system.url}/portal/api-keys")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    ctx.close()


def test_activity_learner_summary_filters_and_exports(page: Page, system: RunningSystem, provider: dict) -> None:
    page.goto(f"{system.url}/portal/activities")
    expect(page.get_by_label("Reporting year")).to_have_value(str(YEAR))  # today's reporting year by default
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(2)
    # A title is shown as text, never run as markup.
    expect(page.get_by_role("cell", name=HOSTILE, exact=True)).to_be_visible()
    assert page.locator("main script").count() == 0
    row = rows.filter(has_text=TITLE)
    expect(row.get_by_role("cell")).to_have_text([provider["activity"], TITLE, "Course", "NC, ABO, ABIM MULTIPLE",
                                                  "–", "0", "0", "0", "Add participants"])

    page.get_by_label("Activity title").fill("ophthalmology")
    page.get_by_label("Board or program name").select_option("ABO")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(page.get_by_text("Showing 1 - 1 of 1 Activities")).to_be_visible()
    page.screenshot(path=str(screenshot_path("portal-activity-summary")), full_page=True)
    with page.expect_download() as info:
        page.get_by_role("link", name="Export results (CSV)").click()
    exported = list(csv.reader(io.StringIO(downloaded(info.value))))
    assert exported[0][:3] == ["ACCME Activity ID", "Activity Title", "Activity Type"]
    assert [r[:2] for r in exported[1:]] == [[provider["activity"], TITLE]]

    page.get_by_label("Activity title").fill("")
    page.get_by_label("Board or program name").select_option("")
    page.get_by_label("Reporting year").select_option("")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(3)
    page.get_by_label("Reporting year").select_option(str(YEAR - 1))
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Last Year's Course")
    page.get_by_label("Activity title").fill("nothing like this")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text(f"No activities match these filters for reporting year {YEAR - 1}.")).to_be_visible()


def fill_learner(row, first: str, last: str, learner_id: str, dob: str, completed: str, credits: str) -> None:  # noqa: ANN001
    row.get_by_label("First name").fill(first)
    row.get_by_label("Last name").fill(last)
    row.get_by_label("Date completed").fill(completed)
    row.get_by_label("Date of birth").fill(dob)
    row.get_by_label("Learner ID #").fill(learner_id)
    row.get_by_label("Credits/points").fill(credits)


def test_add_learners_manually_shows_errors_per_row(page: Page, system: RunningSystem, provider: dict) -> None:
    page.goto(f"{system.url}/portal/activities?title=Ophthalmology")
    page.get_by_role("link", name=provider["activity"]).click()
    expect(page.get_by_role("heading", name=TITLE, exact=True)).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text(f"01/01/{YEAR}")
    page.get_by_label("Board or program").select_option("NC")
    page.get_by_role("button", name="Select board or program").click()
    expect(page.get_by_role("heading", name="Learner Data: NC North Carolina Medical Board")).to_be_visible()
    expect(page.get_by_text("No learner records for NC yet.")).to_be_visible()
    expect(page.get_by_text("In submitting learner completion data for this CME activity, you: 1) attest that you "
                            "have obtained permission")).to_be_visible()

    add = page.get_by_role("button", name="+ Add learners manually")
    add.focus()
    page.keyboard.press("Enter")  # from the keyboard: the new row's first field takes the focus
    rows = page.locator(".learner-row")
    expect(rows.first.get_by_label("First name")).to_be_focused()
    add.click()
    add.click()
    expect(rows).to_have_count(3)
    page.get_by_role("button", name="Remove learner 3").click()
    expect(rows).to_have_count(2)
    fill_learner(rows.nth(0), "Traci", "Test", "999993", "07/01", f"05/25/{YEAR}", "5")
    fill_learner(rows.nth(1), "Traci", "Test", "999998", "07/01", f"05/25/{YEAR}", "5")
    expect(rows.nth(1).get_by_label(AMA)).to_be_checked()  # the board's first credit type by default
    page.get_by_role("button", name="Save").click()

    error = f"999998 - 664: {ERROR_MESSAGES[664]}How to resolve 664: {resolution(664)}"
    expect(rows).to_have_count(1, timeout=15000)  # the saved row left the form
    expect(rows.first.get_by_label("Learner ID #")).to_have_value("999998")
    expect(rows.first.locator(".row-errors")).to_have_text(error)
    expect(page.locator("#save-errors")).to_have_text(f"Errors:{error}")
    expect(page.locator("#save-errors")).to_have_attribute("role", "alert")
    records = page.locator("#records tbody tr")
    expect(records).to_have_count(1)
    expect(records.first).to_contain_text("999993")
    expect(records.first).to_contain_text("Accepted")
    page.screenshot(path=str(screenshot_path("portal-add-learners-error")), full_page=True)

    rows.first.get_by_label("Date of birth").fill("08/02")  # corrected
    page.get_by_role("button", name="Save").click()
    expect(rows).to_have_count(0, timeout=15000)
    expect(page.locator("#save-errors")).to_be_empty()
    expect(page.get_by_role("status")).to_have_text("1 learner record(s) saved.")
    expect(records).to_have_count(2)
    expect(records.filter(has_text="999998")).to_contain_text("Accepted")
    expect(records.filter(has_text="999998")).to_contain_text(AMA)
    expect(page.locator("#board-counts")).to_contain_text("0 Submitted, 2 Accepted, 0 Rejected")
    page.screenshot(path=str(screenshot_path("portal-activity-detail")), full_page=True)


def insert_learners(system: RunningSystem, provider_id: str, activity_id: str, count: int) -> None:
    """`count` NC records of learners 0000001... straight into intake's table (every fifth Rejected):
    many records without waiting for the pipeline."""
    async def insert() -> None:
        conn = await asyncpg.connect(system.env["DATABASE_URL"])
        try:
            await conn.execute(
                f"INSERT INTO {system.namespace}_intake.records (record_id, submission_id, row_number, provider_id, "
                "source, activity_id, board, action, learner_id, first_name, last_name, date_of_birth, "
                "completion_date, credits, credit_types, outcome, status) "
                "SELECT 'paged-' || $2 || '-' || n, 'paged-' || $2, n, $1, 'service', $2, 'NC', 'Add', "
                "lpad(n::text, 7, '0'), 'Learner', 'Paged' || lpad(n::text, 3, '0'), '01/01', $4::date, '1', "
                "'[\"AMA PRA Category 1 Credit\"]'::jsonb, 'Valid', "
                "CASE WHEN n % 5 = 0 THEN 'Rejected' ELSE 'Accepted' END FROM generate_series(1, $3) n",
                provider_id, activity_id, count, date(YEAR, 2, 1))
        finally:
            await conn.close()

    # Playwright's sync API runs an event loop in this thread: the insert runs in one of its own.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, insert()).result()


def test_activity_detail_pages_and_filters_the_learner_data(page: Page, system: RunningSystem, provider: dict) -> None:
    """The seed's Activity Detail: "Learner Data Showing lines 1 - 20 of 189 result(s) found" with
    FILTER OPTIONS; a page of 20 lines, never the activity's every record."""
    activity = register(provider["client"], "Paged Grand Rounds", {"NC": [AMA]}, provider_activity_id="PG-1")
    insert_learners(system, provider["provider_id"], activity, 45)
    page.goto(f"{system.url}/portal/activities/{activity}")
    lines, rows = page.locator("#learner-lines"), page.locator("#records tbody tr")
    expect(lines).to_have_text("Showing lines 1 - 20 of 45 result(s) found")
    expect(rows).to_have_count(20)
    expect(rows.first).to_contain_text("Paged001")
    page.get_by_role("link", name="Next page").click()
    expect(lines).to_have_text("Showing lines 21 - 40 of 45 result(s) found")
    expect(rows.first).to_contain_text("Paged021")
    page.get_by_role("link", name="Next page").click()
    expect(rows).to_have_count(5)
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)

    status, last_name = page.locator("#filter-status"), page.locator("#filter-last-name")
    filter_button = page.get_by_role("button", name="Filter", exact=True)
    page.locator("#filter-options summary").click()
    status.select_option("Rejected")
    filter_button.click()
    expect(lines).to_have_text("Showing lines 1 - 9 of 9 result(s) found")
    expect(rows).to_have_count(9)
    expect(rows.filter(has_text="Accepted")).to_have_count(0)
    status.select_option("")
    last_name.fill("paged042")
    filter_button.click()
    expect(lines).to_have_text("Showing lines 1 - 1 of 1 result(s) found")
    expect(rows.first).to_contain_text("0000042")
    last_name.fill("Nobody")
    filter_button.click()
    expect(lines).to_have_text("Showing lines 0 - 0 of 0 result(s) found")
    expect(page.get_by_text("No learner records match the filter options.")).to_be_visible()
    page.get_by_role("link", name="Clear filters").click()
    expect(lines).to_have_text("Showing lines 1 - 20 of 45 result(s) found")


def test_a_board_rejection_shows_its_code_and_message(page: Page, system: RunningSystem, provider: dict) -> None:
    client, activity = provider["client"], provider["activity"]
    saved = client.post(f"/v1/activities/{activity}/learners", params={"wait": 10}, json={"board": "ABIM", "learners": [
        {"first_name": "Test11", "last_name": "Account11", "learner_id": "1000104", "date_of_birth": "01/01",
         "completion_date": f"01/12/{YEAR}", "credits": "2", "credit_types": ["ABIM Medical Knowledge"]}]})
    record_id = saved.json()["rows"][0]["record_id"]
    eventually(lambda: client.get(f"/v1/learner-records/{record_id}").json()["status"] == "Rejected",
               what="ABIM to reject Test11")
    page.goto(f"{system.url}/portal/activities/{activity}?board=ABIM")
    row = page.locator("#records tbody tr", has_text="Account11")
    expect(row).to_contain_text("Rejected")
    expect(row).to_contain_text(f"Code 664: {ERROR_MESSAGES[664]}")


def test_record_details_and_delete(page: Page, system: RunningSystem, provider: dict) -> None:
    client, activity = provider["client"], provider["activity"]
    saved = client.post(f"/v1/activities/{activity}/learners", params={"wait": 10}, json={"board": "NC", "learners": [
        {"first_name": "Traci", "last_name": "Test", "learner_id": "999993", "date_of_birth": "07/01",
         "completion_date": f"06/01/{YEAR}", "credits": "3", "credit_types": [AMA, "Controlled Substance"]}]})
    assert saved.json()["rows"][0]["status"] == "Accepted", saved.text
    page.goto(f"{system.url}/portal/activities/{activity}?board=NC")
    page.get_by_role("link", name=f"Details of Traci Test, completed 06/01/{YEAR}").click()
    facts = page.locator("#record-facts")
    expect(page.get_by_role("heading", name="Learner record: Traci Test")).to_be_visible()
    expect(facts).to_contain_text(f"{AMA}, Controlled Substance")
    expect(facts).to_contain_text("999993 (LICENSE)")
    expect(facts).to_contain_text("Accepted")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete this record").click()
    expect(page.get_by_role("status")).to_have_text("The record was deleted.", timeout=15000)
    expect(page.locator("#record-facts .status")).to_have_text("Deleted")
    expect(page.get_by_role("button", name="Delete this record")).to_have_count(0)
    page.screenshot(path=str(screenshot_path("portal-record-deleted")), full_page=True)
    page.get_by_role("link", name="Back to Activity Detail").click()
    expect(page.locator("#records")).not_to_contain_text(f"06/01/{YEAR}")

    # Another provider's activity and record are not found, exactly like unknown ones.
    other = system.new_provider(name="Another Provider")
    with system.client(other["api_key"]) as other_client:
        theirs = register(other_client, "Their Course", {"NC": [AMA]})
    for path, message in ((f"/portal/activities/{theirs}", "Activity not found."),
                          ("/portal/activities/999999999", "Activity not found."),
                          (f"/portal/records/{saved.json()['rows'][0]['record_id']}x", "Learner record not found.")):
        response = page.goto(system.url + path)
        assert response is not None and response.status == 404
        expect(page.get_by_role("alert")).to_have_text(message)


def tab_row(activity: str, learner_id: str, first: str, last: str, dob: str, completed: str, credits: str) -> str:
    return "\t".join(["Learner Template B", "NC", activity, "LICENSE", learner_id, first, last, dob, completed, "Add",
                      credits, AMA])


def test_batch_upload_with_progress_history_and_error_report(page: Page, system: RunningSystem, provider: dict,
                                                              tmp_path: Path) -> None:
    activity = provider["activity"]
    learners = tmp_path / "nc_may_learners.txt"
    learners.write_text("\r\n".join([
        tab_row(activity, "999993", "Traci", "Test", "07/01", f"04/04/{YEAR}", "2"),
        tab_row(activity, "123456", "Nobody", "Known", "01/01", f"04/04/{YEAR}", "2"),
        tab_row(activity, "999998", "Traci", "Test", "07/01", f"04/05/{YEAR}", "2"),
    ]) + "\r\n")
    page.goto(f"{system.url}/portal/uploads")
    expect(page.get_by_text("No uploads in the last 30 days.")).to_be_visible()
    expect(page.locator("#upload-form .attestation")).to_contain_text("In submitting learner completion data")
    page.get_by_label("Tab-delimited file").check()
    page.get_by_label("File", exact=True).set_input_files(learners)
    page.get_by_role("button", name="Upload file").click()
    message = page.locator("#upload-message")
    expect(message).to_have_text("Your file (nc_may_learners.txt) has finished processing: 1 participant(s) added, "
                                 "0 deleted; 1 record(s) processed, 2 not processed. Download the errors from the "
                                 "Upload History below.", timeout=30000)
    page.get_by_role("button", name="Upload additional files").click()  # the completion pop-up
    history = page.locator("#history tbody tr")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text("nc_may_learners.txt")
    expect(history.first).to_contain_text("1 Records Processed")
    expect(history.first).to_contain_text("2 Records Not Processed")
    page.screenshot(path=str(screenshot_path("portal-batch-upload")), full_page=True)
    with page.expect_download() as info:
        page.get_by_role("link", name="Download errors of nc_may_learners.txt (CSV)").click()
    assert info.value.suggested_filename == "nc_may_learners_errors.csv"
    report = list(csv.reader(io.StringIO(downloaded(info.value))))
    assert report[0][17:19] == ["18. Error Code", "19. Error Message"]
    assert sorted((r[4], r[17], r[18]) for r in report[1:]) == [
        ("123456", "661", ERROR_MESSAGES[661]), ("999998", "664", ERROR_MESSAGES[664])]

    # The same file again is refused as a duplicate; a text file is not an XML file.
    page.get_by_role("button", name="Upload file").click()
    expect(page.get_by_role("alert")).to_contain_text("This file was already uploaded")
    page.get_by_label("XML file").check()
    page.get_by_role("button", name="Upload file").click()
    expect(page.get_by_role("alert")).to_have_text("The file selected is not a .xml file. Please upload a .xml file.")
    expect(history).to_have_count(1)


def test_batch_upload_shows_live_progress_while_processing(page: Page, system: RunningSystem,
                                                           provider: dict) -> None:
    """The page polls GET /v1/uploads/{id} until the upload completes. The pipeline finishes a
    small file within a poll, so the first poll's answer is held at half way to see the
    processing message and the progress bar; the following polls reach the real API."""
    activity = provider["activity"]
    rows = [tab_row(activity, "999993", "Traci", "Test", "07/01", f"03/{day:02d}/{YEAR}", "0.25")
            for day in range(1, 29)]
    polls: list[str] = []

    def first_poll_half_way(route: Route) -> None:
        polls.append(route.request.url)
        if len(polls) > 1:
            return route.continue_()
        real = route.fetch().json()
        route.fulfill(json={**real, "status": "processing", "progress": 0.5})

    page.goto(f"{system.url}/portal/uploads")
    page.route(re.compile(r".*/v1/uploads/[0-9a-f-]{36}$"), first_poll_half_way)
    page.get_by_label("File", exact=True).set_input_files(
        {"name": "march.txt", "mimeType": "text/plain", "buffer": ("\r\n".join(rows) + "\r\n").encode()})
    page.get_by_role("button", name="Upload file").click()
    message = page.locator("#upload-message")
    expect(message).to_contain_text("Your file (march.txt) is processing. This may take up to 10 minutes. "
                                    "14 of 28 record(s) done.")
    expect(page.get_by_role("progressbar", name="Upload progress")).to_have_attribute("value", "0.5")
    expect(page.get_by_role("button", name="Upload file")).to_be_disabled()  # one file at a time
    page.screenshot(path=str(screenshot_path("portal-upload-processing")), full_page=True)
    expect(message).to_have_text(
        "Your file (march.txt) has finished processing: 28 participant(s) added, 0 deleted; 28 record(s) processed, "
        "0 not processed.", timeout=30000)
    page.get_by_role("button", name="Upload additional files").click()
    expect(page.get_by_role("progressbar")).to_be_hidden()
    expect(page.locator("#history tbody tr").first).to_contain_text("28 Records Processed")
    assert len(polls) >= 2


def test_learner_search_and_export(page: Page, system: RunningSystem, provider: dict) -> None:
    client, activity = provider["client"], provider["activity"]
    saved = client.post(f"/v1/activities/{activity}/learners", params={"wait": 10}, json={"board": "ABO", "learners": [
        {"first_name": "Vincent", "last_name": "Van Gogh", "learner_id": "98989", "date_of_birth": "03/30",
         "completion_date": f"02/10/{YEAR}", "credits": "0.25", "credit_types": ["ABO MOC Part II"]}]})
    assert saved.json()["rows"][0]["status"] == "Accepted", saved.text
    page.goto(f"{system.url}/portal/search")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Fill in at least one of the required fields: Activity title "
                                                      "keyword, Learner last name, or both dates of the Submission "
                                                      "date range.")
    page.get_by_label("Learner last name").fill("van gogh")
    page.get_by_label("Specialty board").select_option("ABO")
    page.get_by_label("Status").select_option("Accepted")
    page.get_by_role("button", name="Search", exact=True).click()
    found = page.locator("table tbody tr")
    expect(found).to_have_count(1)
    expect(found.first.get_by_role("cell")).to_have_text([
        "Van Gogh", "Vincent", "98989", "ABO", "ABO", activity, TITLE, f"02/10/{YEAR}", f"06/15/{YEAR}", "0.25",
        "ABO MOC Part II", "Accepted", "Details"])
    expect(page.get_by_label("Learner last name")).to_have_value("van gogh")  # the form keeps the criteria
    page.screenshot(path=str(screenshot_path("portal-learner-search")), full_page=True)
    with page.expect_download() as info:
        page.get_by_role("button", name="Export results (CSV)").click()
    assert info.value.suggested_filename == "learner_search.csv"
    exported = list(csv.DictReader(io.StringIO(downloaded(info.value))))
    assert [(r["Last Name"], r["Learner ID"], r["Board"], r["Status"], r["Activity Title"]) for r in exported] == [
        ("Van Gogh", "98989", "ABO", "Accepted", TITLE)]

    # Activity title keyword with a submission date range: every learner of the activity.
    page.goto(f"{system.url}/portal/search")
    page.get_by_label("Activity title keyword").fill("ophthalmology")
    page.locator("#submitted_from").fill(f"{YEAR}-06-01")
    page.locator("#submitted_to").fill(f"{YEAR}-06-30")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_text("Showing 1 - ")).to_be_visible()
    expect(found.filter(has_text="Van Gogh")).to_have_count(1)
    page.get_by_label("Learner last name").fill("Nobody At All")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_text("No learner records match this search.")).to_be_visible()


def test_every_page_fits_a_phone(browser: Browser, context: BrowserContext, system: RunningSystem,
                                 provider: dict) -> None:
    phone = browser.new_context(viewport={"width": 375, "height": 812}, is_mobile=True)
    phone.add_cookies(context.cookies())
    page = phone.new_page()
    saved = provider["client"].post(f"/v1/activities/{provider['activity']}/learners", params={"wait": 10}, json={
        "board": "ABO", "learners": [{"first_name": "Georgia", "last_name": "O'Keeffe", "learner_id": "97979",
                                      "date_of_birth": "11/15", "completion_date": f"05/05/{YEAR}", "credits": "0.25",
                                      "credit_types": ["ABO MOC Part II"]}]})
    record = saved.json()["rows"][0]
    pages = {"summary": "/portal/activities", "detail": f"/portal/activities/{provider['activity']}?board=ABO",
             "record": f"/portal/records/{record['record_id']}", "uploads": "/portal/uploads",
             "search": "/portal/search?last_name=O%27Keeffe", "webhooks": "/portal/webhooks", "keys": "/portal/api-keys"}
    for name, path in pages.items():
        page.goto(system.url + path)
        expect(page.locator("h1")).to_be_visible()
        if name == "detail":
            page.get_by_role("button", name="+ Add learners manually").click()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{name} scrolls sideways at phone width ({width}px)"
        if name in ("detail", "search"):
            page.screenshot(path=str(screenshot_path(f"portal-phone-{name}")), full_page=True)
    wrap = page.locator(".table-wrap")
    assert wrap.evaluate("e => e.scrollWidth > e.clientWidth")  # the wide table scrolls inside its box
    phone.close()
