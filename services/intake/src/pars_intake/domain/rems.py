"""Opioid Analgesic REMS participation and submission type, as rules on rows (docs/rems.md): what
a refusal says, and error 713 on a row whose board is not of its upload's submission type. The
HTTP refusal is `api/rems.py`; the stream's is in `handlers.py`."""

from __future__ import annotations

from pars_contracts.boards import REMS_CODE, is_rems
from pars_contracts.codes import error

from .rows import RowInput

NOT_PARTICIPATING = ("Your organization does not take part in the Opioid Analgesic REMS program: {what} Ask ACCME "
                     "to enrol your organization as a REMS participant, or report these learners to their boards.")


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
    why = error(WRONG_TYPE, hint=wrong_submission_type(rems_upload))
    return row.model_copy(update={"format_errors": [*row.format_errors, why]})
