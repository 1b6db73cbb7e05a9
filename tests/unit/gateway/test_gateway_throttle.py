"""How many answers on one physician a provider gets at once, and when the held-back ones come."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pars_gateway.domain.throttle import held_until

NOW = datetime(2026, 5, 5, 12, tzinfo=UTC)
DAY = timedelta(days=1)


def test_answers_under_the_limit_come_at_once() -> None:
    assert [held_until(n, NOW, 5, DAY) for n in range(5)] == [None] * 5


def test_answers_beyond_the_limit_come_five_a_day() -> None:
    due = [held_until(n, NOW, 5, DAY) for n in range(5, 20)]
    assert due == [NOW + DAY] * 5 + [NOW + 2 * DAY] * 5 + [NOW + 3 * DAY] * 5
