"""The injected clock: "today" is the configured date for twelve hours from the anchor, whatever
the real time of day, and two clocks sharing an anchor agree."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

import pytest

from pars_runtime.clock import CENTRAL, Clock
from pars_runtime.settings import ServiceSettings


def test_real_clock_without_a_start() -> None:
    assert abs((Clock().now() - datetime.now(CENTRAL)).total_seconds()) < 5


@pytest.mark.parametrize("real_hour", [0, 11, 23])  # real time of day when the system starts
def test_today_is_the_start_date_at_any_real_hour(real_hour: int) -> None:
    anchor = datetime(2026, 11, 21, real_hour, 55, tzinfo=CENTRAL).timestamp()
    clock = Clock(date(2026, 6, 15), anchor)
    # The anchor lies in the past: the clock has moved on by the real time since then.
    elapsed = time.time() - anchor
    assert clock.now() == pytest.approx(datetime(2026, 6, 15, 12, tzinfo=CENTRAL) + timedelta(seconds=elapsed),
                                        abs=timedelta(seconds=1))


def test_today_holds_for_twelve_hours_then_rolls_over() -> None:
    just_now = time.time()
    assert Clock(date(2020, 3, 15), just_now).today() == date(2020, 3, 15)
    assert Clock(date(2020, 3, 15), just_now - 11.9 * 3600).today() == date(2020, 3, 15)
    assert Clock(date(2020, 3, 15), just_now - 12.1 * 3600).today() == date(2020, 3, 16)


def test_clocks_sharing_an_anchor_agree() -> None:
    settings = ServiceSettings(pars_clock_start=date(2026, 12, 31), pars_clock_anchor=time.time() - 30)
    first, second = settings.clock(), settings.clock()
    assert abs((first.now() - second.now()).total_seconds()) < 0.01
    assert first.today() == date(2026, 12, 31)


def test_settings_read_start_and_anchor_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARS_CLOCK_START", "2020-01-16")
    monkeypatch.setenv("PARS_CLOCK_ANCHOR", "1700000000.25")
    settings = ServiceSettings()
    assert (settings.pars_clock_start, settings.pars_clock_anchor) == (date(2020, 1, 16), 1700000000.25)
