"""What the notifier's e-mails say, and that nothing in an event can break their headers
(SPEC 5, 7): header injection through a file or learner name, HTML escaping, address checks."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from pars_contracts import examples
from pars_contracts.events import BoardBatchDecided, UploadCompleted
from pars_notifier import compose

SENDER = "PARS Learner Reporting <pars-noreply@pars.local>"
NOW = datetime(2020, 1, 16, 21, 0, tzinfo=UTC)


def upload(**changes: object) -> UploadCompleted:
    return UploadCompleted.model_validate({**examples.load("UploadCompleted").payload, **changes})


# The error report as the notifier joins it from the upload's UploadErrorReportPart events.
REPORT = examples.load("UploadErrorReportPart").payload["tsv"]


def upload_summary(e: UploadCompleted) -> compose.Draft:
    return compose.upload_summary(e, REPORT)


def batch(**learner: object) -> BoardBatchDecided:
    payload = examples.load("BoardBatchDecided").payload
    return BoardBatchDecided.model_validate({**payload, "rejected": [{**payload["rejected"][0], **learner}]})


def wire(draft: compose.Draft, to: list[str] | None = None) -> bytes:
    """What the notifier writes after DATA."""
    return compose.smtp_data(compose.to_message(draft.key, SENDER, to or ["cme-office@example.org"], draft.subject,
                                                draft.text, draft.html, draft.attachment_name, draft.attachment, NOW))


def sent(draft: compose.Draft, to: list[str] | None = None) -> EmailMessage:
    """The draft as the SMTP server receives it (undo the dot-stuffing), parsed back."""
    data = wire(draft, to)
    assert data.endswith(b"\r\n.\r\n")
    raw = re.sub(rb"(?m)^\.", b"", data[: -len(b".\r\n")])
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def header_lines(draft: compose.Draft) -> list[str]:
    """The message's header fields as written on the wire, each unfolded."""
    head = wire(draft).split(b"\r\n\r\n", 1)[0].decode()
    return [" ".join(field.split()) for field in re.split(r"\r\n(?![ \t])", head)]


def test_upload_summary_says_what_happened_and_attaches_the_error_report() -> None:
    draft = upload_summary(upload())
    assert draft.key == "upload:2b9e5d7c-8a14-4f63-b0c2-9d6e3a1f7b85" and draft.kind == "upload_summary"
    assert draft.extra_recipients == ["johnny.tester@wrmc.example.org"]
    msg = sent(draft)
    assert msg["Subject"] == "PARS upload completed: 200930149_May_Learners.txt (7 processed, 3 not processed)"
    # One line, not folded before its first word (shown with a leading space by many readers).
    assert b"\r\nSubject: PARS upload completed: 200930149_May_Learners.txt (7 processed, 3 not processed)\r\n" \
        in wire(draft)
    assert msg["X-PARS-Notification"] == draft.key
    assert msg["Message-ID"] == "<upload.2b9e5d7c-8a14-4f63-b0c2-9d6e3a1f7b85@pars.local>"
    text = msg.get_body(("plain",)).get_content()
    assert "200930149_May_Learners.txt" in text and "01/16/2020 02:31 PM CST" in text  # US Central
    for line in ("Records:               10", "Records processed:     7", "Records not processed: 3",
                 "675  MOC points not in increment of .25  (1 record)", "690  ACCME activity ID does not exist"):
        assert line in text
    html = msg.get_body(("html",)).get_content()
    assert "<td>602</td><td>Learner record action is not valid.</td><td>1</td>" in html
    [attachment] = msg.iter_attachments()
    assert attachment.get_filename() == "200930149_May_Learners_errors.txt"
    assert attachment.get_content_type() == "text/tab-separated-values"
    report = attachment.get_content().lstrip("\ufeff").splitlines()
    assert report[0].split("\t")[17:] == ["18. Error Code", "19. Error Message"]
    assert [r.split("\t")[17] for r in report[1:]] == ["675", "602", "690"]


def test_an_upload_without_errors_has_no_attachment() -> None:
    msg = sent(upload_summary(upload(processed=10, not_processed=0, errors_by_code={})))
    assert "Every record was processed." in msg.get_body(("plain",)).get_content()
    assert list(msg.iter_attachments()) == []


def test_rejection_summary_is_one_table_of_the_rejected_learners() -> None:
    e = BoardBatchDecided.model_validate(examples.load("BoardBatchDecided").payload)
    second = {**e.rejected[0].model_dump(), "record_id": "r2", "first_name": "Ana", "last_name": "Núñez",
              "learner_id": "2000001", "code": 665, "message": "Diplomate name does not match Board record."}
    e = e.model_copy(update={"rejected": [*e.rejected, e.rejected[0].model_validate(second)]})
    draft = compose.rejection_summary(e)
    assert draft.key == f"rejections:{e.batch_id}:1234567" and draft.extra_recipients == []
    msg = sent(draft)
    assert msg["Subject"] == "PARS: ABIM rejected 2 learner records on 01/16/2020"
    html = msg.get_body(("html",)).get_content()
    assert html.count("<tr><td>") == 2
    assert ("<tr><td>Test11 Account11</td><td>1000104</td><td>200930149</td><td>An Other is an Other</td>"
            "<td>12/01/2019</td><td>664</td>") in html
    text = msg.get_body(("plain",)).get_content()
    assert "Ana Núñez (learner id 2000001)" in text and "665 Diplomate name does not match" in text
    assert "American Board of Internal Medicine (ABIM)" in text


@pytest.mark.parametrize("name", ["evil.txt\r\nBcc: victim@example.org", "evil.txt\nBcc: victim@example.org",
                                  "evil.txt\rBcc: victim@example.org", "evil.txt\x00\x0bBcc: victim@example.org",
                                  "evil.txt\u2028Bcc: victim@example.org"])
def test_a_file_name_cannot_inject_headers(name: str) -> None:
    draft = upload_summary(upload(file_name=name, error_report_file_name=name + "_errors.txt"))
    msg = sent(draft)
    assert not any(line.lower().startswith("bcc") for line in header_lines(draft))
    assert "\r" not in msg["Subject"] and "\n" not in msg["Subject"]
    assert msg["Subject"].startswith("PARS upload completed: evil.txt Bcc: victim@example.org")
    [attachment] = msg.iter_attachments()
    assert "\n" not in attachment.get_filename() and "\r" not in attachment.get_filename()


def test_a_learner_name_cannot_inject_headers_or_html() -> None:
    e = batch(first_name="<script>alert(1)</script>", last_name="O'Brien\r\nBcc: victim@example.org",
              activity_title="<b>Grand</b> Rounds & more")
    draft = compose.rejection_summary(e)
    msg = sent(draft)
    assert not any(line.lower().startswith("bcc") for line in header_lines(draft))
    assert {line.split(":")[0] for line in header_lines(draft)} == {
        "From", "To", "Subject", "Date", "Message-ID", "X-PARS-Notification", "MIME-Version", "Content-Type"}
    html = msg.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>Grand</b>" not in html and "&lt;b&gt;Grand&lt;/b&gt; Rounds &amp; more" in html
    assert "O&#39;Brien" in html
    assert "<script>alert(1)</script>" in msg.get_body(("plain",)).get_content()  # the text part is text


def test_header_safe_removes_control_characters_and_bounds_the_length() -> None:
    assert compose.header_safe("a\r\nb\tc\x00d\x85e  f") == "a b c d e f"
    assert len(compose.header_safe("x" * 1000)) == 200


@pytest.mark.parametrize("address", ["cme-office@example.org", "first.last+pars@sub.example.co.uk",
                                     "O'Brien@example.org"])
def test_valid_addresses(address: str) -> None:
    assert compose.valid_address(address)


@pytest.mark.parametrize("address", [None, "", "no-at-sign", "a@localhost", "a@@example.org", "a b@example.org",
                                     "a@example.org\r\nBcc: x@example.org", "a@example.org\n", "<a@example.org>",
                                     "Name <a@example.org>", "a@exa_mple.org", "é@example.org", "a@example..org",
                                     "x" * 65 + "@example.org", "a@" + "b" * 250 + ".org", "a@example.org,b@example.org"])
def test_invalid_addresses(address: str | None) -> None:
    assert not compose.valid_address(address)


def test_recipients_keep_the_valid_addresses_once() -> None:
    assert compose.recipients(["Staff@Example.org", "bad address"], [" staff@example.org ", "cme@example.org", 7]) == \
        ["Staff@Example.org", "cme@example.org"]


def test_the_message_is_7_bit_and_the_dot_stuffing_keeps_a_lone_dot_line_inside() -> None:
    draft = upload_summary(upload(file_name="Núñez.txt"))
    draft = compose.Draft(**{**draft.__dict__, "text": "line\n.\n..two\n"})
    data = wire(draft)
    assert all(b < 128 for b in data)
    assert b"\r\n.\r\n" not in data[:-5]  # only the final terminator ends the DATA
    assert sent(draft).get_body(("plain",)).get_content().replace("\r\n", "\n") == "line\n.\n..two\n"
