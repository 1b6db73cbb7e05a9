"""Seed workflows in a real headless Chromium against a real system (seed 001, 159-209 and
525-557): "+ OTHER BOARDS" on a manual-entry row reports the same completion to the activity's
other boards; the learner's records on the activity, with Entered and Accepted credits, the
"Total Credits/Points Earned" and SELECT TO DELETE."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.portal.portal_helpers import browser_fixtures, provider_fixture
from tests.e2e.portal.portal_helpers import register as register_activity
from tests.integration.gateway.gateway_helpers import query
from tests.support.system import YEAR, RunningSystem, eventually

pytestmark = pytest.mark.integration

AMA = "AMA PRA Category 1 Credit"
ABO = "ABO MOC Part II"


def register(client: httpx.Client, title: str, boards: dict[str, list[str]]) -> str:
    return register_activity(client, title, boards, provider_activity_id="OB-1")


provider = provider_fixture("system", "Other Boards Medical Center")


@pytest.fixture(scope="module")
def traci_on_abo(system: RunningSystem, provider: dict) -> str:
    """Traci Test (NC license 999993, born 07/01) is also ABO board-certified: ABO id 55501."""
    with system.admin() as admin:
        response = admin.post("/v1/admin/boards/ABO/physicians", json={"physicians": [
            {"learner_id": "55501", "id_type": "ABO", "first_name": "Traci", "last_name": "Test",
             "date_of_birth": "07/01"}]})
    assert response.status_code == 202, response.text
    def known() -> bool:  # in a thread: Playwright's event loop runs in this one
        with ThreadPoolExecutor(1) as pool:
            return bool(pool.submit(query, system, "SELECT 1 FROM {gw}.physicians WHERE board = 'ABO' "
                                                          "AND learner_id = '55501'").result())

    eventually(known, interval=0.5, what="the ABO registry to know 55501")
    return "55501"


context, page = browser_fixtures("system")


def test_other_boards_on_a_row_reports_the_completion_to_each_chosen_board(
        page: Page, system: RunningSystem, provider: dict, traci_on_abo: str) -> None:
    client = provider["client"]
    activity = register(client, "Eye and Prescribing Update", {"ABO": [ABO], "NC": [AMA, "Controlled Substance"]})
    page.goto(f"{system.url}/portal/activities/{activity}?board=ABO")
    expect(page.get_by_role("heading", name="Learner Data: ABO American Board of Ophthalmology")).to_be_visible()
    add = page.get_by_role("button", name="+ Add learners manually")
    add.click()
    add.click()
    rows = page.locator(".learner-row")
    for row, (first, last, learner_id, dob) in zip(
            (rows.nth(0), rows.nth(1)),
            (("Traci", "Test", traci_on_abo, "07/01"), ("Vincent", "Van Gogh", "98989", "03/30")), strict=True):
        row.get_by_label("First name").fill(first)
        row.get_by_label("Last name").fill(last)
        row.get_by_label("Date completed").fill(f"02/03/{YEAR}")
        row.get_by_label("Date of birth").fill(dob)
        row.get_by_label("Learner ID #").fill(learner_id)
        row.get_by_label("Credits/points").fill("5")

    # Row 1: + OTHER BOARDS, NC with her license; the row's credits come prefilled.
    first = rows.nth(0)
    toggle = first.get_by_role("button", name="+ Other boards")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    nc = first.locator("[data-other-board=NC]")
    expect(nc.get_by_label("Credits or points for NC")).to_have_value("5")
    nc.get_by_label("Also report to NC - North Carolina Medical Board").check()
    nc.get_by_label("Learner ID for NC").fill("999993")
    nc.get_by_label("ID type for NC").select_option("LICENSE")
    nc.get_by_label("Controlled Substance").check()
    # Row 2: NC with a license the board does not know for Vincent: ABO takes him, NC refuses.
    second = rows.nth(1)
    second.get_by_role("button", name="+ Other boards").click()
    second.get_by_label("Also report to NC - North Carolina Medical Board").check()
    second.get_by_label("Learner ID for NC").fill("999998")
    second.get_by_label("ID type for NC").select_option("LICENSE")
    page.get_by_role("button", name="Save").click()

    status = page.locator("#save-status")
    expect(status).to_have_text("2 learner record(s) saved. 1 learner record(s) saved for NC.", timeout=20000)
    expect(rows).to_have_count(1)  # Traci's row left the form: both boards have it
    left = rows.first
    expect(left.get_by_label("Learner ID #")).to_have_value("98989")
    expect(left.locator(".row-errors")).to_contain_text("Saved for ABO; not saved:")
    expect(left.locator(".row-errors")).to_contain_text("NC 999998 - ")
    expect(page.locator("#save-errors")).to_contain_text("NC 999998 - ")
    records = page.locator("#records tbody tr")
    expect(records).to_have_count(2)
    expect(records.filter(has_text="55501")).to_contain_text("Accepted")
    expect(records.filter(has_text="98989")).to_contain_text("Accepted")

    # Saving again sends only what is left (NC for Vincent), not ABO a second time: still refused.
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#save-errors")).to_contain_text("NC 999998 - ", timeout=20000)
    expect(records).to_have_count(2)

    # The NC view of the activity shows Traci's record.
    page.get_by_label("Board or program").select_option("NC")
    page.get_by_role("button", name="Select board or program").click()
    nc_records = page.locator("#records tbody tr")
    expect(nc_records).to_have_count(1)
    expect(nc_records.first).to_contain_text("999993")
    expect(nc_records.first).to_contain_text("Accepted")
    expect(nc_records.first).to_contain_text(f"{AMA}, Controlled Substance")

    by_board = client.get(f"/v1/activities/{activity}").json()["records_by_board"]
    assert sorted((r["learner_id"], r["status"]) for r in by_board["ABO"]) == [
        ("55501", "Accepted"), ("98989", "Accepted")]
    assert [(r["learner_id"], r["learner_id_type"], r["first_name"], r["date_of_birth"], r["completion_date"],
             r["credits"], r["status"]) for r in by_board["NC"]] == [
        ("999993", "LICENSE", "Traci", "07/01", f"{YEAR}-02-03", "5", "Accepted")]


def test_a_single_board_activity_offers_no_other_boards(page: Page, system: RunningSystem,
                                                        provider: dict) -> None:
    activity = register(provider["client"], "Eye Only", {"ABO": [ABO]})
    page.goto(f"{system.url}/portal/activities/{activity}")
    page.get_by_role("button", name="+ Add learners manually").click()
    expect(page.locator(".learner-row")).to_have_count(1)
    expect(page.get_by_role("button", name="+ Other boards")).to_have_count(0)


def test_the_learners_records_on_the_activity_with_totals_and_select_to_delete(
        page: Page, system: RunningSystem, provider: dict, traci_on_abo: str) -> None:
    client = provider["client"]
    activity = register(client, "Maine-style Thursday Testing", {"ABO": [ABO], "NC": [AMA]})
    traci = {"first_name": "Traci", "last_name": "Test", "date_of_birth": "07/01"}
    saved = []
    for board, learner_id, completed, credits, types in (
            ("ABO", traci_on_abo, f"03/05/{YEAR}", "5", [ABO]), ("NC", "999993", f"03/05/{YEAR}", "3", [AMA]),
            ("NC", "999993", f"04/07/{YEAR}", "2", [AMA])):
        answer = client.post(f"/v1/activities/{activity}/learners", params={"wait": 15}, json={"board": board, "learners": [
            {**traci, "learner_id": learner_id, "completion_date": completed, "credits": credits,
             "credit_types": types}]})
        assert answer.status_code == 200 and answer.json()["rows"][0]["status"] == "Accepted", answer.text
        saved.append(answer.json()["rows"][0]["record_id"])

    page.goto(f"{system.url}/portal/records/{saved[0]}")
    section = page.locator("#learner-records")
    expect(section.get_by_role("heading", name="Learner Records")).to_be_visible()
    rows = section.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(section.get_by_text("Total Credits/Points Earned: 10")).to_be_visible()
    expect(rows.nth(1)).to_contain_text("NC")
    expect(rows.nth(1).locator("td.num")).to_have_text(["3", "3"])  # entered, accepted
    rows.nth(0).get_by_role("checkbox").check()
    rows.nth(1).get_by_role("checkbox").check()
    page.once("dialog", lambda dialog: dialog.accept())
    section.get_by_role("button", name="Delete selected").click()

    expect(page.locator("#delete-selected-status")).to_have_text("2 record(s) deleted.", timeout=20000)
    expect(rows.nth(0)).to_contain_text("Deleted")
    expect(rows.nth(1)).to_contain_text("Deleted")
    expect(rows.nth(2)).to_contain_text("Accepted")
    expect(rows.nth(0).get_by_role("checkbox")).to_have_count(0)  # nothing left to delete there
    expect(rows.nth(0).locator("td.num")).to_have_text(["5", "0"])
    expect(section.get_by_text("Total Credits/Points Earned: 2")).to_be_visible()
    expect(page.locator("#record-facts")).to_contain_text("Deleted")

    assert [client.get(f"/v1/learner-records/{r}").json()["status"] for r in saved] == [
        "Deleted", "Deleted", "Accepted"]
    listed = client.get(f"/v1/learner-records/{saved[2]}/learner").json()
    assert listed["total_accepted_credits"] == "2" and len(listed["records"]) == 3
