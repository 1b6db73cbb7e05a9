"""When a within-a-day board decides: every record within 24 simulated hours of its submission,
for every board, every schedule the settings allow and every time scale; and BOARD_SCHEDULE."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pars_contracts.boards import BOARDS, Processing
from pars_gateway.domain.schedule import (
    DAY,
    DEFAULT_SCHEDULE,
    LATEST,
    due_at,
    overdue_before,
    parse_schedule,
)

WITHIN_A_DAY = sorted(code for code, b in BOARDS.items() if b.processing is Processing.WITHIN_A_DAY)
SCALES = [1, 60, 1440, 3600, 8640, 86400]
ROUNDING = timedelta(milliseconds=1)  # float seconds at large scales


def test_every_within_a_day_board_has_a_default_schedule_of_a_day_at_most() -> None:
    schedule = parse_schedule("")
    assert sorted(schedule) == WITHIN_A_DAY == sorted(DEFAULT_SCHEDULE)
    assert schedule["ABIM"] == timedelta(hours=1) and schedule["ABS"] == timedelta(hours=24)
    assert all(timedelta(0) < every <= DAY for every in schedule.values())


@settings(max_examples=300, deadline=None)
@given(board=st.sampled_from(WITHIN_A_DAY), scale=st.sampled_from(SCALES) | st.floats(0.5, 100_000),
       submitted=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)))
def test_every_board_decides_within_a_day_of_submission_at_every_scale(board: str, scale: float,
                                                                       submitted: datetime) -> None:
    due = due_at(submitted, parse_schedule("")[board], scale)
    assert submitted - ROUNDING <= due <= submitted + LATEST / scale + ROUNDING
    assert LATEST < DAY  # the rest of the day is left for the run itself


@settings(max_examples=200, deadline=None)
@given(hours=st.floats(0.01, 24), scale=st.floats(1, 100_000),
       submitted=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)))
def test_any_configured_schedule_keeps_the_promise(hours: float, scale: float, submitted: datetime) -> None:
    due = due_at(submitted, timedelta(hours=hours), scale)
    assert submitted - ROUNDING <= due <= submitted + min(timedelta(hours=hours), LATEST) / scale + ROUNDING


def test_hourly_board_runs_at_the_top_of_each_hour() -> None:
    every = timedelta(hours=1)
    assert due_at(datetime(2026, 5, 5, 10, 20, tzinfo=UTC), every, 1) == datetime(2026, 5, 5, 11, tzinfo=UTC)
    assert due_at(datetime(2026, 5, 5, 11, 0, tzinfo=UTC), every, 1) == datetime(2026, 5, 5, 11, tzinfo=UTC)


def test_nightly_board_runs_at_2am_central_and_catches_up_records_it_would_keep_past_22_hours() -> None:
    every = timedelta(hours=24)
    # submitted in the evening: decided at the night's run, 08:00 UTC (02:00 CST)
    assert due_at(datetime(2026, 1, 5, 20, 0, tzinfo=UTC), every, 1) == datetime(2026, 1, 6, 8, tzinfo=UTC)
    # submitted just after the run: the next night would be 23 hours away; decided at 22 hours
    assert due_at(datetime(2026, 1, 6, 9, 0, tzinfo=UTC), every, 1) == datetime(2026, 1, 7, 7, tzinfo=UTC)


def test_the_scale_compresses_the_day() -> None:
    submitted = datetime(2026, 1, 6, 9, 0, tzinfo=UTC)
    for scale in SCALES:
        due = due_at(submitted, timedelta(hours=24), scale)
        assert due - submitted <= timedelta(hours=22) / scale + ROUNDING


def test_a_naive_submission_time_is_utc() -> None:
    every = timedelta(hours=1)
    assert due_at(datetime(2026, 5, 5, 10, 20), every, 1) == due_at(datetime(2026, 5, 5, 10, 20, tzinfo=UTC), every, 1)


def test_overdue_means_older_than_a_simulated_day() -> None:
    now = datetime(2026, 5, 5, 12, tzinfo=UTC)
    assert overdue_before(now, 1) == now - timedelta(hours=24)
    assert overdue_before(now, 1440) == now - timedelta(minutes=1)


def test_board_schedule_overrides_the_defaults() -> None:
    schedule = parse_schedule('{"abs": 12, "ABIM": 0.5}')
    assert schedule["ABS"] == timedelta(hours=12) and schedule["ABIM"] == timedelta(minutes=30)
    assert schedule["ABA"] == timedelta(hours=4)


@pytest.mark.parametrize("text", [
    '{"ABO": 1}',  # a direct board has no schedule
    '{"XYZ": 1}', '{"ABS": 25}', '{"ABS": 0}', '{"ABS": -1}', '{"ABS": "nightly"}', '{"ABS": true}',
    '{"ABS": NaN}', '{"ABS": Infinity}', '[1]', "{", "24",
])
def test_board_schedule_refuses_what_would_break_the_promise(text: str) -> None:
    with pytest.raises(ValueError, match="BOARD_SCHEDULE"):
        parse_schedule(text)
