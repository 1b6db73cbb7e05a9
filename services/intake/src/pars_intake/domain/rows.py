"""What an uploaded file becomes before any PARS rule runs: one `RowInput` per learner record,
as the provider gave it (trimmed strings), plus the file-level refusals (SPEC 3.2).

Nothing here judges the data: a bad date or an unknown board is the validator's business and
ends up in the error report. Only a file that cannot be read as its format is refused whole.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import orjson
from pydantic import BaseModel, ConfigDict

from pars_contracts.codes import ErrorDetail, error

# Messages the seed (document 001, "Tab Delimited and XML Batch Upload errors") shows verbatim.
NOT_FORMATTED = "The file is not formatted correctly. Please use the format provided in the template."
NOT_XML = "The file selected is not a .xml file. Please upload a .xml file."
# The seed has no wording for an empty file; this one says what is wrong.
NO_RECORDS = "The file contains no learner records."

MAX_RECORDS = 2500
MAX_BYTES = 10 * 1024 * 1024
# The longest value a record field may hold (as the web service's `Short`): names, ids, dates,
# credit types. Every value is bounded where it enters, so every event is bounded too.
MAX_FIELD = 300
MAX_XML_CREDIT_TYPES = 20  # an XML module may name more than the template's 6, but not without end

TEMPLATE_B = "Learner Template B"

# The header of Learner Template B plus the two error-report columns, exactly as SPEC 3.2 names them.
TEMPLATE_B_COLUMNS: list[str] = [
    "1. Template",
    "2. Activity Registration",
    "3. ACCME Activity ID",
    "4. Learner ID Type",
    "5. Learner ID",
    "6. First Name",
    "7. Last Name",
    "8. Date of Birth (MM/DD)",
    "9. Date of Completion",
    "10. Action",
    "11. Number of Credits",
    "12. Activity Certification (1st)",
    "13. Activity Certification (2nd)",
    "14. Activity Certification (3rd)",
    "15. Activity Certification (4th)",
    "16. Activity Certification (5th)",
    "17. Activity Certification (6th)",
    "18. Error Code",
    "19. Error Message",
    # The project's own error-report columns, ignored on upload like 18 and 19: how to resolve each
    # error (the seed's "Description"), and the date a board rejected the record (board rejections).
    "20. How to Resolve",
    "21. Board Decision Date",
]
DATA_COLUMNS = 17  # columns 18 to 21 belong to the error report and are ignored on upload
MAX_CREDIT_TYPES = 6  # columns 12-17


class RowInput(BaseModel):
    """One learner record row as given: trimmed strings, None where empty. The validator
    decides every rule on these values, so nothing is parsed into dates or numbers here."""

    model_config = ConfigDict(extra="forbid")

    activity_id: str | None = None
    board: str | None = None
    action: str | None = None
    learner_id_type: str | None = None
    learner_id: str | None = None
    npi: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    date_of_birth: str | None = None
    completion_date: str | None = None
    credits: str | None = None
    credit_types: list[str] = []  # non-empty values only, in order
    credit_id: str | None = None  # XML gives one; tab rows do not (the system derives it)
    format_errors: list[ErrorDetail] = []  # what the file's shape already broke (XML: 650, 677)


@dataclass
class ParsedRow:
    row_number: int  # tab: the line in the file (header = line 1), as Excel shows it; XML: record n
    columns: list[str]  # the 17 Template B cells as text, for the error report
    record: RowInput
    ignored: list[str] = field(default_factory=list)  # columns 18-19 of an error report, as given


@dataclass
class ParsedFile:
    rows: list[ParsedRow] = field(default_factory=list)


def content_digest(parsed: ParsedFile) -> str:
    """What "the same file" means for duplicate detection: the same rows in the same order,
    however the file was encoded (UTF-8 or UTF-16, CRLF or LF, blank lines, padding columns).
    An error report is not the file it came from: its columns 18-19 count here."""
    records = [[r.record.model_dump(mode="json"), r.ignored] for r in parsed.rows]
    return hashlib.sha256(orjson.dumps(records)).hexdigest()


class FileFormatError(Exception):
    """The whole file is refused: nothing from it is processed (HTTP 422)."""

    def __init__(self, message: str = NOT_FORMATTED) -> None:
        super().__init__(message)
        self.message = message


class TooLargeError(Exception):
    """More than MAX_RECORDS records or MAX_BYTES bytes: refused whole (HTTP 413)."""

    def __init__(self, message: str, *, limit: int, count: int) -> None:
        super().__init__(message)
        self.message = message
        self.limit = limit
        self.count = count

    def __reduce__(self) -> tuple:
        # Pickled whole: the parser runs in another process (pars_intake.parsing).
        return (_too_large, (self.message, self.limit, self.count))


def _too_large(message: str, limit: int, count: int) -> TooLargeError:
    return TooLargeError(message, limit=limit, count=count)


def check_size(data: bytes) -> None:
    """Refuse an oversized file before spending any work on it."""
    if len(data) > MAX_BYTES:
        raise TooLargeError(
            f"The file is too large: {len(data):,} bytes. "
            f"Batch uploads may not exceed 10 MB ({MAX_BYTES:,} bytes).",
            limit=MAX_BYTES,
            count=len(data),
        )


def check_record_count(count: int) -> None:
    if count > MAX_RECORDS:
        raise TooLargeError(
            f"The file contains {count:,} records. "
            f"Batch uploads may not exceed {MAX_RECORDS:,} records.",
            limit=MAX_RECORDS,
            count=count,
        )


OUT_OF_BOUNDS = 804  # the project's code for a row beyond the format's bounds (not the file's error)


def too_long(what: str, length: int) -> str:
    """Which value is too long (never quoting it)."""
    return f"{what} has {length:,} characters; a value may have at most {MAX_FIELD}."


def out_of_bounds(hints: list[str]) -> ErrorDetail:
    return error(OUT_OF_BOUNDS, hint=" ".join(hints))


# The record's text fields and how the error message names them.
FIELD_NAMES = {
    "board": "Activity Registration", "activity_id": "ACCME Activity ID", "learner_id_type": "Learner ID Type",
    "learner_id": "Learner ID", "npi": "NPI", "first_name": "First Name", "last_name": "Last Name",
    "date_of_birth": "Date of Birth", "completion_date": "Date of Completion", "action": "Action",
    "credits": "Number of Credits", "credit_id": "Credit ID",
}


def bounded(record: RowInput, hints: list[str] | None = None) -> RowInput:
    """The record with every value within bounds, so that every event stays bounded: a value
    longer than MAX_FIELD is dropped and credit types past MAX_XML_CREDIT_TYPES are cut, and the
    row gets error 804 saying which (with any `hints` already found). Data-entry errors are the
    row's, never the whole file's (seed 001 line 221)."""
    hints = list(hints or [])
    changes: dict[str, object] = {}
    for name, label in FIELD_NAMES.items():
        value = getattr(record, name)
        if value is not None and len(value) > MAX_FIELD:
            changes[name] = None
            hints.append(too_long(label, len(value)))
    types = record.credit_types
    if len(types) > MAX_XML_CREDIT_TYPES:
        hints.append(f"The record has {len(types):,} credit certificates; it may have at most {MAX_XML_CREDIT_TYPES}.")
        types = types[:MAX_XML_CREDIT_TYPES]
    hints += [too_long("Activity Certification", len(t)) for t in types if len(t) > MAX_FIELD]
    if not hints:
        return record
    changes["credit_types"] = [t for t in types if len(t) <= MAX_FIELD]
    changes["format_errors"] = [*record.format_errors, out_of_bounds(hints)]
    return record.model_copy(update=changes)


def clean(value: str | None) -> str | None:
    """Trimmed text, or None when nothing is left."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def template_b_cells(record: RowInput) -> list[str]:
    """The 17 Template B cells for a record that did not come from a tab file (XML), so that
    its errors appear in the same error-report shape. Credit types past the 6th are left out
    of the cells (the template has no column for them); the record keeps them all."""
    types = list(record.credit_types[:MAX_CREDIT_TYPES])
    types += [""] * (MAX_CREDIT_TYPES - len(types))
    fields = [
        record.board, record.activity_id, record.learner_id_type, record.learner_id,
        record.first_name, record.last_name, record.date_of_birth, record.completion_date,
        record.action, record.credits,
    ]
    return [TEMPLATE_B, *(v or "" for v in fields), *types]
