"""An upload whose rows never get an outcome does not block the provider forever (sweep.py).

A row's message that ends in a dead-letter topic never reaches the stage that decides it; here
the validator is stopped, which looks the same from intake. While the upload processes, a
second upload is refused (409); once its rows are overdue (ROW_OUTCOME_TIMEOUT_SECONDS, short
here) the background sweep (every SWEEP_INTERVAL_SECONDS, short here too; reading an upload
does not sweep) gives them 998, the upload completes and is e-mailed, and the next upload is
accepted. When the stuck messages are finally handled, a late board decision updates the record's status
but the upload's counts stay as reported."""

from __future__ import annotations

from datetime import date

import pytest

from tests.support.system import RunningSystem, eventually, running_system

from .support import accepted_upload, completed, error_rows, records, register_activity, row, tab_text, upload

pytestmark = pytest.mark.integration
YEAR = date.today().year
GENERAL_ERROR = ["998", "General learner record processing error."]


system = running_system("sweep", BOARD_TIME_SCALE="3600", ROW_OUTCOME_TIMEOUT_SECONDS="5", SWEEP_INTERVAL_SECONDS="1")


def test_rows_without_outcome_get_998_and_the_upload_completes(system: RunningSystem) -> None:
    provider = system.new_provider()
    client = system.client(provider["api_key"])
    activity = register_activity(client, {"ABO": ["ABO MOC Part II"]}, year=YEAR)

    def van_gogh(day: str, credits: str) -> list[str]:
        return row("ABO", activity, "98989", "Vincent", "Van Gogh", "03/30", f"{day}/{YEAR}", credits,
                   "ABO MOC Part II")

    validator = system.system["validator"]
    validator.stop()
    try:
        stuck = accepted_upload(client, "stuck.txt", tab_text([van_gogh("01/02", "1"), van_gogh("01/03", "0.3")]).encode())
        busy = upload(client, "next.txt", tab_text([van_gogh("01/04", "1")]).encode())
        assert busy.status_code == 409, busy.text
        assert busy.json()["detail"].startswith("Your file stuck.txt is still processing.")

        view = completed(client, stuck, timeout=30)  # the sweeper gives the overdue rows 998
        assert (view["records"], view["processed"], view["not_processed"]) == (2, 0, 2)
        assert [r[17:19] for r in error_rows(client, stuck)] == [GENERAL_ERROR, GENERAL_ERROR]
        accepted_upload(client, "next.txt", tab_text([van_gogh("01/04", "1")]).encode())
    finally:
        validator.start()

    mail = eventually(lambda: system.mails(lambda m: "stuck.txt (0 processed, 2 not processed)" in m["Subject"]),
                      what="the stuck upload's summary e-mail")[0]
    assert "998" in mail.get_body(("plain",)).get_content()

    # The late decisions: the record Van Gogh 01/02 is Accepted after all; the counts stay.
    eventually(lambda: any(r["status"] == "Accepted" and r["completion_date"] == f"{YEAR}-01-02"
                           for r in records(client, "Van Gogh")), what="the late board decision")
    after = client.get(f"/v1/uploads/{stuck}").json()
    assert (after["status"], after["processed"], after["not_processed"]) == ("completed", 0, 2)
