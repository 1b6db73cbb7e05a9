"""When a within-a-day board decides a record: at the end of the board's current run period,
in simulated time. A time scale (BOARD_TIME_SCALE) makes a simulated day pass faster, so a
day can take a minute in the demo and tests. Every period is at most 24 hours."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

# Simulated run periods: ABIM batches hourly, ABS runs nightly, the others in between.
DEFAULT_PERIODS = {
    "ABIM": timedelta(hours=1),
    "ABA": timedelta(hours=4),
    "ABP": timedelta(hours=6),
    "ABPATH": timedelta(hours=12),
    "ABS": timedelta(hours=24),
}


def due_at(board: str, submitted_at: datetime, scale: float, periods: dict[str, timedelta] = DEFAULT_PERIODS) -> datetime:
    """The real instant of the end of the board's run period containing `submitted_at`."""
    period = periods.get(board, timedelta(hours=24)).total_seconds() / max(scale, 1e-9)
    epoch = submitted_at.astimezone(UTC).timestamp()
    boundary = math.floor(epoch / period) * period + period
    return datetime.fromtimestamp(boundary, UTC)
