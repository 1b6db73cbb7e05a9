"""Spreadsheet exports: the upload error report (SPEC 3.2) and the generic CSV/TSV writers
used by the other exports (activity summary, learner search).

Every cell is neutralized against formula injection (SPEC 7): a cell that starts with `=`, `+`,
`-`, `@` (after leading spaces), a tab or a CR gets a leading `'`, so that a spreadsheet shows
it as text instead of running it. Plain numbers are left alone ("-1", "-0.5", "+2"): a number
cannot be a formula, and a provider who typed negative credits must see exactly that in the
error report to correct it. Tabs, CRs and LFs inside a cell become spaces, so that one record
stays one line. Lines end with CRLF, as Excel writes them.

The tab-delimited error report is itself a Template B file: uploaded again as it is, it reads
back to the same records (columns 18-21 are ignored). Column 20 says how to resolve each error
(the catalog's description, from the seed's "List of Error codes"); column 21 is the date a board
rejected the record, for the rows a deferred board rejected after the upload was processed. The one difference is a neutralized cell,
which comes back with its leading `'` (e.g. a last name "=HYPERLINK(...)" becomes
"'=HYPERLINK(...)"): the value was never a name PARS could accept, and keeping the mark is the
price of never handing a live formula to a spreadsheet.

Strings are returned; to open in Excel with accents intact, encode them with `excel_bytes`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date

import orjson

from pars_contracts.codes import ErrorDetail, resolution

from .rows import DATA_COLUMNS, TEMPLATE_B_COLUMNS

_FORMULA_START = ("=", "+", "-", "@")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_LINE_BREAKING = re.compile(r"[\t\r\n]")


# Every whitespace and control character a spreadsheet may skip before a formula (review L1).
_SKIPPED = re.compile(r"[\s\x00-\x1f\x7f-\x9f]*")


def neutralize(value: object) -> str:
    """One cell as safe spreadsheet text."""
    text = "" if value is None else str(value)
    stripped = text[_SKIPPED.match(text).end():]  # type: ignore[union-attr]  # "*" always matches
    starts_formula = stripped.startswith(_FORMULA_START) or text.startswith(("\t", "\r"))
    if starts_formula and not _PLAIN_NUMBER.fullmatch(text.strip()):
        text = "'" + text
    return _LINE_BREAKING.sub(" ", text)


# One report row: the file's cells, the errors, and for a board's later rejection its date.
ReportRow = tuple[list[str], list[ErrorDetail]] | tuple[list[str], list[ErrorDetail], date | None]


def error_report_rows(rows: Iterable[ReportRow]) -> list[list[str]]:
    """Header + per row its 17 Template B cells, the error codes, the error messages, how to
    resolve them and (board rejections) the board's decision date."""
    table = [list(TEMPLATE_B_COLUMNS)]
    for row in rows:
        columns, errors = row[0], row[1]
        decided = row[2] if len(row) > 2 else None
        cells = (list(columns) + [""] * DATA_COLUMNS)[:DATA_COLUMNS]
        codes = "; ".join(str(e.code) for e in errors)
        messages = " | ".join(e.message for e in errors)
        guidance = " | ".join(resolution(e.code, e.hint) for e in errors)
        table.append([*cells, codes, messages, guidance, decided.strftime("%m/%d/%Y") if decided else ""])
    return table


def error_report_tsv(rows: Iterable[ReportRow]) -> str:
    """The not-processed rows as the tab-delimited error report (re-uploadable)."""
    table = error_report_rows(rows)
    return to_tsv(table[0], table[1:])


def error_report_csv(rows: Iterable[ReportRow]) -> str:
    """The same report as CSV (what the seed's "Download Errors" gives)."""
    table = error_report_rows(rows)
    return to_csv(table[0], table[1:])


def to_csv(header: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    return _write(header, rows, ",")


def to_tsv(header: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    return _write(header, rows, "\t")


def excel_bytes(text: str) -> bytes:
    """UTF-8 with a BOM: without it Excel reads a CSV as ANSI and garbles "é"."""
    return text.encode("utf-8-sig")


def _write(header: Sequence[object], rows: Iterable[Sequence[object]], delimiter: str) -> str:
    buffer = io.StringIO()
    # Minimal quoting: only a cell holding a quote (or the delimiter, for CSV) is quoted,
    # Excel style ("O""Laughlin"), which the tab reader unquotes on re-upload.
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n",
                        quoting=csv.QUOTE_MINIMAL)
    writer.writerow([neutralize(cell) for cell in header])
    for row in rows:
        writer.writerow([neutralize(cell) for cell in row])
    return buffer.getvalue()


def report_parts(text: str, limit: int) -> list[str]:
    """The report in consecutive parts of whole lines, each at most `limit` characters once
    JSON-encoded (escapes counted), so that each event carrying one is bounded. Joined in order,
    the parts are the text. A line longer than the limit alone (none is: every cell is bounded
    at entry) is cut, still in order."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.splitlines(keepends=True):
        cost = len(orjson.dumps(line)) - 2
        if current and size + cost > limit:
            parts.append("".join(current))
            current, size = [], 0
        while cost > limit:  # cut by characters: at most 6 JSON characters each
            step = max(1, limit // 6)
            parts.append(line[:step])
            line = line[step:]
            cost = len(orjson.dumps(line)) - 2
        current.append(line)
        size += cost
    if current:
        parts.append("".join(current))
    return parts
