"""Everyone who should hear, hears (seed S1 97, 218, 294, 468), read from the real SMTP catcher:
a rejection e-mail goes to the provider's notification recipients and, when it has none, to the
users who submitted the rejected records; the upload e-mail always reaches its uploader. The
provider sets its recipients itself (`PUT /v1/provider/notification-emails`), and `GET /v1/provider`
warns while there are none."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
import pytest

from pars_intake.domain.rows import TEMPLATE_B, TEMPLATE_B_COLUMNS
from tests.support.system import RunningSystem, eventually

from .notifier_helpers import mails_to

pytestmark = pytest.mark.integration
YEAR = date.today().year
ABIM = "ABIM Medical Knowledge"
# ABIM, within a day: 664 (the date of birth does not match the board's record).
REJECTED = {"first_name": "Test11", "last_name": "Account11", "learner_id": "1000104", "date_of_birth": "01/01",
            "credits": "1", "credit_types": [ABIM]}


def register_activity(client: httpx.Client) -> str:
    response = client.post("/v1/activities", json={
        "title": "Recipients Rounds", "activity_type": "Course", "start_date": f"{YEAR}-01-01",
        "end_date": f"{YEAR}-12-31", "reporting_year": YEAR, "ama_credits": 500,
        "registrations": [{"board": "ABIM", "credit_types": [ABIM], "max_points": 500}]})
    assert response.status_code == 201, response.text
    return response.json()["activity_id"]


def second_user(system: RunningSystem, provider_id: str) -> tuple[str, str]:
    email = f"second-{uuid.uuid4().hex[:8]}@example.org"
    with system.admin() as admin:
        response = admin.post(f"/v1/admin/providers/{provider_id}/users", json={"email": email})
    assert response.status_code == 201, response.text
    return email, response.json()["api_key"]


def reject_one(client: httpx.Client, activity: str, day: str) -> None:
    response = client.post(f"/v1/activities/{activity}/learners?wait=20", json={
        "board": "ABIM", "learners": [{**REJECTED, "completion_date": f"{day}/{YEAR}"}]})
    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["rows"]] == ["Submitted"], response.text


def rejections_to(system: RunningSystem, address: str) -> list:
    return [m for m in mails_to(system, address) if str(m["X-PARS-Notification"]).startswith("rejections:")]


def test_without_recipients_the_submitters_hear_of_their_rejections(system: RunningSystem) -> None:
    provider = system.new_provider(name="No Recipients CME", notification_emails=[])
    first = system.client(provider["api_key"])
    other_email, other_key = second_user(system, provider["provider_id"])
    other = system.client(other_key)
    # The API says there is no one, and why it matters.
    settings = first.get("/v1/provider").json()
    assert settings["notification_emails"] == [] and "reach no one" in settings["warning"]

    activity = register_activity(first)
    reject_one(first, activity, "01/11")
    [mail] = eventually(lambda: rejections_to(system, provider["user_email"]), timeout=60,
                        what="the rejection e-mail to the submitter")
    assert str(mail["X-Envelope-To"]) == provider["user_email"]  # the submitter only
    assert mail["Subject"].startswith("PARS: ABIM rejected 1 learner record on ")

    reject_one(other, activity, "01/12")
    [mail] = eventually(lambda: rejections_to(system, other_email), timeout=60,
                        what="the second submitter's rejection e-mail")
    assert str(mail["X-Envelope-To"]) == other_email  # not the first user: not theirs
    assert len(rejections_to(system, provider["user_email"])) == 1

    # The uploader hears of an upload, recipients or not.
    line = "\t".join([TEMPLATE_B, "ABIM", activity, "ABIM", "1000104", "Test11", "Account11", "01/01",
                      f"01/13/{YEAR}", "Add", "1", ABIM])
    text = "\t".join(TEMPLATE_B_COLUMNS[:17]) + "\r\n" + line + "\r\n"
    uploaded = other.post("/v1/uploads", files={"file": (f"u-{uuid.uuid4().hex[:6]}.txt", text.encode())})
    assert uploaded.status_code == 202, uploaded.text
    upload_mail = eventually(lambda: [m for m in mails_to(system, other_email)
                                      if str(m["X-PARS-Notification"]).startswith("upload:")],
                             timeout=60, what="the upload e-mail to the uploader")
    assert str(upload_mail[0]["X-Envelope-To"]) == other_email


def test_recipients_set_by_the_provider_receive_the_rejections(system: RunningSystem) -> None:
    provider = system.new_provider(name="Sets Its Recipients", notification_emails=[])
    client = system.client(provider["api_key"])
    mailbox = f"cme-{uuid.uuid4().hex[:10]}@example.org"
    # Not addresses: refused, nothing changed.
    for bad in (["not-an-address"], ["a@b"], ["x@example.org\r\nBcc: y@example.org"], ["a@example.org"] * 21):
        refused = client.put("/v1/provider/notification-emails", json={"notification_emails": bad})
        assert refused.status_code == 422, (bad, refused.text)
    assert client.get("/v1/provider").json()["notification_emails"] == []
    saved = client.put("/v1/provider/notification-emails",
                       json={"notification_emails": [mailbox, mailbox.upper()]})
    assert saved.status_code == 200, saved.text
    assert saved.json()["notification_emails"] == [mailbox] and saved.json()["warning"] is None
    assert client.get("/v1/provider").json()["notification_emails"] == [mailbox]

    activity = register_activity(client)
    reject_one(client, activity, "01/14")
    [mail] = eventually(lambda: rejections_to(system, mailbox), timeout=60, what="the rejection e-mail")
    assert str(mail["X-Envelope-To"]) == mailbox  # the provider's recipients: not the submitter as well
    assert rejections_to(system, provider["user_email"]) == []
