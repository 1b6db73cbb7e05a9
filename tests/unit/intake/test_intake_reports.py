"""Error reports and exports: shape, formula neutralization, re-upload round trip (SPEC 3.2, 7)."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from test_intake_tabfile import SEED_DELETE_EXAMPLE, SEED_ERROR_REPORT
from test_intake_xmlwrite import ROWS

from pars_contracts.codes import error
from pars_intake.domain.reports import (
    error_report_csv,
    error_report_tsv,
    excel_bytes,
    neutralize,
    to_csv,
    to_tsv,
)
from pars_intake.domain.rows import TEMPLATE_B_COLUMNS
from pars_intake.domain.tabfile import parse_tab_file
from pars_intake.domain.xmlfile import parse_xml_file
from tests.support.xmlwrite import records_to_xml


def reupload(report: str):
    return [r.record for r in parse_tab_file(report.encode()).rows]


def test_header_has_the_19_columns_of_the_spec_and_the_projects_two():
    assert len(TEMPLATE_B_COLUMNS) == 21
    assert TEMPLATE_B_COLUMNS[0] == "1. Template"
    assert TEMPLATE_B_COLUMNS[3:5] == ["4. Learner ID Type", "5. Learner ID"]
    assert TEMPLATE_B_COLUMNS[16:] == [
        "17. Activity Certification (6th)", "18. Error Code", "19. Error Message", "20. How to Resolve",
        "21. Board Decision Date"]
    assert error_report_tsv([]) == "\t".join(TEMPLATE_B_COLUMNS) + "\r\n"


def test_report_rows_carry_codes_and_messages():
    parsed = parse_tab_file(SEED_ERROR_REPORT.encode())
    report = error_report_tsv([(parsed.rows[0].columns, [error(664)]),
                               (parsed.rows[2].columns, [error(690), error(631)])])
    lines = report.split("\r\n")
    assert lines[-1] == "" and len(lines) == 4  # CRLF after every line, Excel style
    first = lines[1].split("\t")
    assert len(first) == 21
    assert first[:12] == ["Learner Template B", "ABPATH", "200608132", "ABPATH", "1000109",
                          "Test5", "Account5", "Jun-70", "10/6/2019", "Add", "12",
                          "ABPath MOC Part II"]
    assert first[17:] == ["664", "Diplomate date of birth does not match Board record for this "
                                 "diplomate ID.", "Either the date of birth or the ID is entered incorrectly.", ""]
    third = lines[2].split("\t")
    assert third[17] == "690; 631"
    assert third[18] == "ACCME activity ID does not exist | Missing activity completion date."
    assert third[19].startswith("There is no 9-digit ACCME activity ID listed by the accredited provider.")
    assert " | The completion date is not included in the upload." in third[19]


def test_a_board_rejection_carries_its_decision_date_and_reads_back():
    parsed = parse_tab_file(SEED_ERROR_REPORT.encode())
    report = error_report_tsv([(parsed.rows[0].columns, [error(664)], date(2020, 1, 17))])
    assert report.split("\r\n")[1].split("\t")[17::3] == ["664", "01/17/2020"]
    again = parse_tab_file(report.encode())  # re-uploaded as it is
    assert [r.record for r in again.rows] == [parsed.rows[0].record]


def test_cells_never_break_the_line_or_the_columns():
    columns = ["Learner Template B", "ABO", "1", "ABO", "2", "Vin\tcent", "Van\r\nGogh", "a\rb"]
    lines = error_report_tsv([(columns, [error(998)])]).split("\r\n")
    assert len(lines) == 3
    assert lines[1].split("\t")[5:8] == ["Vin cent", "Van  Gogh", "a b"]


@pytest.mark.parametrize(("value", "safe"), [
    ("=1+1", "'=1+1"),
    ('=HYPERLINK("http://evil.example","Click")', '\'=HYPERLINK("http://evil.example","Click")'),
    ("+SUM(A1)", "'+SUM(A1)"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "' =1"),
    ("\r=1", "' =1"),
    ("  =1+1", "'  =1+1"),
    # Review L1: any leading whitespace or control character, not only spaces, tab and CR.
    ("\n=1+1", "' =1+1"),
    ("\x0b=1+1", "'\x0b=1+1"),
    ("\x0c@SUM(A1)", "'\x0c@SUM(A1)"),
    ("\x00+1+1", "'\x00+1+1"),
    ("\u00a0\u2003=1+1", "'\u00a0\u2003=1+1"),
    ("\x1f \x85-2+3", "'\x1f \x85-2+3"),
    ("\x0b12", "\x0b12"),
    (" \x01 \x02=1", "' \x01 \x02=1"),
    ("-", "'-"),
    ("-1", "-1"),
    ("-0.5", "-0.5"),
    ("+2", "+2"),
    (" -1.25 ", " -1.25 "),
    ("12", "12"),
    ("'=already", "'=already"),
    ("O'Keeffe", "O'Keeffe"),
    ("", ""),
    (None, ""),
    (3, "3"),
])
def test_neutralize(value, safe):
    assert neutralize(value) == safe


def test_tab_report_reuploads_to_the_same_records():
    for source in (SEED_ERROR_REPORT, SEED_DELETE_EXAMPLE):
        parsed = parse_tab_file(source.encode())
        report = error_report_tsv([(r.columns, [error(664)]) for r in parsed.rows])
        assert reupload(report) == [r.record for r in parsed.rows]


def test_quotes_survive_the_round_trip():
    text = ("Learner Template B\tABO\t200931446\tABO\t98989\t\"Vincent \"\"Vinnie\"\"\"\t"
            "O\"Laughlin\t03/30\r\n")
    parsed = parse_tab_file(text.encode())
    assert parsed.rows[0].record.first_name == 'Vincent "Vinnie"'
    report = error_report_tsv([(parsed.rows[0].columns, [error(998)])])
    assert reupload(report) == [parsed.rows[0].record]


def test_formula_names_come_back_marked_as_text():
    text = ("Learner Template B\tABO\t200931446\tABO\t98989\t@cmd\t"
            "\"=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\"\t03/30\t2/10/2019\tAdd\t-1\r\n")
    parsed = parse_tab_file(text.encode())
    assert parsed.rows[0].record.last_name == '=HYPERLINK("http://evil.example","x")'
    report = error_report_tsv([(parsed.rows[0].columns, [error(673)])])
    assert "\t=" not in report and "\t@" not in report
    again = reupload(report)[0]
    # Accepted difference: the neutralized cells keep their "'" on re-upload; nothing else moves.
    assert again.first_name == "'@cmd"
    assert again.last_name == '\'=HYPERLINK("http://evil.example","x")'
    assert again.credits == "-1"  # a plain number is left as typed
    expected = parsed.rows[0].record.model_copy(
        update={"first_name": "'@cmd", "last_name": again.last_name})
    assert again == expected
    # Neutralizing is idempotent: a second round changes nothing.
    second = error_report_tsv([(r.columns, [error(673)]) for r in parse_tab_file(
        report.encode()).rows])
    assert second == report


def test_xml_errors_use_the_same_report_shape():
    parsed = parse_xml_file(records_to_xml(ROWS))
    report = error_report_tsv([(r.columns, [error(664)]) for r in parsed.rows])
    again = reupload(report)
    assert len(again) == len(ROWS)
    for xml_record, tab_record in zip((r.record for r in parsed.rows), again, strict=True):
        # The tab template has no NPI or credit-id column: those alone stay behind.
        assert tab_record == xml_record.model_copy(update={"npi": None, "credit_id": None})


def test_csv_report_reads_back_as_the_same_table():
    parsed = parse_tab_file(SEED_ERROR_REPORT.encode())
    rows = [(r.columns, [error(664), error(665)]) for r in parsed.rows]
    table = list(csv.reader(io.StringIO(error_report_csv(rows), newline="")))
    assert table[0] == TEMPLATE_B_COLUMNS
    assert table[1][:17] == parsed.rows[0].columns
    assert table[1][17] == "664; 665"
    assert error_report_csv(rows).endswith("\r\n")


def test_csv_quotes_commas_and_neutralizes():
    out = to_csv(["name", "credits", "note"], [["Smith, John", "-0.25", "=cmd|' /C calc'!A0"],
                                                [None, 4, "@x"]])
    table = list(csv.reader(io.StringIO(out, newline="")))
    assert table == [["name", "credits", "note"], ["Smith, John", "-0.25", "'=cmd|' /C calc'!A0"],
                     ["", "4", "'@x"]]


def test_to_tsv_generic():
    out = to_tsv(["a", "b"], [["1", "+x"], ["tab\there", "line\nbreak"]])
    assert out == "a\tb\r\n1\t'+x\r\ntab here\tline break\r\n"


def test_excel_bytes_has_a_bom():
    assert excel_bytes("é") == b"\xef\xbb\xbf\xc3\xa9"
    assert parse_tab_file(excel_bytes(SEED_DELETE_EXAMPLE)).rows[0].record.last_name == "Van Gogh"


def test_report_parts_are_bounded_whole_lines_that_join_back():
    import orjson

    from pars_intake.domain.reports import report_parts

    lines = [f"row {n}\t{'é' * (n % 50)}\t\"q\"\x01\r\n" for n in range(2000)]
    text = "".join(lines)
    parts = report_parts(text, 4096)
    assert "".join(parts) == text and len(parts) > 10
    assert all(len(orjson.dumps(p)) - 2 <= 4096 for p in parts)
    assert all(p.endswith("\r\n") for p in parts)  # whole lines
    assert report_parts("", 4096) == []
    long_line = "\x01" * 5000 + "\r\n"  # longer than a part alone (JSON escapes count): cut, in order
    cut = report_parts(long_line, 600)
    assert "".join(cut) == long_line and all(len(orjson.dumps(p)) - 2 <= 600 for p in cut)
