"""The upload page's REMS submission type in a real headless Chromium (seed 001 230, 258-266: "Submit
Learners for Opioid Analgesic REMS", unavailable to a provider not participating in the REMS
program): a participant sees it and uploads REMS learners with it, and they are Accepted; a
provider that does not take part is not offered it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.portal.portal_helpers import signed_in
from tests.integration.intake_uploads.support import register_activity, row, tab_text
from tests.support.browser import screenshot_path
from tests.support.system import YEAR, RunningSystem

pytestmark = pytest.mark.integration
REMS_CHOICE = "Submit Learners for Opioid Analgesic REMS"
NON_PRESCRIBER = "OA REMS Non-Prescriber"


@pytest.fixture
def page_of(browser: Browser, system: RunningSystem) -> Iterator:
    contexts: list[BrowserContext] = []

    def open_page(api_key: str) -> Page:
        contexts.append(signed_in(browser, system, api_key))
        return contexts[-1].new_page()

    yield open_page
    for ctx in contexts:
        ctx.close()


def test_a_participant_uploads_rems_learners_with_the_rems_choice(system: RunningSystem, page_of,
                                                                    tmp_path: Path) -> None:
    provider = system.new_provider(name="REMS Medical Center", rems_participant=True)
    with system.client(provider["api_key"]) as client:
        activity = register_activity(client, {"REMS": [NON_PRESCRIBER]}, year=YEAR, title="OA REMS Activity")
        cells = [row("REMS", activity, "", "Nora", last, "", f"05/05/{YEAR}", "1", NON_PRESCRIBER) for last in
                 ("Nurse", "Pharmacist")]
        for c in cells:
            c[3] = ""  # no learner id type: a REMS learner needs no board id
        learners = tmp_path / "rems_learners.txt"
        learners.write_text(tab_text(cells))
        page = page_of(provider["api_key"])
        page.goto(f"{system.url}/portal/uploads")
        expect(page.get_by_label("Submit Learners for Licensing or Specialty Board")).to_be_checked()
        page.get_by_label(REMS_CHOICE).check()
        page.get_by_label("File", exact=True).set_input_files(learners)
        page.get_by_role("button", name="Upload file").click()
        expect(page.locator("#upload-message")).to_have_text(
            "Your file (rems_learners.txt) has finished processing: 2 participant(s) added, 0 deleted; "
            "2 record(s) processed, 0 not processed.", timeout=30000)
        page.get_by_role("button", name="Upload additional files").click()
        page.screenshot(path=str(screenshot_path("portal-rems-upload")), full_page=True)
        found = client.get("/v1/learner-records", params={"activity_title": "OA REMS Activity"})
        assert sorted((r["board"], r["status"]) for r in found.json()["records"]) == [("REMS", "Accepted")] * 2, \
            found.text


def test_a_provider_that_does_not_take_part_is_not_offered_rems(system: RunningSystem, page_of) -> None:
    provider = system.new_provider(name="Board Only Medical Center")
    page = page_of(provider["api_key"])
    page.goto(f"{system.url}/portal/uploads")
    expect(page.get_by_label("Submit Learners for Licensing or Specialty Board")).to_be_checked()
    expect(page.get_by_text(REMS_CHOICE)).to_have_count(0)
    expect(page.locator("#submission-type")).to_contain_text("only to providers participating in the REMS program")
