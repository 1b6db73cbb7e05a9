"""The seed's batch upload, end to end over HTTP (document 001, "Tab Delimited and XML Batch
Upload errors" and "Errors from the Board"), with the system's clock on the seed's 01/16/2020.

The seed's error report lists Test5 (`Jun-70`) and Test8 (`Sep-66`) with 664 and Test9 with 690,
the records "which did not pass PARS validation" (447). A date of birth that is no month and day
is refused at validation (B7, docs/seed-decisions.md): those rows are in the upload's error report
at once, with 664 and the value PARS could not read, and are never stored; Test9's `1-Oct` is read
as 10/01. A readable but wrong date of birth (Test10 here) is the board's 664: ABPATH decides
within a day, so that row is processed (Submitted), then Rejected with 664 on the record, in the
rejection e-mail and in the error report with the board's decision date."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from pars_contracts.codes import ERROR_MESSAGES, resolution
from pars_runtime.clock import CENTRAL
from tests.support.system import RunningSystem, eventually

from .support import (
    accepted_upload,
    completed,
    error_rows,
    events,
    records,
    register_activity,
    row,
    tab_text,
    upload,
)

pytestmark = pytest.mark.integration
UNKNOWN_ACTIVITY = "200608133"
PART_II, PART_IV = "ABPath MOC Part II", "ABPath MOC Part IV"


def seed_rows(activity: str) -> list[list[str]]:
    return [
        row("ABPATH", activity, "1000106", "Test2", "Account2", "03/01", "01/05/2019", "3.5", PART_II),
        row("ABPATH", activity, "1000107", "Test3", "Account3", "04/01", "05/25/2019", "59.25", PART_II, PART_IV),
        row("ABPATH", activity, "1000108", "Test4", "Account4", "05/01", "12/31/2019", "4", PART_II, PART_IV),
        row("ABPATH", activity, "1000109", "Test5", "Account5", "Jun-70", "10/6/2019", "12", PART_II),
        row("ABPATH", activity, "1000112", "Test8", "Account8", "Sep-66", "10/6/2019", "8.5", PART_II),
        row("ABPATH", UNKNOWN_ACTIVITY, "1000113", "Test9", "Account9", "1-Oct", "10/6/2019", "12", PART_II),
        row("ABPATH", activity, "1000105", "Test10", "Account10", "02/02", "10/6/2019", "2", PART_II),  # 02/01
    ]


def unreadable(dob: str) -> str:
    """How to resolve the seed's 664 for an unreadable date of birth: what to write, then the seed's description."""
    return f"The date of birth {dob} is not a month and day: give it as MM/DD (for example 06/15). {resolution(664)}"


def test_seed_upload_outcomes_error_report_and_corrected_reupload(system: RunningSystem) -> None:
    provider = system.new_provider()
    client = system.client(provider["api_key"])
    activity = register_activity(client, {"ABIM": ["ABIM Medical Knowledge"], "ABPATH": [PART_II, PART_IV]})
    name = "200930149_May_Learners.txt"

    upload_id = accepted_upload(client, name, tab_text(seed_rows(activity)).encode("utf-8"))
    view = completed(client, upload_id)
    assert (view["records"], view["processed"], view["not_processed"], view["progress"]) == (7, 4, 3, 1.0)

    # The error report, at once: the file's own 17 columns plus 18 to 21; the three rows that did
    # not pass PARS validation (and, once ABPATH has decided, its rejection: below).
    report = [r for r in error_rows(client, upload_id) if r[20] == ""]
    assert [r[:17] for r in report] == [r + [""] * 5 for r in seed_rows(activity)[3:6]]
    assert [r[17:] for r in report] == [
        ["664", ERROR_MESSAGES[664], unreadable("Jun-70"), ""], ["664", ERROR_MESSAGES[664], unreadable("Sep-66"), ""],
        ["690", "ACCME activity ID does not exist", resolution(690), ""]]
    csv = client.get(f"/v1/uploads/{upload_id}/errors", params={"format": "csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "690,ACCME activity ID does not exist" in csv.content.decode("utf-8-sig")
    assert f"664,{ERROR_MESSAGES[664]},{unreadable('Jun-70')}," in csv.content.decode("utf-8-sig")

    # The board's word: the correct rows are Accepted, Test10 (a wrong 02/02) Rejected with 664.
    def status_of(last_name: str) -> str | None:
        found = records(client, last_name)
        return found[0]["status"] if len(found) == 1 else None

    for last in ("Account2", "Account3", "Account4"):
        eventually(lambda last=last: status_of(last) == "Accepted", what=f"ABPATH to accept {last}")
    eventually(lambda: status_of("Account10") == "Rejected", what="ABPATH to reject Account10")
    rejected = records(client, "Account10")[0]
    assert [e["code"] for e in rejected["errors"]] == [664]
    assert rejected["errors"][0]["message"] == \
        "Diplomate date of birth does not match Board record for this diplomate ID."
    for last in ("Account5", "Account8", "Account9"):
        assert records(client, last) == []  # a PARS error is never stored as a record

    # What the notifier is told: the upload summary (with the error report) and the board's batch.
    def summary_of(found: list) -> list:  # noqa: ANN001
        return [e for e in found if e.payload["upload_id"] == upload_id and e.type == "UploadCompleted"]

    found = events(system, "pars.uploads.completed.v1", summary_of)
    completion = summary_of(found)[0].payload
    assert (completion["file_name"], completion["records"], completion["processed"], completion["not_processed"]) \
        == (name, 7, 4, 3)
    assert completion["errors_by_code"] == {"664": 2, "690": 1}
    assert completion["error_report_file_name"] == "200930149_May_Learners_errors.txt"
    # The report itself travels before the completion, in bounded parts (here one).
    assert completion["error_report_parts"] == 1 and "error_report_tsv" not in completion
    [part] = [e.payload for e in found if e.type == "UploadErrorReportPart" and e.payload["upload_id"] == upload_id]
    assert (part["part"], part["parts"]) == (1, 1) and "Test9\tAccount9" in part["tsv"]
    assert "Test5\tAccount5\tJun-70" in part["tsv"] and unreadable("Sep-66") in part["tsv"]

    def rejections(found: list) -> list:  # noqa: ANN001
        return [r for e in found if e.payload["provider_id"] == provider["provider_id"] for r in e.payload["rejected"]]

    rejected = rejections(events(system, "pars.board.batches.v1", lambda f: len(rejections(f)) == 1))
    assert [(r["last_name"], r["code"]) for r in rejected] == [("Account10", 664)]

    # And the e-mails: the summary to the uploader and the recipients, with the report attached.
    summary = eventually(lambda: system.mails(lambda m: f"{name} (4 processed, 3 not processed)" in m["Subject"]
                                              and provider["user_email"] in m["To"]), what="the summary e-mail")[0]
    assert provider["notification_emails"][0] in summary["To"]
    attachment = next(summary.iter_attachments())
    assert attachment.get_filename() == "200930149_May_Learners_errors.txt"
    assert "Test9\tAccount9" in attachment.get_content() and "690" in attachment.get_content()
    assert unreadable("Jun-70") in attachment.get_content()
    rejection = eventually(lambda: system.mails(lambda m: "ABPATH rejected 1" in m["Subject"]
                                                and provider["notification_emails"][0] in m["To"]),
                           what="the ABPATH rejection e-mail")[0]
    text = rejection.get_body(("plain",)).get_content()
    assert "Test10 Account10" in text and "664" in text and "Test5 Account5" not in text

    # The error report now is the seed's 664, 664, 690, and ABPATH's 664 (with its decision date).
    report = error_rows(client, upload_id)
    assert [(r[6], r[17], r[18]) for r in report] == [
        ("Account5", "664", ERROR_MESSAGES[664]), ("Account8", "664", ERROR_MESSAGES[664]),
        ("Account9", "690", ERROR_MESSAGES[690]), ("Account10", "664", ERROR_MESSAGES[664])]
    # How to resolve: what to write instead for an unreadable date of birth, then the seed's description.
    assert [r[19] for r in report] == [unreadable("Jun-70"), unreadable("Sep-66"), resolution(690), resolution(664)]
    decided = {rejected["errors"][0]["code"]: rejected for rejected in records(client, "Account10")}
    assert decided[664]["errors"][0]["resolution"] == resolution(664)
    assert [r[20] for r in report[:3]] == ["", "", ""] and re.fullmatch(r"01/1[67]/2020", report[3][20])
    csv = client.get(f"/v1/uploads/{upload_id}/errors", params={"format": "csv"}).content.decode("utf-8-sig")
    assert f"664,{ERROR_MESSAGES[664]},{resolution(664)},{report[3][20]}" in csv

    # The upload's history line now and its processed learners (the seed's "Records Processed (View)").
    view = client.get(f"/v1/uploads/{upload_id}").json()
    assert {k: view[k] for k in ("added", "deleted", "accepted", "rejected", "still_submitted", "not_processed")} \
        == {"added": 4, "deleted": 0, "accepted": 3, "rejected": 1, "still_submitted": 0, "not_processed": 3}
    learners = client.get(f"/v1/uploads/{upload_id}/learners").json()
    assert [(r["row"], r["last_name"], r["status"]) for r in learners["records"]] == [
        (2, "Account2", "Accepted"), (3, "Account3", "Accepted"), (4, "Account4", "Accepted"),
        (8, "Account10", "Rejected")]
    assert learners["deleted_rows"] == [] and learners["upload"]["upload_id"] == upload_id

    # Correct the downloaded report (the activity id, the birthdays) and upload it as it is, its
    # four error columns included: all four go through.
    downloaded = client.get(f"/v1/uploads/{upload_id}/errors").content
    corrected = (downloaded.replace(UNKNOWN_ACTIVITY.encode(), activity.encode())
                 .replace(b"\tJun-70\t", b"\t06/15\t").replace(b"\tSep-66\t", b"\t09/12\t")
                 .replace(b"\t02/02\t", b"\t02/01\t"))
    again = accepted_upload(client, "200930149_May_Learners_errors.txt", corrected)
    view = completed(client, again)
    assert (view["records"], view["processed"], view["not_processed"]) == (4, 4, 0)
    for last in ("Account5", "Account8"):
        eventually(lambda last=last: status_of(last) == "Accepted", what=f"ABPATH to accept the corrected {last}")
    eventually(lambda: status_of("Account9") == "Accepted", what="ABPATH to accept Test9 (DOB 1-Oct)")
    eventually(lambda: "Accepted" in [r["status"] for r in records(client, "Account10")],
               what="ABPATH to accept the corrected Account10")

    # The seed's history line: time, file name, records, processed, not processed; and what became of them.
    history = client.get("/v1/uploads").json()["uploads"]
    assert [(h["file_name"], h["records"], h["processed"], h["not_processed"]) for h in history] == [
        ("200930149_May_Learners_errors.txt", 4, 4, 0), (name, 7, 4, 3)]
    assert [(h["added"], h["accepted"], h["rejected"], h["still_submitted"]) for h in history] == [
        (4, 4, 0, 0), (4, 3, 1, 0)]
    assert error_rows(client, again) == []  # the corrected rows were all accepted
    uploaded_at = datetime.fromisoformat(history[1]["uploaded_at"])
    assert uploaded_at.astimezone(CENTRAL).date() == date(2020, 1, 16)  # the system's (US Central) today


def test_error_report_uploaded_unchanged_reads_back_the_same_rows(system: RunningSystem) -> None:
    """Columns 18 and 19 are ignored on upload: the report, re-uploaded as it is, gives the same errors."""
    provider = system.new_provider()
    client = system.client(provider["api_key"])
    rows = [row("ABPATH", UNKNOWN_ACTIVITY, "1000113", "Test9", "Account9", "1-Oct", "10/6/2019", "12", PART_II),
            row("ABPATH", "", "1000112", "Test8", "Account8", "09/12", "10/6/2019", "8.5", PART_II)]
    first = accepted_upload(client, "learners.txt", tab_text(rows).encode())
    completed(client, first)
    report = client.get(f"/v1/uploads/{first}/errors").content
    second = accepted_upload(client, "learners_errors.txt", report)
    assert completed(client, second)["not_processed"] == 2
    assert error_rows(client, second) == error_rows(client, first)
    assert [r[17] for r in error_rows(client, first)] == ["690", "630"]
    # The same file again within 30 days is a duplicate unless the caller confirms.
    duplicate = upload(client, "learners_errors.txt", report)
    assert duplicate.status_code == 409 and "already uploaded" in duplicate.json()["detail"]
