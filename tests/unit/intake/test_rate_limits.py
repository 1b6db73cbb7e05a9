"""The token bucket arithmetic intake's rate limits share (pars_intake.ratelimit.Limit), which the
PostgreSQL buckets compute in SQL (tests/integration/intake_api/test_store.py checks those
statements against the same cases)."""

from __future__ import annotations

import pytest

from pars_intake.ratelimit import Limit

ROWS = Limit(rate=100, burst=10_000)


def test_a_submission_costs_its_rows_and_a_neighbour_of_the_same_size_waits_for_them() -> None:
    left, wait = ROWS.take(ROWS.burst, 2_500)
    assert (left, wait) == (7_500, 0)
    for _ in range(3):
        left, wait = ROWS.take(left, 2_500)
    assert (left, wait) == (0, 0)  # four 2,500-row posts spend a full bucket
    left, wait = ROWS.take(left, 2_500)
    assert (left, wait) == (0, 25.0)  # refused, nothing taken: 2,500 rows at 100 a second


def test_a_cost_over_the_burst_passes_on_a_full_bucket_and_leaves_a_debt() -> None:
    left, wait = ROWS.take(ROWS.burst, 25_000)
    assert (left, wait) == (-15_000, 0)
    # A single row then waits for the debt and its own token: 15,001 tokens at 100 a second.
    assert ROWS.take(left, 1) == (-15_000, pytest.approx(150.01))
    # Never more than a full bucket is asked for: a second big file waits for a full bucket only.
    assert ROWS.take(ROWS.refill(left, 200), 25_000) == (5_000, pytest.approx(50.0))


def test_a_bucket_refills_at_its_rate_up_to_its_burst() -> None:
    assert ROWS.refill(0, 30) == 3_000
    assert ROWS.refill(9_000, 3600) == 10_000
    assert ROWS.refill(-500, 10) == 500
    assert ROWS.refill(100, -5) == 100  # a clock that stepped back gives nothing
