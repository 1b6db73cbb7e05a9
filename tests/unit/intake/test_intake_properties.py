"""Property tests: the readers fail only with their two refusals, whatever the bytes, and the
round trips (tab -> error report -> tab, records -> XML -> records) keep the records."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from intake_helpers import assert_valid
from test_intake_xmlfile import document
from test_intake_xmlwrite import ROWS

from pars_contracts.boards import BOARDS
from pars_intake.domain.reports import error_report_tsv
from pars_intake.domain.rows import FileFormatError, RowInput, TooLargeError
from pars_intake.domain.tabfile import parse_tab_file
from pars_intake.domain.xmlfile import parse_xml_file
from tests.support.xmlwrite import records_to_xml

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
REFUSALS = (FileFormatError, TooLargeError)


def parses_or_refuses(parse, data: bytes) -> None:
    try:
        parse(data)
    except REFUSALS:
        pass


# --- never anything but a refusal ------------------------------------------------------------

@SETTINGS
@given(st.binary(max_size=4000))
def test_tab_reader_on_arbitrary_bytes(data):
    parses_or_refuses(parse_tab_file, data)


@SETTINGS
@given(st.binary(max_size=4000))
def test_xml_reader_on_arbitrary_bytes(data):
    parses_or_refuses(parse_xml_file, data)


CELL = st.text(max_size=12)  # any code point, control characters and quotes included


@SETTINGS
@given(st.lists(st.lists(CELL, max_size=22), max_size=8),
       st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]),
       st.sampled_from(["\r\n", "\n", "\r"]))
def test_tab_reader_on_template_like_text(rows, encoding, newline):
    lines = [("Learner Template B\t" if i % 2 == 0 else "") + "\t".join(r)
             for i, r in enumerate(rows)]
    data = newline.join(lines).encode(encoding, errors="replace")
    parses_or_refuses(parse_tab_file, data)


SEED_DOCUMENT = document()


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, len(SEED_DOCUMENT)), st.integers(0, 40),
                          st.binary(max_size=12)), min_size=1, max_size=4))
def test_xml_reader_on_mutated_documents(edits):
    data = bytearray(SEED_DOCUMENT)
    for at, cut, insert in edits:
        data[at:at + cut] = insert
    parses_or_refuses(parse_xml_file, bytes(data))


FRAGMENTS = st.sampled_from([
    "<ar:ActivityReport>", "</ar:ActivityReport>", "<ar:Member>", "</ar:Member>",
    "<ar:Activity>", "</ar:Activity>", "<ar:Module>", "</ar:Module>", "<ar:CreditCertificate>",
    "</ar:CreditCertificate>", "<ar:CreditID>x</ar:CreditID>", "<ar:XtensibleInfo>",
    "</ar:XtensibleInfo>", "<ex:learnerRecordAction>add</ex:learnerRecordAction>",
    '<ar:ModuleName moduleID="1">m</ar:ModuleName>', "<m:UniqueID domain='NPI'>1</m:UniqueID>",
    "<!DOCTYPE x>", "<!ENTITY e 'x'>", "&e;", "&amp;", "<![CDATA[<]]>", "<!-- c -->", "<?pi?>",
    "text", "\u00e9", "<x>", "</x>",
])


@SETTINGS
@given(st.lists(FRAGMENTS, max_size=30))
def test_xml_reader_on_shuffled_elements(fragments):
    head = SEED_DOCUMENT.split(b"<ar:ActivityReport>")[0]
    data = head + "".join(fragments).encode() + b"</ar:ActivityReports>"
    parses_or_refuses(parse_xml_file, data)


# --- tab -> error report -> tab ----------------------------------------------------------------

def excel_tab_file(rows: list[list[str]]) -> bytes:
    """What Excel writes for these cells: tab-delimited, minimal quoting, CRLF."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\r\n")
    for cells in rows:
        writer.writerow(["Learner Template B", *cells])
    return buffer.getvalue().encode("utf-8")


TEXT = st.characters(blacklist_categories=("Cc", "Cs"))
SAFE_CELL = st.text(st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="=+-@"),
                    max_size=10)
ANY_CELL = st.text(TEXT, max_size=10)
ERRORS = st.lists(st.sampled_from([664, 690, 631, 998]), max_size=3)


def report_of(parsed, codes):
    from pars_contracts.codes import error

    return error_report_tsv([(r.columns, [error(c) for c in codes]) for r in parsed.rows])


@SETTINGS
@given(st.lists(st.lists(SAFE_CELL, min_size=16, max_size=16), min_size=1, max_size=5), ERRORS)
def test_error_report_reuploads_to_the_same_records(rows, codes):
    try:
        parsed = parse_tab_file(excel_tab_file(rows))
    except FileFormatError:
        return  # e.g. every row blank: nothing to report
    again = parse_tab_file(report_of(parsed, codes).encode())
    assert [r.record for r in again.rows] == [r.record for r in parsed.rows]


@SETTINGS
@given(st.lists(st.lists(ANY_CELL, min_size=16, max_size=16), min_size=1, max_size=5), ERRORS)
def test_error_report_round_trip_is_a_fixed_point(rows, codes):
    """With formula-like cells the first report marks them; from then on nothing changes."""
    try:
        parsed = parse_tab_file(excel_tab_file(rows))
    except FileFormatError:
        return
    first = report_of(parsed, codes)
    second = report_of(parse_tab_file(first.encode()), codes)
    assert second == first


# --- records -> XML -> records -----------------------------------------------------------------

CREDIT_TYPES = sorted({t.name for b in BOARDS.values() for t in b.credit_types})
NAME = st.text(st.characters(whitelist_categories=("L", "M", "N", "P", "S", "Zs")),
               min_size=1, max_size=20).map(str.strip).filter(bool)
ID = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=12)


def maybe(strategy):
    return st.none() | strategy


RECORD = st.builds(
    RowInput,
    board=st.sampled_from(sorted(BOARDS)),
    activity_id=maybe(st.from_regex(r"\A[0-9]{9}\Z")),
    action=maybe(st.sampled_from(["Add", "Delete"])),
    learner_id_type=maybe(st.sampled_from([*sorted(BOARDS), "NPI", "LICENSE"])),
    learner_id=maybe(ID),
    npi=maybe(st.from_regex(r"\A[0-9]{10}\Z")),
    first_name=maybe(NAME),
    last_name=maybe(NAME),
    date_of_birth=maybe(st.dates(min_value=date(2000, 1, 1),
                                 max_value=date(2000, 12, 31))
                        .map(lambda d: d.strftime("%m/%d"))),
    completion_date=maybe(st.dates(min_value=date(1950, 1, 1))
                          .map(lambda d: f"{d.month:02d}/{d.day:02d}/{d.year:04d}")),
    credits=maybe(st.integers(0, 400).map(lambda q: str(Decimal(q) / 4))),
    credit_types=st.lists(st.sampled_from(CREDIT_TYPES), max_size=6),
    credit_id=st.from_regex(r"\Accid:[a-z]{1,8}\.org:[0-9]{1,8}\Z"),
)


@SETTINGS
@given(st.lists(RECORD, min_size=1, max_size=4))
def test_records_survive_xml_and_validate(rows):
    data = records_to_xml(rows)
    assert_valid(data)
    assert [r.record for r in parse_xml_file(data).rows] == rows


def test_fixed_rows_survive_xml():
    assert [r.record for r in parse_xml_file(records_to_xml(ROWS)).rows] == ROWS
