"""When a within-a-day board decides a record: pure functions of simulated time.

Simulated time runs BOARD_TIME_SCALE times faster than real time (simulated seconds since the
Unix epoch = real seconds x scale), so a day can pass in a minute for the demo and tests. Each
board runs at fixed simulated times: every `hours` hours (BOARD_SCHEDULE), counted from 08:00 UTC,
so a 24-hour board runs nightly at 02:00 US Central (standard time). A record is decided at the
first run at or after its submission, but never later than 22 simulated hours after it (then the
board catches it up on its own): the run itself, and a gateway restart, fit in the 24-hour promise."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

from pars_contracts.boards import Processing, board

DAY = timedelta(hours=24)  # the promise: every record decided within a day of its submission
LATEST = timedelta(hours=22)  # the latest a record waits for a run
RUNS_FROM = timedelta(hours=8)  # runs are counted from 08:00 UTC
# Hours between runs: ABIM batches hourly, ABS runs nightly, the others in between.
DEFAULT_SCHEDULE: dict[str, float] = {"ABIM": 1, "ABA": 4, "ABP": 6, "ABPATH": 12, "ABS": 24}


def parse_schedule(text: str | None) -> dict[str, timedelta]:
    """The defaults with BOARD_SCHEDULE's overrides, a JSON object of board code -> hours between
    runs (more than 0, at most 24); ValueError for anything else. Empty: the defaults."""
    try:
        overrides = json.loads(text) if text and text.strip() else {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"BOARD_SCHEDULE is not JSON: {exc}") from None
    if not isinstance(overrides, dict):
        raise ValueError("BOARD_SCHEDULE must be a JSON object of board code -> hours between runs")
    hours = dict(DEFAULT_SCHEDULE)
    for code, value in overrides.items():
        found = board(code)
        if found is None or found.processing is not Processing.WITHIN_A_DAY:
            raise ValueError(f"BOARD_SCHEDULE: {code!r} is not a within-a-day board")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 24:
            raise ValueError(f"BOARD_SCHEDULE: {found.code} runs every {value} hours; must be more than 0, at most 24")
        hours[found.code] = value
    return {code: timedelta(hours=h) for code, h in hours.items()}


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def due_at(submitted_at: datetime, every: timedelta, scale: float) -> datetime:
    """The real instant the board decides a record submitted at `submitted_at`."""
    simulated = _utc(submitted_at).timestamp() * scale
    period, offset = every.total_seconds(), RUNS_FROM.total_seconds()
    next_run = math.ceil((simulated - offset) / period) * period + offset
    due = min(next_run, simulated + LATEST.total_seconds())
    return datetime.fromtimestamp(due / scale, UTC)


def overdue_before(now: datetime, scale: float) -> datetime:
    """Records submitted before this real instant are past the board's 24-hour promise."""
    return _utc(now) - DAY / scale
