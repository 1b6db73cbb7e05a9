"""Direct boards (ABO, ABOHNS, ME-MD, ME-DO, NC, TN) decide at once: a learner the board knows is
Accepted in the answer to the provider's request, and one it does not know is an immediate error
(661, 664, 665) for the submitter, with no record saved."""

from __future__ import annotations

import pytest

from tests.support.system import RunningSystem, eventually

from .gateway_helpers import Provider, codes, learner, query

pytestmark = pytest.mark.integration

STATE = {"learner_id_type": "LICENSE"}
# Per board: a learner the registry holds (spelled as a provider might), and the registry's
# spelling for the non-matches.
KNOWN = {
    "ABO": (learner("  vincent ", "VAN GOGH", "98989", "03/30"), ("Vincent", "Van Gogh", "98989", "03/30")),
    "ABOHNS": (learner("Maria", "Lopez", "3000001", "05/05"), ("Maria", "Lopez", "3000001", "05/05")),
    "ME-MD": (learner("Traci", "Tester", "MD9966", "11/10", **STATE), ("Traci", "Tester", "MD9966", "11/10")),
    "ME-DO": (learner("Owen", "Osteo", "DO1234", "06/06", **STATE), ("Owen", "Osteo", "DO1234", "06/06")),
    "NC": (learner("Traci", "Test", "999993", "07/01", **STATE), ("Traci", "Test", "999993", "07/01")),
    "TN": (learner("tina", "tennessee", "TN5555", "3/3", **STATE), ("Tina", "Tennessee", "TN5555", "03/03")),
}


@pytest.fixture(scope="module")
def provider(gateway_system: RunningSystem) -> Provider:
    return Provider(gateway_system, "Direct Boards CME")


MAINE = ("ME-MD", "ME-DO")  # match on license and name, not date of birth (seed 529-530)


def non_matches(board_code: str, first: str, last: str, learner_id: str, dob: str) -> list[dict]:
    extra = STATE if board_code in ("ME-MD", "ME-DO", "NC", "TN") else {}
    wrong_dob = "12/25" if dob != "12/25" else "12/24"
    return [learner(first, last, learner_id + "0", dob, **extra),  # 661: no such id
            *([] if board_code in MAINE else [learner(first, last, learner_id, wrong_dob, **extra)]),  # 664
            learner(first, "Someone-Else", learner_id, dob, **extra)]  # 665


@pytest.mark.parametrize("board_code", sorted(KNOWN))
def test_direct_board_accepts_a_match_and_refuses_a_non_match_at_once(
        gateway_system: RunningSystem, provider: Provider, board_code: str) -> None:
    known, (first, last, learner_id, dob) = KNOWN[board_code]
    activity = provider.activity(board_code)
    rows = provider.submit(activity, board_code, [known, *non_matches(board_code, first, last, learner_id, dob)])
    expected = [[], [661], [665]] if board_code in MAINE else [[], [661], [664], [665]]
    assert [r.get("status") for r in rows] == ["Accepted"] + [None] * (len(expected) - 1), rows
    assert [codes(r) for r in rows] == expected
    detail = provider.client.get(f"/v1/activities/{activity}").json()
    saved = detail["records_by_board"][board_code]
    assert [r["record_id"] for r in saved] == [rows[0]["record_id"]]  # the refused rows are not saved
    assert saved[0]["status"] == "Accepted"
    # a direct board never puts a record on the schedule
    assert query(gateway_system, "SELECT count(*) AS n FROM {gw}.board_records WHERE provider_id = $1",
                 provider.provider_id)[0]["n"] == 0


def test_a_providers_answers_on_one_physician_are_throttled(gateway_system: RunningSystem) -> None:
    """One `?wait=` call trying dates of birth for Tina Tennessee (TN, born 03/03): five refusals come
    at once with the board's 664, then every answer on her is held back (Submitted, the board's run
    decides it a day later), the right date's too, and so is one under a junk license beside her
    NPI; a physician the board does not know, and another provider, are answered at once. (Her rows
    share one license, so they reach the board in order.)"""
    guesser = Provider(gateway_system, "Guessing CME")
    activity = guesser.activity("TN")
    tries = [learner("Tina", "Tennessee", "TN5555", f"01/{n + 1:02d}", **STATE) for n in range(6)]
    rows = guesser.submit(activity, "TN", [*tries, learner("Tina", "Tennessee", "TN5555", "03/03", **STATE),
                                           learner("No", "Body", "TN0000", "01/01", **STATE)])
    assert [(r.get("status"), codes(r)) for r in rows] == [(None, [664])] * 5 + [("Submitted", [])] * 2 + [
        (None, [661])], rows
    junk = guesser.submit(activity, "TN", [learner("Tina", "Tennessee", "TN-JUNK", "01/09", **STATE,
                                                   npi="1987654321")])
    assert (junk[0].get("status"), codes(junk[0])) == ("Submitted", [])
    held = query(gateway_system, "SELECT held, due_at > submitted_at + interval '20 hours' AS later FROM {gw}.board_records "
                 "WHERE provider_id = $1", guesser.provider_id)
    assert [(h["held"], h["later"]) for h in held] == [(True, True)] * 3
    backlog = guesser.client.get("/v1/activities").json()  # the provider sees them as submitted
    assert backlog["activities"][0]["submitted"] == 3
    other = Provider(gateway_system, "Honest CME")
    answered = other.submit(other.activity("TN"), "TN", [learner("Tina", "Tennessee", "TN5555", "03/03", **STATE)])
    assert answered[0]["status"] == "Accepted"


def test_the_seeds_manual_entry_error_on_nc_then_the_corrected_license(provider: Provider) -> None:
    activity = provider.activity("NC")
    wrong = provider.submit(activity, "NC", [learner("Traci", "Test", "999998", "07/01", **STATE)])
    assert codes(wrong[0]) == [664]  # seed: "999998 - 664: Diplomate date of birth does not match ..."
    right = provider.submit(activity, "NC", [learner("Traci", "Test", "999993", "07/01", **STATE)])
    assert right[0]["status"] == "Accepted"


@pytest.mark.parametrize(("board_code", "first", "last", "row_ids"), [
    ("NC", "Traci", "Test", {"learner_id_type": "NPI", "learner_id": "1234567893"}),  # the NPI beside a license
    ("NC", "Traci", "Test", {"learner_id_type": "LICENSE", "learner_id": "999993", "npi": "1234567893"}),
    ("NC", "Traci", "Test", {"learner_id_type": "LICENSE", "learner_id": "NC-UNKNOWN", "npi": "1234567893"}),
    ("TN", "Tina", "Tennessee", {"learner_id_type": "NPI", "learner_id": "1987654321"}),
    ("ME-MD", "Nora", "Npi", {"learner_id_type": "NPI", "learner_id": "1122334455"}),  # known by NPI only
])
def test_state_boards_know_a_physician_by_license_or_npi(provider: Provider, board_code: str, first: str,
                                                          last: str, row_ids: dict) -> None:
    dob = {"Traci": "07/01", "Tina": "03/03", "Nora": "10/10"}[first]
    row = {**learner(first, last, None, dob), **row_ids}
    answered = provider.submit(provider.activity(board_code), board_code, [row])
    assert answered[0].get("status") == "Accepted", answered


def test_physicians_added_through_the_admin_api_are_matched_without_case_or_accents(
        gateway_system: RunningSystem, provider: Provider) -> None:
    with gateway_system.admin() as admin:
        response = admin.post("/v1/admin/boards/abo/physicians", json={"physicians": [
            {"learner_id": "97001", "id_type": "ABO", "first_name": "José", "last_name": "Müller-Ñúñez",
             "date_of_birth": "02/29"}]})
    assert response.status_code == 202, response.text
    eventually(lambda: query(gateway_system, "SELECT 1 FROM {gw}.physicians WHERE board = 'ABO' "
                                             "AND learner_id = '97001'"), what="the gateway to add the physician")
    rows = provider.submit(provider.activity("ABO"), "ABO", [
        learner(" JOSE ", "muller-nunez", "97001", "02/29"), learner("José", "Müller-Ñúñez", "97001", "03/01")])
    assert rows[0]["status"] == "Accepted" and codes(rows[1]) == [664]
