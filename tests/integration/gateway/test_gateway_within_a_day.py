"""Within-a-day boards (ABA, ABIM, ABPATH, ABP, ABS) answer Submitted at once, then decide each
record at their run: Accepted, or Rejected with the board's code (661, 664, 665, 709, 718, 998),
with the seed's learners; and the rejections reach the provider by e-mail, one per board run."""

from __future__ import annotations

import pytest

from tests.support.system import RunningSystem, eventually

from .gateway_helpers import SCALE, Provider, board_records, learner, query, read_topic

pytestmark = pytest.mark.integration

ACCEPTED = None  # expected code of an accepted record


def cases(activity: str) -> dict[str, list[tuple[dict, int | None]]]:
    """Per board, (learner row, expected board code)."""
    return {
        "ABIM": [
            (learner("Test10", "Account10", "1000105", "02/01"), ACCEPTED),  # seed: ACCEPTED
            (learner("Test11", "Account11", "1000104", "1/1"), 664),  # seed: CODE: 664
            (learner("Test9", "Account9", "1000113", "10/1"), 998),  # seed: LEARNER RECORD ERROR
            (learner("Susan", "O'Laughlin", "999925", "01/01"), ACCEPTED),
            (learner("ANA", " nunez ", "2000001", "07/04"), ACCEPTED),  # Núñez in the registry
            (learner("Test10", "Account10", "1000199", "02/01"), 661),
            (learner("Test10", "Someone", "1000105", "02/01"), 665),
            (learner("Rita", "Repeat", "2000099", "06/06"), 709),  # reported outside PARS (admin API)
        ],
        "ABPATH": [
            (learner("Test2", "Account2", "1000106", "03/01", credits="3.5"), ACCEPTED),
            (learner("Test3", "Account3", "1000107", "04/01", credits="59.25"), ACCEPTED),
            (learner("Test4", "Account4", "1000108", "05/01", credits="4"), ACCEPTED),
            # The seed's Test5 and Test8 with a readable but wrong date of birth (their Jun-70 and
            # Sep-66 are refused by PARS validation before a board sees them: B7).
            (learner("Test5", "Account5", "1000109", "06/16", credits="12"), 664),
            (learner("Test8", "Account8", "1000112", "09/13", credits="8.5"), 664),
            (learner("Test9", "Account9", "1000113", "1-Oct", credits="12"), ACCEPTED),
            (learner("Susan", "O'Laughlin", "999925", "01/01"), ACCEPTED),
        ],
        "ABA": [
            (learner("Paul", "Gray", "4000001", None), ACCEPTED),  # DOB optional
            (learner("paul", "GRAY", "4000001", "08/08"), ACCEPTED),
            (learner("Paul", "Gray", "4000001", "09/09"), 664),
        ],
        "ABS": [
            (learner("John", "Smith", None, "04/04"), 718),  # no board id, two John Smiths
            (learner("John", "Smith", "6000002", "04/04"), ACCEPTED),
            (learner("Alice", "Walker", None, "02/02"), ACCEPTED),
            (learner("Alice", "Walker", None, "03/03"), 661),
        ],
    }


@pytest.fixture(scope="module")
def provider(gateway_system: RunningSystem) -> Provider:
    return Provider(gateway_system, "Within A Day CME")


@pytest.fixture(scope="module")
def submitted(gateway_system: RunningSystem, provider: Provider) -> tuple[str, dict[str, int | None]]:
    """Submits every case; answers the activity and each record's expected code. Every row's
    first answer must be Submitted: the boards decide later."""
    activity = provider.activity("ABIM", "ABPATH", "ABA", "ABS")
    with gateway_system.admin() as admin:
        admin.post("/v1/admin/boards/ABIM/physicians", json={"physicians": [
            {"learner_id": "2000099", "id_type": "ABIM", "first_name": "Rita", "last_name": "Repeat",
             "date_of_birth": "06/06", "reported_elsewhere": [activity]}]}).raise_for_status()
    eventually(lambda: query(gateway_system, "SELECT 1 FROM {gw}.physicians WHERE learner_id = '2000099'"),
               what="the gateway to add Rita Repeat")
    expected: dict[str, int | None] = {}
    for board_code, board_cases in cases(activity).items():
        rows = provider.submit(activity, board_code, [row for row, _ in board_cases])
        assert [r.get("status") for r in rows] == ["Submitted"] * len(rows), (board_code, rows)
        expected |= {r["record_id"]: code for r, (_, code) in zip(rows, board_cases, strict=True)}
    # ABP: one completion per learner and activity (710), so each case has its own activity
    for row, code in [(learner("Jane", "Doe", "5000001", None), ACCEPTED),
                      (learner("Jane", "Doe", "5000001", "09/10"), 664)]:
        answered = provider.submit(provider.activity("ABP"), "ABP", [row])
        assert answered[0]["status"] == "Submitted", answered
        expected[answered[0]["record_id"]] = code
    return activity, expected


def test_each_within_a_day_board_submits_at_once_then_decides(
        provider: Provider, submitted: tuple[str, dict[str, int | None]]) -> None:
    _, expected = submitted

    def decided() -> dict[str, dict]:
        found = {rid: provider.record(rid) for rid in expected}
        return found if all(r["status"] != "Submitted" for r in found.values()) else {}

    found = eventually(decided, timeout=30, interval=0.5, what="every board to decide")
    outcome = {rid: None if r["status"] == "Accepted" else [e["code"] for e in r["errors"]] for rid, r in found.items()}
    assert outcome == {rid: None if code is None else [code] for rid, code in expected.items()}


def test_each_record_is_decided_once_by_a_run_within_a_simulated_day(
        gateway_system: RunningSystem, provider: Provider, submitted: tuple[str, dict[str, int | None]]) -> None:
    _, expected = submitted
    records = eventually(lambda: [r for r in board_records(gateway_system, provider.provider_id) if r["decided_at"]]
                         if all(r["decided_at"] for r in board_records(gateway_system, provider.provider_id)) else [],
                         timeout=30, what="every record decided")
    assert {r["record_id"] for r in records} == set(expected)
    for r in records:
        assert r["submitted_at"] <= r["decided_at"] and r["batch_id"]
        assert (r["decided_at"] - r["submitted_at"]).total_seconds() <= 86400 / SCALE


def test_each_board_run_publishes_one_batch_per_provider_with_its_rejections(
        gateway_system: RunningSystem, provider: Provider, submitted: tuple[str, dict[str, int | None]]) -> None:
    """The notifier's rejection summary is one e-mail per BoardBatchDecided: each batch names the
    board run's records of one provider, and every rejection is in exactly one batch."""
    _, expected = submitted
    records = eventually(lambda: (rs := board_records(gateway_system, provider.provider_id))
                         and all(r["batch_id"] for r in rs) and rs, timeout=30, what="every record decided")

    def batches() -> list:
        found = [m.payload for m in read_topic(gateway_system, "pars.board.batches.v1")
                 if m.payload["provider_id"] == provider.provider_id]
        return found if len(found) == len({r["batch_id"] for r in records}) else []

    published = eventually(batches, what="one BoardBatchDecided per board run")
    by_batch = {b["batch_id"]: b for b in published}
    assert len(by_batch) == len(published)  # each batch once
    for batch_id, batch in by_batch.items():
        mine = [r for r in records if r["batch_id"] == batch_id]
        assert {r["board"] for r in mine} == {batch["board"]}
        assert batch["accepted"] == sum(r["status"] == "Accepted" for r in mine)
        assert {x["record_id"] for x in batch["rejected"]} == {r["record_id"] for r in mine if r["status"] == "Rejected"}
    rejected = {x["record_id"]: x["code"] for b in published for x in b["rejected"]}
    assert rejected == {rid: code for rid, code in expected.items() if code is not None}
    test11 = next(x for b in published for x in b["rejected"] if x["learner_id"] == "1000104")
    assert (test11["first_name"], test11["last_name"], test11["code"]) == ("Test11", "Account11", 664)
    assert test11["message"].startswith("Diplomate date of birth does not match")


def test_a_run_answers_five_refusals_on_one_physician_and_holds_the_rest(gateway_system: RunningSystem) -> None:
    """Dates of birth tried for Test10 Account10 (ABIM, born 02/01) in one go: the board's runs
    answer five refusals on her (664), and hold every further answer on her, the right date's too
    if it comes after them, to a run a real day later (security review N3: a within-a-day board
    is no date-of-birth oracle either)."""
    guesser = Provider(gateway_system, "Guessing ABIM CME")
    tries = [learner("Test10", "Account10", "1000105", f"{month:02d}/01") for month in range(3, 9)]
    rows = guesser.submit(guesser.activity("ABIM"), "ABIM", [*tries, learner("Test10", "Account10", "1000105", "02/01")])
    assert [r["status"] for r in rows] == ["Submitted"] * 7, rows
    right = rows[-1]["record_id"]

    def settled() -> dict[str, dict]:
        found = {r["record_id"]: guesser.record(r["record_id"]) for r in rows}
        refused = [r for r in found.values() if r["status"] == "Rejected"]
        waiting = query(gateway_system, "SELECT record_id FROM {gw}.board_records WHERE provider_id = $1 AND "
                        "status = 'Submitted' AND NOT held", guesser.provider_id)
        return found if len(refused) == 5 and not waiting else {}

    found = eventually(settled, timeout=40, interval=0.5, what="five refusals and the rest held back")
    assert all([e["code"] for e in r["errors"]] == [664] for r in found.values() if r["status"] == "Rejected")
    held = query(gateway_system, "SELECT record_id, due_at > submitted_at + interval '20 hours' AS later "
                 "FROM {gw}.board_records WHERE provider_id = $1 AND held", guesser.provider_id)
    assert held and all(h["later"] for h in held), held
    assert {rid for rid, r in found.items() if r["status"] == "Submitted"} == {h["record_id"] for h in held}
    # The right date is Accepted only if the run reached it before the five refusals.
    assert {r["status"] for rid, r in found.items() if rid == right} <= {"Accepted", "Submitted"}
    assert len(held) == (1 if found[right]["status"] == "Accepted" else 2)
