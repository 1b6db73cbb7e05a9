"""The 24-hour promise under a scaled clock: records submitted to every within-a-day board over a
whole simulated day (10 real seconds here) are each decided within 24 simulated hours of their
submission, measured from the records; and the boards really hold them for their runs."""

from __future__ import annotations

import time

import pytest

from tests.support.system import RunningSystem, eventually

from .gateway_helpers import DAY_SECONDS, SCALE, Provider, board_records, learner

pytestmark = pytest.mark.integration

WAVES = 6  # one every 4 simulated hours: every board's runs fall at different moments of a wave
ROWS = {
    "ABIM": lambda: learner("Test10", "Account10", "1000105", "02/01"),
    "ABA": lambda: learner("Paul", "Gray", "4000001", None),
    "ABPATH": lambda: learner("Test2", "Account2", "1000106", "03/01"),
    "ABS": lambda: learner("Alice", "Walker", None, "02/02"),
    "ABP": lambda: learner("Jane", "Doe", "5000001", "09/09"),
}


def test_every_record_is_decided_within_a_simulated_day_of_its_submission(gateway_system: RunningSystem) -> None:
    provider = Provider(gateway_system, "Promise CME")
    activity = provider.activity("ABIM", "ABA", "ABPATH", "ABS")
    submitted = 0
    for _ in range(WAVES):
        started = time.monotonic()
        for board_code, row in ROWS.items():
            # ABP: one completion per learner and activity (710), so each ABP row has its own activity
            target = provider.activity("ABP") if board_code == "ABP" else activity
            rows = provider.submit(target, board_code, [row(), row()] if board_code != "ABP" else [row()])
            assert {r.get("status") for r in rows} == {"Submitted"}, rows
            submitted += len(rows)
        # pacing the input over the day (not waiting for an outcome)
        time.sleep(max(DAY_SECONDS / WAVES - (time.monotonic() - started), 0))

    def all_decided() -> list:
        records = board_records(gateway_system, provider.provider_id)
        return records if len(records) == submitted and all(r["decided_at"] for r in records) else []

    records = eventually(all_decided, timeout=2 * DAY_SECONDS, interval=0.25, what="every record decided")
    assert {r["status"] for r in records} == {"Accepted"}
    day = 86400 / SCALE
    waits = {r["record_id"]: (r["decided_at"] - r["submitted_at"]).total_seconds() for r in records}
    late = {rid: w for rid, w in waits.items() if not 0 <= w <= day}
    assert not late, f"decided later than a simulated day ({day} s): {late}"
    # ... and not all at once: the nightly board (ABS) held its records for hours of simulated time
    abs_waits = [waits[r["record_id"]] for r in records if r["board"] == "ABS"]
    assert max(abs_waits) > 4 * 3600 / SCALE
    assert all(r["decided_at"] >= r["due_at"] for r in records)  # no board decided before its run
