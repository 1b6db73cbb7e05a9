"""The PARS error-code catalog: every code and message of the seed's "List of Error codes"
(document 001), plus the project's own 801 and 802. Messages are verbatim from the seed."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

ERROR_MESSAGES: dict[int, str] = {
    601: "Learner record action was not specified.",
    602: "Learner record action is not valid.",
    603: "Duplicate record (Credit ID was same as a previous record).",
    605: "Record not found. Delete action has unknown credit ID.",
    621: "Missing diplomate ID.",
    622: "Missing diplomate first name.",
    623: "Missing diplomate last name.",
    624: "Missing diplomate date of birth",
    630: "Missing ACCME activity ID.",
    631: "Missing activity completion date.",
    632: "Missing MOC points.",
    650: "Missing ACCME credit ID.",
    661: "Diplomate ID not found in Board records.",
    664: "Diplomate date of birth does not match Board record for this diplomate ID.",
    665: "Diplomate name does not match Board record.",
    670: "Activity ID does not match with a registered MOC activity.",
    671: "Activity completion date not valid",
    672: "Activity completion date proceeds activity start date.",
    673: "MOC points not valid.",
    674: "MOC points awarded are greater than amount listed for activity.",
    675: "MOC points not in increment of .25",
    676: "Invalid activityCertification value.",
    677: "Missing creditCertificate element.",
    678: (
        "Invalid activity credit certificate. Activity certificate [Activity Certificate Name] "
        "allowed once per learner submission record."
    ),
    680: "Patient safety credit not available for activity.",
    681: "Practice assessment credit not available for activity",
    690: "ACCME activity ID does not exist",
    705: (
        "Due date for reporting participant data has passed. PARS will not accept participant "
        "records after the deadline set by the specialty board for the reporting year."
    ),
    706: (
        "Deadline for deleting participant data has passed. PARS will not accept deletions of "
        "participant records past the date set by the specialty board."
    ),
    709: "Record is a duplicate for learner completion previously reported to Board.",
    710: "Maximum MOC points already granted.",
    711: "MOC points reported exceed maximum available to this learner for this activity.",
    712: "Learner ID type is not valid.",
    713: "Activity registration type is not valid.",
    717: "Learner cannot receive MOC credit for multiple completions of this activity on a single date.",
    718: "Unable to match a learner with the information provided",
    801: "Record is awaiting board processing and cannot be deleted yet.",
    802: (
        "Learner record is not valid for this board: learner id type, credit type or board code "
        "does not belong to the board."
    ),
    998: "General learner record processing error.",
}

# Codes decided by a board (the board stage), as opposed to PARS validation.
BOARD_CODES = frozenset({661, 664, 665, 709, 718})


class ErrorDetail(BaseModel):
    """One error on one learner record row."""

    model_config = ConfigDict(frozen=True)

    code: int
    message: str


def error(code: int, certificate: str | None = None) -> ErrorDetail:
    """The catalog's error for `code`; 678 names the repeated certificate as the seed shows."""
    message = ERROR_MESSAGES[code]
    if code == 678 and certificate:
        message = message.replace("[Activity Certificate Name]", certificate)
    return ErrorDetail(code=code, message=message)
