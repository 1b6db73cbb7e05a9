"""The injectable clock. Deadlines are US Central calendar dates (SPEC section 2)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as time_of_day
from zoneinfo import ZoneInfo

CENTRAL = ZoneInfo("America/Chicago")
_PROCESS_START = time.time()


class Clock:
    """Real time, or, given a `start` date, a clock that read noon (US Central) of that date at the
    real instant `anchor` (Unix seconds; default: this process's start) and has moved with real time
    since.

    Why noon and an anchor rather than "real time shifted by whole days": a shifted clock's date
    rolls over at the real midnight, so a system started at 23:55 would see "today" change under
    it, and two processes started either side of midnight would disagree by a day. Every process of
    one system is given the same anchor (pars_stack does it), so their clocks agree to the
    microsecond, and "today" stays `start` for the first twelve hours of a run."""

    def __init__(self, start: date | None = None, anchor: float | None = None) -> None:
        self._offset = timedelta(0)
        if start is not None:
            noon = datetime.combine(start, time_of_day(12), CENTRAL)
            real_at_anchor = datetime.fromtimestamp(_PROCESS_START if anchor is None else anchor, UTC)
            self._offset = noon - real_at_anchor

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def today(self) -> date:
        """Today's date in US Central time."""
        return self.now().astimezone(CENTRAL).date()
