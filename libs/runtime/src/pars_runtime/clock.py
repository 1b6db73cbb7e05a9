"""The injectable clock. Deadlines are US Central calendar dates (SPEC section 2)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

CENTRAL = ZoneInfo("America/Chicago")


class Clock:
    """Real time, shifted so that today starts at `start` when one is given (tests, demo)."""

    def __init__(self, start: date | None = None) -> None:
        self._offset = timedelta(0)
        if start is not None:
            real_today = datetime.now(CENTRAL).date()
            self._offset = timedelta(days=(start - real_today).days)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def today(self) -> date:
        """Today's date in US Central time."""
        return self.now().astimezone(CENTRAL).date()
