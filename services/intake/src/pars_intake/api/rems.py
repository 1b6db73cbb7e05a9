"""Opioid Analgesic REMS participation (docs/rems.md): only a provider that takes part (an admin
setting) may flag an activity for REMS or report REMS learners; anyone else's request naming REMS
is refused whole (403), with nothing stored."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg
from fastapi import HTTPException

from pars_contracts.boards import is_rems

from ..domain.rems import NOT_PARTICIPATING
from ..store.providers import is_rems_participant


async def refuse_unless_participant(conn: asyncpg.Connection | asyncpg.Pool, provider_id: str,
                                    boards: Iterable[str | None], what: str) -> None:
    """403 when any of `boards` is REMS and the provider does not take part."""
    if any(is_rems(code) for code in boards) and not await is_rems_participant(conn, provider_id):
        raise HTTPException(403, NOT_PARTICIPATING.format(what=what))
