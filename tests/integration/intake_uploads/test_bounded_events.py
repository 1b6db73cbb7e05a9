"""Every event is bounded by construction (review H3): an upload's completion carries counts and
references, its error report travels before it in parts of at most MAX_REPORT_PART_CHARS, and the
notifier's e-mail still attaches the whole report, as the portal's download gives it."""

from __future__ import annotations

import pytest

from pars_contracts.events import MAX_REPORT_PART_CHARS
from pars_runtime.messages import encode
from tests.support.system import RunningSystem, eventually

from .support import accepted_upload, completed, events, row, tab_text

pytestmark = pytest.mark.integration
ROWS = 900
LONG = "N" * 300  # the longest value a cell may hold


def test_a_large_error_report_travels_in_bounded_parts_and_is_mailed_whole(system: RunningSystem) -> None:
    provider = system.new_provider()
    client = system.client(provider["api_key"])
    # Every row names an activity that does not exist (690): every row is in the error report.
    rows = [row("ABO", "399999999", f"9{n:05d}", LONG, LONG, "03/30", "2/10/2019", "0.25", "ABO MOC Part II")
            for n in range(ROWS)]
    upload_id = accepted_upload(client, "many_errors.txt", tab_text(rows).encode())
    view = completed(client, upload_id, timeout=180)
    assert (view["records"], view["not_processed"]) == (ROWS, ROWS)

    def of_upload(found: list) -> list:  # noqa: ANN001
        return [e for e in found if e.payload.get("upload_id") == upload_id]

    found = of_upload(events(system, "pars.uploads.completed.v1",
                             lambda f: any(e.type == "UploadCompleted" for e in of_upload(f)), timeout=60))
    [completion] = [e for e in found if e.type == "UploadCompleted"]
    parts = [e for e in found if e.type == "UploadErrorReportPart"]
    assert completion.payload["error_report_parts"] == len(parts) >= 2
    assert "error_report_tsv" not in completion.payload
    assert [p.payload["part"] for p in parts] == list(range(1, len(parts) + 1))  # in order, before the completion
    assert found[-1].type == "UploadCompleted"
    for envelope in found:
        assert len(encode(envelope)) < MAX_REPORT_PART_CHARS + 4096
    report = "".join(p.payload["tsv"] for p in parts)
    download = client.get(f"/v1/uploads/{upload_id}/errors").content.decode("utf-8-sig")
    assert report == download and report.count("\r\n") == ROWS + 1

    mail = eventually(lambda: system.mails(lambda m: "many_errors.txt (0 processed, 900 not processed)" in m["Subject"]),
                      timeout=60, what="the summary e-mail")[0]
    attachment = next(mail.iter_attachments())
    assert attachment.get_filename() == "many_errors_errors.txt"
    assert attachment.get_content().lstrip("\ufeff").replace("\r\n", "\n") == report.replace("\r\n", "\n")
