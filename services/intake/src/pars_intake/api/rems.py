"""Opioid Analgesic REMS participation (docs/rems.md): only a provider that takes part (an admin
setting) may flag an activity for REMS or report REMS learners; anyone else's request naming REMS
is refused whole (403), with nothing stored."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg
from fastapi import HTTPException

from pars_contracts.boards import REMS_CODE, is_rems
from pars_contracts.codes import ERROR_MESSAGES, ErrorDetail

from ..domain.rows import RowInput
from ..store.providers import is_rems_participant

NOT_PARTICIPATING = ("Your organization does not take part in the Opioid Analgesic REMS program: {what} Ask ACCME "
                     "to enrol your organization as a REMS participant, or report these learners to their boards.")


async def is_participant(conn: asyncpg.Connection | asyncpg.Pool, provider_id: str) -> bool:
    return await is_rems_participant(conn, provider_id)


async def refuse_unless_participant(conn: asyncpg.Connection | asyncpg.Pool, provider_id: str,
                                    boards: Iterable[str | None], what: str) -> None:
    """403 when any of `boards` is REMS and the provider does not take part."""
    if any(is_rems(code) for code in boards) and not await is_participant(conn, provider_id):
        raise HTTPException(403, NOT_PARTICIPATING.format(what=what))


def wrong_submission_type(rems_upload: bool) -> str:
    """Why a row does not belong to its upload's submission type (seed 001 258-266: learners are
    submitted either for a board or for Opioid Analgesic REMS)."""
    if rems_upload:
        return (f"This upload's submission type is Opioid Analgesic REMS: every row names the board "
                f"{REMS_CODE}. Upload this row with the submission type for licensing or specialty boards.")
    return (f"Rows naming {REMS_CODE} are uploaded with the submission type for Opioid Analgesic REMS "
            "(submission_type=rems).")


WRONG_TYPE = 713  # "Activity registration type is not valid."


def of_submission_type(row: RowInput, rems_upload: bool) -> RowInput:
    """The row, with error 713 saying why when its board is not of the upload's submission type
    (a REMS row in a board upload, another board's row in a REMS upload)."""
    if not (row.board or "").strip() or is_rems(row.board) == rems_upload:
        return row
    why = ErrorDetail(code=WRONG_TYPE, message=f"{ERROR_MESSAGES[WRONG_TYPE]} {wrong_submission_type(rems_upload)}")
    return row.model_copy(update={"format_errors": [*row.format_errors, why]})
