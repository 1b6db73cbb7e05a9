"""Seed workflows in a real headless Chromium against a real system: the warning a provider
without notification recipients sees and the page that sets them; the upload page's resources
(Template B downloaded, filled in and uploaded back); "+ OTHER BOARDS" on a manual-entry row;
and the learner's records on an activity with their totals and SELECT TO DELETE."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.portal.portal_helpers import browser_fixtures, provider_fixture, signed_in
from tests.e2e.portal.portal_helpers import register as register_activity
from tests.support import http
from tests.support.system import YEAR, RunningSystem

pytestmark = pytest.mark.integration

AMA = "AMA PRA Category 1 Credit"
ABO = "ABO MOC Part II"


def register(client: httpx.Client, title: str, boards: dict[str, list[str]]) -> str:
    return register_activity(client, title, boards, provider_activity_id="WF-1")


provider = provider_fixture("system", "Workflow Medical Center")


context, page = browser_fixtures("system")


def test_a_provider_without_recipients_is_warned_and_sets_them(browser: Browser,
                                                               system: RunningSystem) -> None:
    lonely = system.new_provider(name="Lonely CME", notification_emails=[])
    ctx = signed_in(browser, system, lonely["api_key"])
    page = ctx.new_page()
    page.goto(f"{system.url}/portal/activities")
    warning = page.locator("#no-recipients")
    expect(warning).to_contain_text("Your organization has no notification recipients.")
    page.goto(f"{system.url}/portal/uploads")
    expect(warning).to_be_visible()  # on every page
    warning.get_by_role("link", name="Set notification recipients").click()
    expect(page.get_by_role("heading", name="Notification recipients")).to_be_visible()
    field = page.get_by_label("E-mail addresses (one a line, at most 20)")
    field.fill("not an address")
    page.get_by_role("button", name="Save recipients").click()
    expect(page.get_by_role("alert").filter(has_text="Not an e-mail address")).to_contain_text("not, an, address")
    field.fill("cme-office@lonely.example.org\nmoc@lonely.example.org")
    page.get_by_role("button", name="Save recipients").click()
    expect(page.get_by_role("status")).to_have_text("The notification recipients were saved.")
    expect(page.locator("#current-recipients li")).to_have_text(["cme-office@lonely.example.org",
                                                                 "moc@lonely.example.org"])
    expect(page.locator("#no-recipients")).to_have_count(0)
    with system.client(lonely["api_key"]) as client:
        assert client.get("/v1/provider").json()["notification_emails"] == [
            "cme-office@lonely.example.org", "moc@lonely.example.org"]
    ctx.close()


def test_a_provider_with_recipients_sees_no_warning(page: Page, system: RunningSystem) -> None:
    page.goto(f"{system.url}/portal/activities")
    expect(page.get_by_role("heading", name="Activity Learner Summary")).to_be_visible()
    expect(page.locator("#no-recipients")).to_have_count(0)


def downloaded_text(path: str | None) -> str:
    assert path is not None
    return Path(path).read_bytes().decode("utf-8-sig")


def test_the_upload_page_offers_template_b_schema_samples_and_instructions(
        page: Page, system: RunningSystem, provider: dict) -> None:
    activity = register(provider["client"], "Template B Rounds", {"ABO": [ABO]})
    page.goto(f"{system.url}/portal/uploads")
    resources = page.locator("#resources")
    with page.expect_download() as template:
        resources.get_by_role("link", name="Download tab-delimited participant file template").click()
    assert template.value.suggested_filename == "learner_template_b.txt"
    text = downloaded_text(template.value.path())
    header = text.rstrip("\r\n").split("\t")
    assert header[0] == "1. Template (DO NOT ALTER OR DELETE THIS COLUMN)"  # the seed's header row
    assert header[7] == "8. Date of Birth (MM/DD) -" and header[11] == "12. Activity Certification (1st)"
    assert len(header) == 17 and text.count("\n") == 1
    with page.expect_download() as schema:
        resources.get_by_role("link", name="Download XML Schema").click()
    assert schema.value.suggested_filename == "activityreport.xsd"
    assert 'targetNamespace = "http://ns.medbiq.org/activityreport/v1/"' in downloaded_text(schema.value.path())
    with page.expect_download() as sample:
        resources.get_by_role("link", name="adding learners").click()
    assert "<ar:ActivityReports" in downloaded_text(sample.value.path())

    # The template, filled in with one learner, uploads cleanly.
    row = ["Learner Template B", "ABO", activity, "ABO", "98989", "Vincent", "Van Gogh", "03/30", f"02/10/{YEAR}",
           "Add", "0.25", ABO]
    filled = Path(str(template.value.path()) + "-filled.txt")
    filled.write_text(text + "\t".join(row) + "\r\n", encoding="utf-8")
    page.get_by_label("File", exact=True).set_input_files(str(filled))
    page.get_by_role("button", name="Upload file").click()
    expect(page.locator("#upload-message")).to_contain_text("1 record(s) processed, 0 not processed",
                                                            timeout=60_000)
    page.get_by_role("button", name="Upload additional files").click()  # the completion pop-up
    records = provider["client"].get(f"/v1/activities/{activity}").json()["records_by_board"]["ABO"]
    assert [(r["learner_id"], r["status"]) for r in records] == [("98989", "Accepted")]

    page.get_by_role("link", name="Tab-delimited and XML file instructions").click()
    expect(page.get_by_role("heading", name="Batch upload file instructions")).to_be_visible()
    expect(page.locator("#tab-instructions")).to_contain_text("1. Template (DO NOT ALTER OR DELETE THIS COLUMN)")
    expect(page.locator("#xml-instructions")).to_contain_text("MedBiquitous Activity Report v1 schema")
    # Only the resources are served: nothing else of the package.
    with http.Client(base_url=system.url,
                      cookies={c["name"]: c["value"] for c in page.context.cookies()}) as browser_like:
        assert browser_like.get("/portal/resources/../routes.py").status_code == 404
        assert browser_like.get("/portal/resources/README.md").status_code == 404
        zipped = browser_like.get("/portal/resources/medbiquitous-activityreport-v1-schemas.zip")
        assert zipped.status_code == 200 and zipped.content[:2] == b"PK"
