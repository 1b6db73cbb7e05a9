"""Tab-delimited "Learner Template B" files (SPEC 3.2), as Excel writes them.

Excel is the tool providers use, so this reader takes what Excel produces: UTF-8 with or
without BOM, "Unicode Text" (UTF-16 with BOM), ANSI (Windows-1252), any line ending, trailing
empty columns, blank lines, quoted cells ("O""Laughlin") and the downloaded error report itself
(columns 18-21 ignored). The file is refused whole only when it is not Template B at all: a
single row whose column 1 holds something else is that row's error 803, and a row with more than
21 columns or a value over 300 characters is that row's error 804.

A row whose first cell is empty but that has data in columns 2-17 is kept as a record (its
missing values become errors in the error report, as the seed's "Deleting Records" picture of a
row holding only "Delete" suggests), provided some row of the file names the template: a file
where no row says "Learner Template B" is not a Template B file.
"""

from __future__ import annotations

import codecs
import csv
import io
import re

from pars_contracts.boards import board
from pars_contracts.codes import ErrorDetail, error

from .rows import (
    DATA_COLUMNS,
    MAX_FIELD,
    MAX_RECORDS,
    NO_RECORDS,
    NOT_FORMATTED,
    TEMPLATE_B,
    TEMPLATE_B_COLUMNS,
    FileFormatError,
    ParsedFile,
    ParsedRow,
    RowInput,
    bounded,
    check_record_count,
    check_size,
    clean,
    too_long,
)

HEADER_MARK = "1. template"  # the header row's first cell starts with this (any casing)
# C0/C1 control characters other than tab, CR and LF: Excel never writes them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BINARY_SHARE = 0.05  # more than 5% control characters: not a text file
# Lines (blank ones included) a Template B file may have: forty per record allowed. Counted in C
# before the row-by-row reading, so a file of millions of blank or empty lines costs little.
MAX_LINES = 100_000
NOT_TEMPLATE_B_ROW = 803  # the project's code for a row whose column 1 is not the template


def parse_tab_file(data: bytes) -> ParsedFile:
    """Read a Template B file into rows. Raises FileFormatError or TooLargeError only."""
    check_size(data)
    text = _decode(data)
    if max(text.count("\n"), text.count("\r")) > MAX_LINES:
        raise FileFormatError(NOT_FORMATTED)
    # (line, the 17 cells, cells 18-21, what is beyond the format's bounds) of each data row
    found: list[tuple[int, list[str], list[str], list[str]]] = []
    named_template = False
    records = 0
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t", quotechar='"', strict=False)
    line = 1
    try:
        for cells in reader:
            row_number, line = line, reader.line_num + 1  # the line where this record starts
            cells = [c.strip() for c in cells]
            while cells and not cells[-1]:
                cells.pop()  # Excel pads rows with empty columns; they mean nothing
            if not cells or cells[0].casefold().startswith(HEADER_MARK):
                continue
            hints = []
            if len(cells) > len(TEMPLATE_B_COLUMNS):  # the row's error (804), its extra cells left out
                hints.append(f"The row has {len(cells):,} columns; Learner Template B has {DATA_COLUMNS} "
                             f"({len(TEMPLATE_B_COLUMNS)} in a downloaded error report).")
                cells = cells[:len(TEMPLATE_B_COLUMNS)]
            cells += [""] * (len(TEMPLATE_B_COLUMNS) - len(cells))  # Excel drops trailing tabs
            columns = cells[:DATA_COLUMNS]
            if not any(columns):
                continue  # only error-report columns left: nothing to process
            for column, cell in zip(TEMPLATE_B_COLUMNS, columns, strict=False):
                if len(cell) > MAX_FIELD:  # every value bounded where it enters (and in its events)
                    hints.append(too_long(f'Column "{column}"', len(cell)))
            columns = [c[:MAX_FIELD] for c in columns]  # cut, never passed on: the row is error 804
            if columns[0].casefold() == TEMPLATE_B.casefold():
                named_template = True
            records += 1
            if records <= MAX_RECORDS:  # past the limit only counted: the file is refused below
                ignored = [c[:MAX_FIELD] for c in cells[DATA_COLUMNS:] if c]
                found.append((row_number, columns, ignored, hints))
    except csv.Error as exc:  # e.g. a cell beyond the csv module's field size limit
        raise FileFormatError(NOT_FORMATTED) from exc
    if not found:
        raise FileFormatError(NO_RECORDS)
    if not named_template:
        raise FileFormatError(NOT_FORMATTED)
    check_record_count(records)  # before building records: a flood of rows costs little
    return ParsedFile(rows=[ParsedRow(n, columns, _record(columns, hints), ignored)
                            for n, columns, ignored, hints in found])


def _template_errors(first_cell: str) -> list[ErrorDetail]:
    """A row whose column 1 names something other than the template (a note, a totals row, a
    typo) is that row's error, not the file's (seed 001 line 221: "PARS will not reject entire
    files due to data entry errors"). An empty column 1 is no error of its own."""
    if not first_cell or first_cell.casefold() == TEMPLATE_B.casefold():
        return []
    return [error(NOT_TEMPLATE_B_ROW)]


def _decode(data: bytes) -> str:
    """Text from Excel's encodings. A BOM decides; otherwise UTF-8 if it decodes, else
    Windows-1252, whose five undefined bytes mean the file is not text we can read."""
    try:
        if data.startswith(codecs.BOM_UTF8):
            text = data[len(codecs.BOM_UTF8):].decode("utf-8")
        elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = data.decode("utf-16")  # the BOM picks the byte order and is consumed
        else:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise FileFormatError(NOT_FORMATTED) from exc
    text = text.rstrip("\x1a")  # a DOS end-of-file marker some old tools still append
    # NUL never occurs in text (UTF-16 without a BOM lands here too); many control
    # characters mean a binary file (an image, a spreadsheet saved as .xlsx...).
    if "\x00" in text or len(_CONTROL.findall(text)) > _BINARY_SHARE * len(text):
        raise FileFormatError(NOT_FORMATTED)
    return text


def _is_id_type(value: str) -> bool:
    return board(value) is not None or value.upper() in ("NPI", "LICENSE")


def _record(columns: list[str], hints: list[str]) -> RowInput:
    """The row's record; a value beyond the bounds (`bounded`) and `hints` make it error 804."""
    id_type, learner_id = columns[3], columns[4]
    # The seed's own error-report example labels column 4 "Learner ID" and column 5 "Learner ID
    # Type" (the template says the reverse). A file made from such a header may carry the id in
    # 4 and the type in 5; when the values say so unmistakably (5 is a board or id-type code, 4
    # is not and holds a digit), read them the other way round. The cells stay as given.
    if _is_id_type(learner_id) and not _is_id_type(id_type) and any(c.isdigit() for c in id_type):
        id_type, learner_id = learner_id, id_type
    return bounded(RowInput(
        board=clean(columns[1]),
        activity_id=clean(columns[2]),
        learner_id_type=clean(id_type),
        learner_id=clean(learner_id),
        first_name=clean(columns[5]),
        last_name=clean(columns[6]),
        date_of_birth=clean(columns[7]),
        completion_date=clean(columns[8]),
        action=clean(columns[9]),
        credits=clean(columns[10]),
        credit_types=[v for v in columns[11:DATA_COLUMNS] if v],
        format_errors=_template_errors(columns[0]),
    ), hints)
