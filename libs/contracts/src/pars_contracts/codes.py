"""The PARS error-code catalog: every code and message of the seed's "List of Error codes"
(document 001), plus the project's own 801 and 802. Messages and descriptions are verbatim from the
seed."""

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
    # SPEC's own catalog code (SPEC "Validation") for a board mismatch "only where no seed code
    # fits": every rule so far has a seed code that fits, so nothing raises it, but it stays in the
    # published list (docs/upstream.md, docs/seed-conformance.md) for a rule that may need it.
    802: (
        "Learner record is not valid for this board: learner id type, credit type or board code "
        "does not belong to the board."
    ),
    # Project code: a tab row whose column 1 is not "Learner Template B" is that row's error, not
    # the whole file's (seed 001 line 221: "PARS will not reject entire files due to data entry errors").
    803: 'Learner record row is not a "Learner Template B" row.',
    # Project code: a row that does not fit the file format's bounds (more columns than Template B,
    # a value over 300 characters, more than 20 credit certificates) is that row's error, not the
    # whole file's (seed 001 line 221); the hint says which bound.
    804: "Learner record row is not formatted correctly.",
    998: "General learner record processing error.",
}

# What each error means and how to resolve it: the "Description" column of the seed's "List of
# Error codes" (document 001, "Learner Reporting Errors and Troubleshooting"), copied verbatim;
# 801 and 802 are the project's own and worded here. The project never reads the seed at run time.
ERROR_DESCRIPTIONS: dict[int, str] = {
    601: 'Record action must exist.',
    602: 'The record action must be indicated as "Add" or "Delete". No other actions will be accepted.',
    603: 'The creditID must be unique in each learner record with a record action of "Add"',
    605: (
        'The delete record submitted cannot be matched to an existing record. Make sure you are deleting a '
        'record that has already been entered and accepted into the system.'
    ),
    621: 'The learner ID is not included in the upload. Please make sure a valid value is entered.',
    622: 'The first name is not included in the upload. Please make sure a valid value is entered.',
    623: 'The last name is not included in the upload. Please make sure a valid value is entered.',
    624: 'The date of birth is not included in the upload. Please make sure a valid value is entered if required.',
    630: 'The ACCME Activity ID is not included in the upload. Please make sure a valid value is entered.',
    631: 'The completion date is not included in the upload. Please make sure a valid value is entered.',
    632: 'The point element is not included in the upload. Please make sure a valid value is entered.',
    650: 'The ACCME credit ID element is not included in the upload. Please make sure a valid value is entered.',
    661: 'The ID entered does not exist in the board records. You will need to confirm that the correct ID is entered.',
    664: 'Either the date of birth or the ID is entered incorrectly.',
    665: 'Either the name of the learner or the board ID is entered incorrectly.',
    670: (
        'Learner data can only be submitted for activities that have been registered as offering MOC credit. '
        'Confirm that the activity has been registered accurately in PARS. Learners can be submitted '
        'immediately after it has been registered as offering MOC.'
    ),
    671: (
        'The date entered is not valid. The completion date must be entered between the start and end dates '
        'listed for the activity and must be formatted as MM-DD-YYYY.'
    ),
    672: (
        'Learners cannot be entered before the activity date listed in PARS. You should confirm that the '
        'activity date listed in PARS is correct and make any changes if necessary, or you should resubmit '
        'with the correct completion date.'
    ),
    673: 'The credit awarded is not formatted correctly.',
    674: (
        'For most activity types, the amount of credit earned by a learner must be less than what the '
        'activity is worth.'
    ),
    675: 'Points must be awarded ending in values of .00, .25, .50, or .75. No other decimal values will be accepted.',
    676: (
        'The credit types submitted are not formatted correctly. Please ensure that you are reporting credits'
        ' as per the specifications of the boards.'
    ),
    677: 'At least one creditCertificate element must be reported per learner completion.',
    678: 'A record cannot contain two of the same activityCertification values within the same learner record.',
    680: 'The activity has not been registered as offering Patient Safety credit.',
    681: (
        'The activity has not been registered as offering Practice Assessment (Improvement in Medical '
        'Practice) credit.'
    ),
    690: (
        'There is no 9-digit ACCME activity ID listed by the accredited provider. Ensure that you are '
        'reporting on the correct activity.'
    ),
    705: (
        'The completion date of the record is too far in the past to be accepted in PARS. If you receive this'
        ' error you should contact the certifying board directly in order to award the learner credit.'
    ),
    706: 'You cannot delete a record for a previous year (the deadline for deletes is 12/31 of each year)',
    709: 'Used for duplicate of learner record report previously through a non-PARS method.',
    710: 'The learner has already earned the amount of points available for the activity.',
    711: (
        'The amount of credit submitted would push the total amount of earned credit over the maximum '
        'available for the activity.'
    ),
    712: 'The identification type does not exist or does not correlate with the correct board.',
    713: 'The activity registration type does not exist or does not correlate with the correct board.',
    717: 'Certain boards only allow for one completion per activity per learner per day.',
    718: (
        'If the board does not require the board ID as part of the validation, this error indicates that PARS'
        ' found more than one match, and the learner should be resubmitted with the board ID included. '
        '(Currently only ABS does not require the board ID)'
    ),
    998: 'Contact the ACCME for more information regarding this error. This is typically a processing error.',
    801: (
        "A record with a Submitted status has been sent to the board and must be fully processed (Accepted or "
        "Rejected, typically within 24 hours) before it can be deleted. Try the delete again once the board has "
        "decided."
    ),
    802: (
        "The learner ID type, a credit type or the board code belongs to another board. Report the record to "
        "the board the activity is registered with, using that board's own ID type and credit types."
    ),
    803: (
        'Column 1 of every learner row must read "Learner Template B" (the template says: do not alter or delete '
        "this column). Correct column 1, or remove the row if it is not a learner record, and upload the row again."
    ),
    804: (
        "A learner row has at most the template's 17 columns (21 in a downloaded error report), each value at most "
        "300 characters, and at most 20 credit certificates. Correct the row and upload it again."
    ),
}

# Codes decided by a board (the board stage), as opposed to PARS validation.
BOARD_CODES = frozenset({661, 664, 665, 709, 718})


class ErrorDetail(BaseModel):
    """One error on one learner record row: the seed's message exactly, and optionally a `hint`
    saying what about this row caused it (shown before the code's description, in `resolution`)."""

    model_config = ConfigDict(frozen=True)

    code: int
    message: str
    hint: str | None = None


def error(code: int, certificate: str | None = None, hint: str | None = None) -> ErrorDetail:
    """The catalog's error for `code`; 678 names the repeated certificate as the seed shows."""
    message = ERROR_MESSAGES[code]
    if code == 678 and certificate:
        message = message.replace("[Activity Certificate Name]", certificate)
    return ErrorDetail(code=code, message=message, hint=hint)


def resolution(code: int, hint: str | None = None) -> str:
    """How to resolve an error: the row's hint, then the catalog's description of its code ("" for
    an unknown code without a hint)."""
    return " ".join(part for part in (hint, ERROR_DESCRIPTIONS.get(code, "")) if part)


def with_resolution(errors: list[dict]) -> list[dict]:
    """Stored error objects (`code`, `message`, `hint`) as the API shows them, each with its `resolution`."""
    return [{**e, "resolution": resolution(int(e["code"]), e.get("hint"))} if isinstance(e, dict) and "code" in e
            else e for e in errors]
