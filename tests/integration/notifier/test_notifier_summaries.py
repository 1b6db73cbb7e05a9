"""The notifier's two e-mails, read from the real SMTP catcher: the upload summary of a real
upload through intake (counts, errors by code, the error report attached), and one rejection
summary per board batch with the table of rejected learners (SPEC 5)."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from pars_intake.domain.rows import TEMPLATE_B, TEMPLATE_B_COLUMNS
from tests.support.system import RunningSystem, eventually

from .notifier_helpers import by_key, html_of, mails_to, metric, new_provider, sql, text_of

pytestmark = pytest.mark.integration
YEAR = date.today().year
ABO, ABIM = "ABO MOC Part II", "ABIM Medical Knowledge"


def register_activity(client: httpx.Client, title: str = "Grand Rounds") -> str:
    response = client.post("/v1/activities", json={
        "title": title, "activity_type": "Course", "start_date": f"{YEAR}-01-01", "end_date": f"{YEAR}-12-31",
        "reporting_year": YEAR, "ama_credits": 500, "registrations": [
            {"board": "ABO", "credit_types": [ABO], "max_points": 500},
            {"board": "ABIM", "credit_types": [ABIM], "max_points": 500}]})
    assert response.status_code == 201, response.text
    return response.json()["activity_id"]


def row(board: str, activity: str, learner_id: str, first: str, last: str, dob: str, day: str, credits: str,
        credit_type: str, action: str = "Add") -> list[str]:
    return [TEMPLATE_B, board, activity, board, learner_id, first, last, dob, f"{day}/{YEAR}", action, credits,
            credit_type]


def test_a_completed_upload_is_summarized_by_email_with_its_error_report(system: RunningSystem) -> None:
    provider = new_provider(system)
    client = system.client(provider["api_key"])
    activity = register_activity(client)
    rows = [
        row("ABO", activity, "98989", "Vincent", "Van Gogh", "03/30", "01/10", "0.25", ABO),  # Accepted
        row("ABIM", activity, "999925", "Susan", "O'Laughlin", "01/01", "01/11", "0.25", ABIM),  # Submitted
        row("ABO", activity, "97979", "Georgia", "O'Keeffe", "11/15", "01/12", "0.3", ABO),  # 675
        row("ABO", "999999999", "97979", "Georgia", "O'Keeffe", "11/15", "01/13", "0.25", ABO),  # 690
        row("ABIM", activity, "1000105", "Test10", "Account10", "02/01", "01/14", "2", ABIM, "Update"),  # 602
        row("ABO", activity, "97979", "Georgia", "O'Keeffe", "12/01", "01/15", "0.25", ABO),  # 664 (board)
    ]
    text = "".join("\t".join(cells) + "\r\n" for cells in [TEMPLATE_B_COLUMNS[:17], *rows])
    file_name = f"learners-{provider['provider_id']}.txt"
    response = client.post("/v1/uploads", files={"file": (file_name, text.encode(), "text/plain")})
    assert response.status_code == 202, response.text
    upload_id = response.json()["upload_id"]

    mails = eventually(lambda: mails_to(system, provider["mailbox"]), what="the upload summary e-mail")
    assert len(mails) == 1
    mail = mails[0]
    view = client.get(f"/v1/uploads/{upload_id}").json()
    assert (view["status"], view["records"], view["processed"], view["not_processed"]) == ("completed", 6, 2, 4)
    assert mail["Subject"] == f"PARS upload completed: {file_name} (2 processed, 4 not processed)"
    assert mail["X-PARS-Notification"] == f"upload:{upload_id}"
    assert set(str(mail["X-Envelope-To"]).split(", ")) == {provider["user_email"], provider["mailbox"]}
    assert provider["user_email"] in mail["To"] and provider["mailbox"] in mail["To"]
    body = text_of(mail)
    assert f"File:                  {file_name}" in body
    assert "Records:               6\nRecords processed:     2\nRecords not processed: 4\n" in body
    for code in (602, 664, 675, 690):
        assert f"  {code}  " in body, body
    assert "<td>675</td><td>MOC points not in increment of .25</td><td>1</td>" in html_of(mail)

    [attachment] = mail.iter_attachments()
    assert attachment.get_filename() == f"learners-{provider['provider_id']}_errors.txt"
    report = attachment.get_payload(decode=True)
    assert report == client.get(f"/v1/uploads/{upload_id}/errors").content  # the portal's download, byte for byte
    lines = [line.split("\t") for line in report.decode("utf-8-sig").splitlines()]
    assert lines[0][17:] == ["18. Error Code", "19. Error Message", "20. How to Resolve", "21. Board Decision Date"]
    assert sorted((r[4], r[8], r[17]) for r in lines[1:]) == [
        ("1000105", f"01/14/{YEAR}", "602"), ("97979", f"01/12/{YEAR}", "675"),
        ("97979", f"01/13/{YEAR}", "690"), ("97979", f"01/15/{YEAR}", "664")]
    assert all(r[18] and r[19] for r in lines[1:])
    assert "        How to resolve: Either the date of birth or the ID is entered incorrectly." in body

    sent = by_key(system, provider["provider_id"])[f"upload:{upload_id}"]
    assert (sent["kind"], sent["status"], sent["confirmed"], sent["recipients"]) == ("upload_summary", "sent", True, 2)
    assert metric(system, "pars_emails_sent_total", kind="upload_summary") >= 1


def test_one_rejection_summary_per_board_batch_lists_the_rejected_learners(system: RunningSystem) -> None:
    provider = new_provider(system, name="Eastern CME Partners")
    client = system.client(provider["api_key"])
    activity = register_activity(client, title="Cardiology <Update> & Review")
    response = client.post(f"/v1/activities/{activity}/learners?wait=20", json={"board": "ABIM", "learners": [
        {"first_name": "Susan", "last_name": "O'Laughlin", "learner_id": "999925", "date_of_birth": "01/01",
         "completion_date": f"01/11/{YEAR}", "credits": "1", "credit_types": [ABIM]},
        {"first_name": "Test11", "last_name": "Account11", "learner_id": "1000104", "date_of_birth": "01/01",
         "completion_date": f"01/12/{YEAR}", "credits": "2", "credit_types": [ABIM]},
        {"first_name": "Anna", "last_name": "Núñez", "learner_id": "2000001", "date_of_birth": "07/04",
         "completion_date": f"01/13/{YEAR}", "credits": "3", "credit_types": [ABIM]}]})
    assert response.status_code == 200, response.text
    # Submitted, unless ABIM's run (every four simulated hours: 4 s here) came first.
    assert {r["status"] for r in response.json()["rows"]} <= {"Submitted", "Accepted", "Rejected"}, response.text

    def decided() -> list:
        rows = sql(system, "SELECT status, batch_id FROM {ns}_board_gateway.board_records WHERE provider_id = $1",
                   provider["provider_id"])
        return rows if len(rows) == 3 and all(r["batch_id"] for r in rows) else []

    batches = {r["batch_id"] for r in eventually(decided, what="ABIM to decide the three records")
               if r["status"] == "Rejected"}
    mails = eventually(lambda: len(mails_to(system, provider["mailbox"])) >= len(batches) and
                       mails_to(system, provider["mailbox"]), what="the rejection summary")
    assert sorted(str(m["X-PARS-Notification"]) for m in mails) == \
        sorted(f"rejections:{b}:{provider['provider_id']}" for b in batches)  # one per batch, not per record
    assert len(batches) == 1  # submitted together, decided in one run
    mail = mails[0]
    assert mail["Subject"].startswith("PARS: ABIM rejected 2 learner records on ")
    assert str(mail["X-Envelope-To"]) == provider["mailbox"]
    html = html_of(mail)
    assert html.count("<tr><td>") == 2
    assert (f"<tr><td>Test11 Account11</td><td>1000104</td><td>{activity}</td>"
            f"<td>Cardiology &lt;Update&gt; &amp; Review</td><td>01/12/{YEAR}</td><td>664</td>") in html
    assert f"<tr><td>Anna Núñez</td><td>2000001</td><td>{activity}</td>" in html and "<td>665</td>" in html
    assert "O'Laughlin" not in html
    text = text_of(mail)
    assert f'- Test11 Account11 (learner id 1000104), activity {activity} "Cardiology <Update> & Review", ' \
           f"completed 01/12/{YEAR}: 664 Diplomate date of birth does not match" in text
    assert "and accepted 1" in text
