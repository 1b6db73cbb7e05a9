"""Seed workflows in a real headless Chromium: editing an activity (seed 001 499/501: correct the
activity's date, then the learner refused with 672 goes through; a board with records cannot be
removed), each error's guidance on how to resolve it (seed 001 480-521), and the upload history's
counts with "View" of an upload's processed learners and the boards' rejections in its errors."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from pars_contracts.codes import ERROR_MESSAGES, resolution
from tests.e2e.portal.portal_helpers import browser_fixtures, provider_fixture, register
from tests.support.browser import screenshot_path
from tests.support.system import YEAR, RunningSystem, eventually

pytestmark = pytest.mark.integration
AMA, ABIM_MK = "AMA PRA Category 1 Credit", "ABIM Medical Knowledge"



provider = provider_fixture("system", "Activity Changes Medical Center")


context, page = browser_fixtures("system")


def save(client: httpx.Client, activity: str, board: str, *learners: dict) -> list[dict]:
    response = client.post(f"/v1/activities/{activity}/learners", params={"wait": 15},
                           json={"board": board, "learners": list(learners)})
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def nc(learner_id: str, dob: str, completed: str, credits: str = "2") -> dict:
    return {"first_name": "Traci", "last_name": "Test", "learner_id": learner_id, "date_of_birth": dob,
            "completion_date": completed, "credits": credits, "credit_types": [AMA]}


def test_editing_an_activity_in_the_portal(page: Page, system: RunningSystem, provider: dict) -> None:
    client = provider["client"]
    activity = register(client, "Opioid Prescribing", {"NC": [AMA]}, start=f"{YEAR}-03-01")
    assert save(client, activity, "NC", nc("999993", "07/01", f"03/10/{YEAR}"))[0]["status"] == "Accepted"
    early = nc("999998", "08/02", f"02/01/{YEAR}")
    assert [e["code"] for e in save(client, activity, "NC", early)[0]["errors"]] == [672]

    page.goto(f"{system.url}/portal/activities/{activity}")
    page.get_by_role("link", name="Edit activity").click()
    expect(page.get_by_role("heading", name="Edit activity: Opioid Prescribing")).to_be_visible()
    nc_box = page.locator("fieldset.registration[data-board='NC']")
    expect(nc_box.get_by_label("Registered with NC")).to_be_checked()
    expect(nc_box.get_by_label("Maximum points")).to_have_value("20")

    # Moving the activity from NC (which has a learner record) to ABIM is refused with the API's
    # words; nothing changes.
    abim = page.locator("fieldset.registration[data-board='ABIM']")
    abim.get_by_label("Registered with ABIM").check()
    abim.get_by_label(ABIM_MK).check()
    abim.get_by_label("Maximum points").fill("10")
    nc_box.get_by_label("Registered with NC").uncheck()
    page.get_by_role("button", name="Save activity").click()
    expect(page.locator("#edit-errors")).to_contain_text("A board with learner records cannot be removed")
    expect(page.locator("#edit-errors")).to_contain_text("NC (1 learner record)")
    assert client.get(f"/v1/activities/{activity}").json()["version"] == 1

    # Keep NC, add ABIM, correct the date, retitle.
    nc_box.get_by_label("Registered with NC").check()
    page.get_by_label("Title").fill("Opioid Prescribing (corrected)")
    page.get_by_label("Activity date", exact=True).fill(f"{YEAR}-01-01")
    page.screenshot(path=str(screenshot_path("portal-activity-edit")), full_page=True)
    page.get_by_role("button", name="Save activity").click()
    expect(page.get_by_role("heading", name="Opioid Prescribing (corrected)")).to_be_visible(timeout=15000)
    expect(page.locator(".facts")).to_contain_text(f"01/01/{YEAR}")
    saved = client.get(f"/v1/activities/{activity}").json()
    assert saved["version"] == 2
    assert [(r["board"], r["credit_types"], r["max_points"]) for r in saved["registrations"]] == [
        ("NC", [AMA], "20"), ("ABIM", [ABIM_MK], "10")]

    # The learner refused with 672 goes through now.
    assert save(client, activity, "NC", early)[0]["status"] == "Accepted"


def test_each_error_says_how_to_resolve_it(page: Page, system: RunningSystem, provider: dict) -> None:
    client = provider["client"]
    activity = register(client, "Internal Medicine Update", {"ABIM": [ABIM_MK]})
    [row] = save(client, activity, "ABIM", {
        "first_name": "Test11", "last_name": "Account11", "learner_id": "1000104", "date_of_birth": "01/01",
        "completion_date": f"01/12/{YEAR}", "credits": "2", "credit_types": [ABIM_MK]})
    eventually(lambda: client.get(f"/v1/learner-records/{row['record_id']}").json()["status"] == "Rejected",
               what="ABIM to reject Test11")
    page.goto(f"{system.url}/portal/activities/{activity}?board=ABIM")
    record = page.locator("#records tbody tr", has_text="Account11")
    expect(record).to_contain_text(f"Code 664: {ERROR_MESSAGES[664]}")
    expect(record.locator(".reason")).to_have_attribute("title", resolution(664))  # on hover
    guidance = record.get_by_text(resolution(664))
    expect(guidance).to_be_hidden()
    record.get_by_text("How to resolve 664").click()  # expandable
    expect(guidance).to_be_visible()

    # The web form's Save lists the guidance under the error.
    page.goto(f"{system.url}/portal/activities/{activity}?board=ABIM")
    page.get_by_role("button", name="+ Add learners manually").click()
    learner = page.locator(".learner-row").first
    for label, value in (("First name", "Test11"), ("Last name", "Account11"), ("Learner ID #", "1000104"),
                         ("Date of birth", "11/01"), ("Date completed", f"13/45/{YEAR}"), ("Credits/points", "1")):
        learner.get_by_label(label).fill(value)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#save-errors")).to_contain_text(f"How to resolve 671: {resolution(671)}", timeout=15000)


def tab_row(activity: str, learner_id: str, first: str, last: str, dob: str) -> str:
    return "\t".join(["Learner Template B", "ABIM", activity, "ABIM", learner_id, first, last, dob,
                      f"01/15/{YEAR}", "Add", "1", ABIM_MK])


def test_upload_history_counts_view_and_board_rejections(page: Page, system: RunningSystem, provider: dict,
                                                         tmp_path: Path) -> None:
    client = provider["client"]
    activity = register(client, "Board Review", {"ABIM": [ABIM_MK]})
    text = "\r\n".join([tab_row(activity, "1000105", "Test10", "Account10", "02/01"),
                        tab_row(activity, "1000104", "Test11", "Account11", "01/01"),  # the board rejects (664)
                        tab_row("200608133", "1000113", "Test9", "Account9", "10/01")]) + "\r\n"  # 690
    response = client.post("/v1/uploads", files={"file": ("board_review.txt", text.encode(), "text/plain")})
    assert response.status_code == 202, response.text
    upload_id = response.json()["upload_id"]
    eventually(lambda: client.get(f"/v1/uploads/{upload_id}").json()["rejected"] == 1
               and client.get(f"/v1/uploads/{upload_id}").json()["accepted"] == 1, timeout=60,
               what="ABIM to decide the upload's rows")

    page.goto(f"{system.url}/portal/uploads")
    line = page.locator("#history tbody tr", has_text="board_review.txt")
    expect(line).to_contain_text("2 Records Processed")
    expect(line).to_contain_text("2 added, 0 deleted: 1 accepted, 1 rejected, 0 still submitted")
    expect(line).to_contain_text("1 Records Not Processed")
    with page.expect_download() as info:
        line.get_by_role("link", name="Download errors of board_review.txt (CSV)").click()
    path = info.value.path()
    assert path is not None
    report = list(csv.reader(io.StringIO(Path(path).read_bytes().decode("utf-8-sig"))))
    assert [(r[4], r[17], r[19]) for r in report[1:]] == [("1000104", "664", resolution(664)),
                                                          ("1000113", "690", resolution(690))]
    assert report[1][20] and not report[2][20]  # the board's decision date, for the board's rejection only

    line.get_by_role("link", name="View the processed learners of board_review.txt").click()
    expect(page.get_by_role("heading", name="Processed learners: board_review.txt")).to_be_visible()
    learners = page.locator("#upload-learners tbody tr")
    expect(learners).to_have_count(2)
    expect(learners.nth(0)).to_contain_text("Account10")
    expect(learners.nth(0)).to_contain_text("Accepted")
    expect(learners.nth(1)).to_contain_text("Account11")
    expect(learners.nth(1)).to_contain_text("Rejected")
    expect(learners.nth(1)).to_contain_text("How to resolve 664")
    page.screenshot(path=str(screenshot_path("portal-upload-learners")), full_page=True)
