"""Batch uploads over HTTP: the files Excel writes, XML, the whole-file refusals and limits
(nothing stored on any of them), duplicates, history and access (SPEC 3.2)."""

from __future__ import annotations

import codecs
from urllib.parse import quote

import pytest

from pars_intake.domain.rows import NO_RECORDS, NOT_FORMATTED, NOT_XML, RowInput
from tests.support.system import RunningSystem, eventually
from tests.support.xmlwrite import records_to_xml

from .support import (
    HEADER,
    accepted_upload,
    completed,
    error_rows,
    records,
    register_activity,
    row,
    stored_counts,
    tab_text,
    upload,
)

pytestmark = pytest.mark.integration
ABO_TYPE, ABIM_TYPE = "ABO MOC Part II", "ABIM Medical Knowledge"
BOARDS = {"ABO": [ABO_TYPE, "ABO Patient Safety"], "ABIM": [ABIM_TYPE]}


def van_gogh(activity: str, dob: str, completed_on: str) -> list[str]:
    return row("ABO", activity, "98989", "Vincent", "Van Gogh", dob, completed_on, "0.25", ABO_TYPE)


def o_keeffe(activity: str, dob: str, completed_on: str) -> list[str]:
    return row("ABO", activity, "97979", "Georgia", "O'Keeffe", dob, completed_on, "0.25", ABO_TYPE)


def nunez(activity: str, dob: str, completed_on: str) -> list[str]:
    return row("ABIM", activity, "2000001", "Ana", "Núñez", dob, completed_on, "1", ABIM_TYPE)


def test_files_as_excel_writes_them(system: RunningSystem) -> None:
    """UTF-8 with BOM and LF, trailing tabs and blank lines; "Unicode Text" (UTF-16); ANSI
    (Windows-1252) with CRLF; Excel's month-name dates of birth. Every row reads as the provider
    wrote it: the boards match the accented name and the mangled birthdays."""
    provider = system.new_provider()
    client = system.client(provider["api_key"])
    activity = register_activity(client, BOARDS)
    utf8 = "\n".join(["\t".join(HEADER), "\t".join(van_gogh(activity, "30-Mar", "2/10/2019")) + "\t\t\t", "",
                      "\t".join(nunez(activity, "4-Jul", "3/1/2019")) + "\t\t", "", ""])
    files = {
        "utf8_bom_lf.txt": codecs.BOM_UTF8 + utf8.encode("utf-8"),
        "unicode_text.txt": codecs.BOM_UTF16_LE + tab_text(
            [nunez(activity, "07/04", "3/2/2019"), o_keeffe(activity, "Nov-15", "5/5/2019")]).encode("utf-16-le"),
        "ansi.txt": tab_text([nunez(activity, "Jul 4", "03-03-2019"), o_keeffe(activity, "11/15", "5/6/2019")],
                             header=False).encode("cp1252"),
    }
    for name, data in files.items():
        view = completed(client, accepted_upload(client, name, data))
        assert (view["records"], view["processed"], view["not_processed"]) == (2, 2, 0), (name, error_rows(
            client, view["upload_id"]))

    eventually(lambda: [r["status"] for r in records(client, "Núñez")] == ["Accepted"] * 3,
               what="ABIM to accept Ana Núñez three times")
    assert {r["first_name"] for r in records(client, "Núñez")} == {"Ana"}
    assert [r["status"] for r in records(client, "O'Keeffe")] == ["Accepted", "Accepted"]

    # A date of birth Excel turned into month-year (Jun-70) names no day: PARS validation refuses it (B7).
    mangled = completed(client, accepted_upload(client, "mangled.txt", tab_text(
        [van_gogh(activity, "Mar-53", "2/11/2019")]).encode()))
    assert mangled["not_processed"] == 1
    # The seed's message exactly in 19; what to write instead leads column 20 (How to Resolve).
    [mangled_row] = error_rows(client, mangled["upload_id"])
    assert mangled_row[17:19] == ["664", "Diplomate date of birth does not match Board record for this diplomate ID."]
    assert mangled_row[19].startswith("The date of birth Mar-53 is not a month and day: give it as MM/DD")

    # The same rows re-saved in another encoding are the same file: a duplicate, unless confirmed.
    same_rows = codecs.BOM_UTF16_LE + utf8.replace("\n", "\r\n").encode("utf-16-le")
    refused = upload(client, "utf8_bom_lf_again.txt", same_rows)
    assert refused.status_code == 409, refused.text
    assert "already uploaded" in refused.json()["detail"] and "utf8_bom_lf.txt" in refused.json()["detail"]
    again = completed(client, accepted_upload(client, "utf8_bom_lf_again.txt", same_rows, allow_duplicate=True))
    assert [r[17].split("; ")[0] for r in error_rows(client, again["upload_id"])] == ["603", "603"]


def test_xml_upload(system: RunningSystem) -> None:
    provider = system.new_provider()
    client = system.client(provider["api_key"])
    activity = register_activity(client, BOARDS)

    def record(credit_id: str | None, completed_on: str, action: str = "Add", **who: str) -> RowInput:
        learner = who or {"learner_id_type": "ABO", "learner_id": "98989", "first_name": "Vincent",
                          "last_name": "Van Gogh", "date_of_birth": "03/30"}
        return RowInput(activity_id=activity, board="ABO", action=action, completion_date=completed_on,
                        credits="4", credit_types=[ABO_TYPE, "ABO Patient Safety"], credit_id=credit_id, **learner)

    document = records_to_xml([
        record("ccid:wrmc.example.org:1", "01/02/2019"),
        record("ccid:wrmc.example.org:2", "05/05/2019", learner_id_type="ABO", learner_id="97979",
               first_name="Georgia", last_name="O'Keeffe", date_of_birth="11/15"),
        record(None, "01/03/2019"),
    ])
    view = completed(client, accepted_upload(client, "learners.xml", document))
    assert (view["format"], view["records"], view["processed"], view["not_processed"]) == ("xml", 3, 2, 1)
    report = error_rows(client, view["upload_id"])
    assert [(r[1], r[2], r[6], r[8], r[17]) for r in report] == [("ABO", activity, "Van Gogh", "01/03/2019", "650")]
    stored = records(client, "Van Gogh")
    assert [(r["status"], r["credit_id"], r["credit_types"]) for r in stored] == [
        ("Accepted", "ccid:wrmc.example.org:1", [ABO_TYPE, "ABO Patient Safety"])]

    # The `format` field decides for any file name; the same content again is a duplicate.
    refused = upload(client, "learners.dat", document, format="xml")
    assert refused.status_code == 409 and "learners.xml" in refused.json()["detail"]
    # A Delete of a 2019 record on 01/16/2020 is past the deadline for deletes (706).
    delete = completed(client, accepted_upload(client, "delete.xml", records_to_xml(
        [record("ccid:wrmc.example.org:1", "01/02/2019", action="Delete")])))
    assert [r[17] for r in error_rows(client, delete["upload_id"])] == ["706"]


def _billion_laughs() -> bytes:
    return (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
            b'<ActivityReports xmlns="http://ns.medbiq.org/activityreport/v1/">&lol2;</ActivityReports>')


def test_refused_files_answer_4xx_and_store_nothing(system: RunningSystem) -> None:
    provider = system.new_provider()
    client = system.client(provider["api_key"])
    activity = register_activity(client, BOARDS)
    good = tab_text([van_gogh(activity, "03/30", "2/10/2019")]).encode()
    xml = records_to_xml([RowInput(activity_id=activity, board="ABO", action="Add", credit_id="ccid:x:1")])
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    many = tab_text([van_gogh(activity, "03/30", f"{1 + i % 12}/{1 + i % 28}/2019") for i in range(2501)]).encode()
    cases: list[tuple[str, bytes, dict, int, str]] = [
        ("header_only.txt", tab_text([]).encode(), {}, 422, NO_RECORDS),
        ("empty.txt", b"", {}, 422, NO_RECORDS),
        ("image.txt", png, {}, 422, NOT_FORMATTED),
        ("learners.txt", xml, {}, 422, NOT_FORMATTED),  # a .txt holding XML
        ("learners.xml", good, {}, 422, NOT_XML),  # a .xml holding tab text
        ("200930149_May_Learners.txt", good, {"format": "xml"}, 422, NOT_XML),  # the seed's picture
        ("broken.xml", xml[: len(xml) // 2], {}, 422, NOT_FORMATTED),
        ("root.xml", b"<Learners><Learner/></Learners>", {}, 422, NOT_FORMATTED),
        ("bomb.xml", _billion_laughs(), {}, 422, NOT_FORMATTED),
        ("template_a.txt", good.replace(b"Learner Template B", b"Learner Template A"), {}, 422, NOT_FORMATTED),
        ("learners.pdf", good, {}, 422, "Choose the file type"),
        ("learners.txt", good, {"format": "csv"}, 422, "The request is not valid."),
        ("learners.txt", good, {"allow_duplicate": "maybe"}, 422, "The request is not valid."),
        ("many.txt", many, {}, 413, "The file contains 2,501 records. Batch uploads may not exceed 2,500 records."),
        ("huge.txt", good + b"\n" * (10 * 1024 * 1024), {}, 413, "Batch uploads may not exceed 10 MB"),
        ("huger.txt", b"x" * (11 * 1024 * 1024), {}, 413, "larger than"),
    ]
    for name, data, form, status, detail in cases:
        response = upload(client, name, data, **form)
        assert response.status_code == status, (name, response.text)
        assert detail in response.json()["detail"], (name, response.text)
    no_file = client.post("/v1/uploads", data={"format": "tab"})
    assert no_file.status_code == 422 and no_file.json()["detail"] == "The request is not valid."
    not_multipart = client.post("/v1/uploads", json={"file": "x"})
    assert not_multipart.status_code == 422
    assert client.get("/v1/uploads").json() == {"uploads": []}
    assert stored_counts(system, provider["provider_id"]) == {"uploads": 0, "submissions": 0, "records": 0}


def test_largest_file_is_processed_in_the_background_with_progress(system: RunningSystem) -> None:
    provider = system.new_provider()
    client = system.client(provider["api_key"])
    activity = register_activity(client, BOARDS)
    rows = [van_gogh(activity, "03/30", f"{1 + i % 12}/{1 + i % 28}/2019")[:10] + [f"{0.25 * (1 + i // 336)}", ABO_TYPE]
            for i in range(2500)]
    upload_id = accepted_upload(client, "2500_learners.txt", tab_text(rows).encode())
    seen: list[float] = []

    def done() -> bool:
        view = client.get(f"/v1/uploads/{upload_id}").json()
        seen.append(view["progress"])
        return view["status"] == "completed"

    eventually(done, timeout=90, interval=0.05, what="the 2,500-row upload to complete")
    view = client.get(f"/v1/uploads/{upload_id}").json()
    assert view["records"] == 2500 and view["processed"] + view["not_processed"] == 2500 and view["progress"] == 1.0
    assert seen == sorted(seen)  # progress only moves forward
    assert view["processed"] > 0
    assert len(error_rows(client, upload_id)) == view["not_processed"]


def test_history_and_reports_belong_to_their_provider(system: RunningSystem) -> None:
    owner, other = system.new_provider(), system.new_provider(name="Another Provider")
    client, intruder = system.client(owner["api_key"]), system.client(other["api_key"])
    activity = register_activity(client, BOARDS)
    view = completed(client, accepted_upload(client, "Ünïcode 学习者.txt", tab_text(
        [row("ABO", activity, "98989", "Vincent", "Van Gogh", "03/30", "2/10/2019", "0.3", ABO_TYPE)]).encode()))
    upload_id, name = view["upload_id"], view["file_name"]
    assert name == "Ünïcode 学习者.txt"
    report = client.get(f"/v1/uploads/{upload_id}/errors", params={"format": "csv"})
    assert report.status_code == 200
    disposition = report.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="_n_code ____errors.csv"; ')
    utf8_name = quote(name[:-4] + "_errors.csv", safe="")
    assert f"filename*=UTF-8''{utf8_name}" in disposition
    assert "675" in report.content.decode("utf-8-sig")

    windows_path = completed(client, accepted_upload(client, "C:\\fakepath\\learners.txt", tab_text(
        [van_gogh(activity, "03/30", "2/12/2019")]).encode()))
    assert windows_path["file_name"] == "learners.txt"
    history = client.get("/v1/uploads").json()["uploads"]
    assert [h["file_name"] for h in history] == ["learners.txt", name]
    assert intruder.get("/v1/uploads").json() == {"uploads": []}
    for path in (f"/v1/uploads/{upload_id}", f"/v1/uploads/{upload_id}/errors", "/v1/uploads/no-such-upload"):
        response = intruder.get(path)
        assert response.status_code == 404 and response.json()["detail"] == "Upload not found."
    anonymous = system.client("not-a-key").get("/v1/uploads")
    assert anonymous.status_code == 401
