"""Small conversions the queries share: a user's text as a LIKE pattern, a moment as a US Central date."""

from __future__ import annotations

from datetime import datetime

from pars_runtime.clock import CENTRAL


def like(value: str | None) -> str | None:
    """A user's text as a LIKE pattern matching it anywhere, its own % and _ taken literally."""
    if value is None or not value.strip():
        return None
    escaped = value.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def central_date(moment: datetime | None) -> str | None:
    return moment.astimezone(CENTRAL).date().isoformat() if moment else None
