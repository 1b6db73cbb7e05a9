"""Learner Template B tab-delimited files (SPEC 3.2), with the seed's own example rows."""

from __future__ import annotations

import pytest
from intake_helpers import tab_lines

from pars_intake.domain.rows import (
    MAX_BYTES,
    MAX_FIELD,
    MAX_RECORDS,
    NO_RECORDS,
    NOT_FORMATTED,
    TEMPLATE_B_COLUMNS,
    FileFormatError,
    RowInput,
    TooLargeError,
)
from pars_intake.domain.tabfile import parse_tab_file

# Document 001, "Tab Delimited and XML Batch Upload errors": the downloaded error report,
# whose header swaps the labels of columns 4 and 5 while the data keeps Template B's order.
SEED_ERROR_REPORT = (
    "1. Template (DO NOT ALTER OR)\t2. Activity Registration\t3. ACCME Activity ID\t"
    "4. Learner ID\t5. Learner ID Type\t6. First Name\t7. Last Name\t8. Date of Birth\t"
    "9. Date of Completion\t10. Action\t11. Number of Credits\t12. Activity Certification (1st)\t"
    "13. Activity Certification (2nd)\t14. Activity Certification (3rd)\t"
    "15. Activity Certification (4th)\t16. Activity Certification (5th)\t"
    "17. Activity Certification (6th)\t18. Error Code\t19. Error Message\r\n"
    "Learner Template B\tABPATH\t200608132\tABPATH\t1000109\tTest5\tAccount5\tJun-70\t10/6/2019\t"
    "Add\t12\tABPath MOC Part II\t\t\t\t\t\t664\tDiplomate date of birth does not match Board "
    "record for this diplomate ID.\r\n"
    "Learner Template B\tABPATH\t200608132\tABPATH\t1000112\tTest8\tAccount8\tSep-66\t10/6/2019\t"
    "Add\t8.5\tABPath MOC Part II\t\t\t\t\t\t664\tDiplomate date of birth does not match Board "
    "record for this diplomate ID.\r\n"
    "Learner Template B\tABPATH\t200608133\tABPATH\t1000113\tTest9\tAccount9\t1-Oct\t10/6/2019\t"
    "Add\t12\tABPath MOC Part II\t\t\t\t\t\t690\tACCME activity ID does not exist\r\n"
)

# Document 001, "Deleting Records": the template header (12 columns), two ABO rows and the
# row that holds only "Delete" in the Action column.
SEED_DELETE_EXAMPLE = (
    "1. Template (DO NOT ALTER OR DELETE THIS COLUMN)\t2. Activity Registration\t"
    "3. ACCME Activity ID\t4. Learner ID Type\t5. Learner ID\t6. First Name\t7. Last Name\t"
    "8. Date of Birth (MM/DD) -\t9. Date of Completion\t10. Action\t11. Number of Credits\t"
    "12. Activity Certification (1st)\r\n"
    "Learner Template B\tABO\t200931446\tABO\t98989\tVincent\tVan Gogh\t03/30\t2/10/2019\tAdd\t"
    "0.25\tABO MOC Part II\r\n"
    "Learner Template B\tABO\t200931446\tABO\t97979\tGeorgia\tO'Keeffe\t11/15\t5/5/2019\tAdd\t"
    "0.25\tABO MOC Part II\r\n"
    "\t\t\t\t\t\t\t\t\tDelete\t\t\r\n"
)

VAN_GOGH = RowInput(
    board="ABO", activity_id="200931446", learner_id_type="ABO", learner_id="98989",
    first_name="Vincent", last_name="Van Gogh", date_of_birth="03/30",
    completion_date="2/10/2019", action="Add", credits="0.25", credit_types=["ABO MOC Part II"],
)


def row(*cells: str) -> list[str]:
    return ["Learner Template B", *cells]


def seed_like(first: str = "José", last: str = "Gaëlle") -> str:
    return tab_lines(row("ABO", "200931446", "ABO", "98989", first, last, "03/30", "2/10/2019",
                         "Add", "0.25", "ABO MOC Part II"))


def test_seed_error_report_rows_read_by_position():
    parsed = parse_tab_file(SEED_ERROR_REPORT.encode())
    assert [r.row_number for r in parsed.rows] == [2, 3, 4]
    first = parsed.rows[0].record
    assert first == RowInput(
        board="ABPATH", activity_id="200608132", learner_id_type="ABPATH", learner_id="1000109",
        first_name="Test5", last_name="Account5", date_of_birth="Jun-70",
        completion_date="10/6/2019", action="Add", credits="12",
        credit_types=["ABPath MOC Part II"],
    )
    assert [r.record.date_of_birth for r in parsed.rows] == ["Jun-70", "Sep-66", "1-Oct"]
    assert parsed.rows[1].record.credits == "8.5"
    assert parsed.rows[2].record.activity_id == "200608133"
    # Columns 18-19 are the old errors: ignored, and not part of the row's cells.
    assert len(parsed.rows[0].columns) == 17
    assert parsed.rows[0].columns[:5] == [
        "Learner Template B", "ABPATH", "200608132", "ABPATH", "1000109"]


def test_seed_delete_example_with_the_delete_only_row():
    parsed = parse_tab_file(SEED_DELETE_EXAMPLE.encode())
    assert [r.row_number for r in parsed.rows] == [2, 3, 4]
    assert parsed.rows[0].record == VAN_GOGH
    assert parsed.rows[1].record.last_name == "O'Keeffe"
    assert parsed.rows[1].record.learner_id == "97979"
    # The row holding only "Delete" is a record with everything else missing: the validator
    # turns it into errors for the report instead of refusing the whole file.
    assert parsed.rows[2].record == RowInput(action="Delete")
    assert parsed.rows[2].columns == [""] * 9 + ["Delete"] + [""] * 7


def test_tab_rows_have_no_credit_id_npi_or_format_errors():
    record = parse_tab_file(SEED_DELETE_EXAMPLE.encode()).rows[0].record
    assert record.credit_id is None and record.npi is None and record.format_errors == []


def test_file_without_any_template_b_row_is_not_formatted():
    with pytest.raises(FileFormatError) as info:
        parse_tab_file(b"\t\t\t\t\t\t\t\t\tDelete\t\t\r\n")
    assert info.value.message == NOT_FORMATTED


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le-bom",
                                      "utf-16-be-bom", "cp1252"])
def test_encodings_excel_writes(encoding):
    text = seed_like()
    if encoding == "utf-16-le-bom":  # Excel "Unicode Text"
        data = b"\xff\xfe" + text.encode("utf-16-le")
    elif encoding == "utf-16-be-bom":
        data = b"\xfe\xff" + text.encode("utf-16-be")
    else:
        data = text.encode(encoding)
    record = parse_tab_file(data).rows[0].record
    assert (record.first_name, record.last_name) == ("José", "Gaëlle")
    assert record.board == "ABO"


def test_windows_1252_specific_characters():
    data = seed_like("Zoë", "O’Brien").encode("cp1252")  # the curly apostrophe is 0x92
    assert b"\x92" in data
    record = parse_tab_file(data).rows[0].record
    assert (record.first_name, record.last_name) == ("Zoë", "O’Brien")


def test_windows_1252_undefined_byte_is_not_formatted():
    data = seed_like().encode("cp1252").replace(b"Jos\xe9", b"Jos\x81")
    with pytest.raises(FileFormatError) as info:
        parse_tab_file(data)
    assert info.value.message == NOT_FORMATTED


def test_utf16_with_odd_length_is_not_formatted():
    with pytest.raises(FileFormatError):
        parse_tab_file(b"\xff\xfe" + seed_like().encode("utf-16-le") + b"\x00")


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_line_endings(newline):
    text = tab_lines(TEMPLATE_B_COLUMNS[:17], row("ABO", "200931446", "ABO", "98989", "Vincent",
                     "Van Gogh", "03/30", "2/10/2019", "Add", "0.25", "ABO MOC Part II"),
                     row("ABO", "200931446", "ABO", "97979"), newline=newline)
    parsed = parse_tab_file(text.encode())
    assert [r.record.learner_id for r in parsed.rows] == ["98989", "97979"]
    assert parsed.rows[0].record == VAN_GOGH


def test_trailing_tabs_blank_lines_and_short_rows():
    text = (
        "\r\n"
        + "\t".join(row("ABO", "200931446", "ABO", "98989")) + "\t" * 30 + "\r\n"
        + "\r\n   \r\n\t\t\t\r\n"
        + "\t".join(row("ABO", "200931446", "ABO", "97979", "Georgia", "O'Keeffe")) + "\r\n"
        + "\r\n"
    )
    parsed = parse_tab_file(text.encode())
    assert [r.row_number for r in parsed.rows] == [2, 6]  # blank lines are not records
    assert parsed.rows[0].record == RowInput(
        board="ABO", activity_id="200931446", learner_id_type="ABO", learner_id="98989")
    assert parsed.rows[1].columns[6] == "O'Keeffe"
    assert all(len(r.columns) == 17 for r in parsed.rows)


def test_values_are_trimmed_and_empty_values_are_none():
    text = tab_lines(["  learner template b ", " ABO ", "200931446 ", "", " ", "Vincent "])
    record = parse_tab_file(text.encode()).rows[0].record
    assert record.board == "ABO" and record.activity_id == "200931446"
    assert record.learner_id_type is None and record.learner_id is None
    assert record.first_name == "Vincent"


def test_header_present_or_absent_give_the_same_records():
    data = tab_lines(row("ABO", "200931446", "ABO", "98989", "Vincent", "Van Gogh", "03/30",
                         "2/10/2019", "Add", "0.25", "ABO MOC Part II"))
    with_header = tab_lines(TEMPLATE_B_COLUMNS) + data
    assert parse_tab_file(data.encode()).rows[0].record == VAN_GOGH
    assert parse_tab_file(with_header.encode()).rows[0].record == VAN_GOGH
    assert parse_tab_file(with_header.encode()).rows[0].row_number == 2


def test_credit_types_keep_order_and_skip_empty_cells():
    text = tab_lines(row("ABIM", "200000001", "ABIM", "1", "A", "B", "01/01", "1/1/2020", "Add",
                         "2", "ABIM Medical Knowledge", "", "ABIM Patient Safety", "", "",
                         "ABIM Practice Assessment"))
    record = parse_tab_file(text.encode()).rows[0].record
    assert record.credit_types == [
        "ABIM Medical Knowledge", "ABIM Patient Safety", "ABIM Practice Assessment"]


def test_nineteen_column_error_report_reuploads():
    parsed = parse_tab_file(SEED_ERROR_REPORT.encode())
    assert len(parsed.rows) == 3
    assert all(r.record.credit_types == ["ABPath MOC Part II"] for r in parsed.rows)


def test_more_than_twenty_one_cells_is_that_rows_error_not_the_files():
    # Columns 18-21 are the error report's (code, message, how to resolve, board decision date); a
    # 22nd is a data-entry error of that row (seed 001 221: files are not rejected for those).
    parsed = parse_tab_file((seed_like() + tab_lines(row(*["x"] * 21))).encode())
    assert [[e.code for e in r.record.format_errors] for r in parsed.rows] == [[], [804]]
    wide = parsed.rows[1]
    assert wide.record.format_errors[0].message == "Learner record row is not formatted correctly."
    assert "The row has 22 columns; Learner Template B has 17 (21 in a downloaded error report)." == \
        wide.record.format_errors[0].hint
    assert len(wide.columns) == 17 and wide.ignored == ["x"] * 4  # the report shows the row as far as it fits


def test_the_error_reports_four_columns_are_ignored():
    cells = ["ABO", "200931446", "ABO", "98989", "Vincent", "Van Gogh", "03/30", "2/10/2019", "Add", "0.25",
             "ABO MOC Part II", "", "", "", "", ""]
    parsed = parse_tab_file(tab_lines(row(*cells, "664", "Diplomate date ...", "Either the date of birth ...",
                                          "01/17/2020")).encode())
    assert parsed.rows[0].record.last_name == "Van Gogh" and parsed.rows[0].record.credit_types == ["ABO MOC Part II"]


def test_excel_quoted_cells_are_unquoted():
    text = tab_lines(row("ABO", "200931446", "ABO", "98989", '"Vincent"', '"O""Laughlin"',
                         '"03/30"', "2/10/2019", "Add", '"0.25"', '"ABO MOC Part II"'))
    record = parse_tab_file(text.encode()).rows[0].record
    assert record.first_name == "Vincent"
    assert record.last_name == 'O"Laughlin'
    assert record.credits == "0.25" and record.credit_types == ["ABO MOC Part II"]


def test_quote_inside_an_unquoted_cell_is_kept():
    text = tab_lines(row("ABO", "200931446", "ABO", "98989", "Bob", 'O"Neil'))
    assert parse_tab_file(text.encode()).rows[0].record.last_name == 'O"Neil'


def test_swapped_id_and_type_columns_are_read_the_right_way():
    text = tab_lines(row("ABPATH", "200608132", "1000109", "ABPATH", "Test5", "Account5"))
    parsed = parse_tab_file(text.encode()).rows[0]
    assert parsed.record.learner_id_type == "ABPATH"
    assert parsed.record.learner_id == "1000109"
    assert parsed.columns[3:5] == ["1000109", "ABPATH"]  # the cells stay as given


def test_no_swap_when_the_values_are_not_unmistakable():
    text = tab_lines(row("ABPATH", "200608132", "ABPTH", "1000109"),  # a typo: validator's 712
                     row("TN", "200608132", "NPI", "1234567890"))
    records = [r.record for r in parse_tab_file(text.encode()).rows]
    assert (records[0].learner_id_type, records[0].learner_id) == ("ABPTH", "1000109")
    assert (records[1].learner_id_type, records[1].learner_id) == ("NPI", "1234567890")


def test_row_number_counts_lines_of_multiline_quoted_cells():
    text = tab_lines(row("ABO", "1", "ABO", "1", '"two\nlines"'), row("ABO", "2", "ABO", "2"))
    parsed = parse_tab_file(text.encode())
    assert [r.row_number for r in parsed.rows] == [1, 3]
    assert parsed.rows[0].record.first_name == "two\nlines"


def test_exactly_max_records_is_accepted():
    one = "\t".join(row("ABO", "200931446", "ABO", "98989", "Vincent", "Van Gogh", "03/30",
                        "2/10/2019", "Add", "0.25", "ABO MOC Part II")) + "\r\n"
    parsed = parse_tab_file((tab_lines(TEMPLATE_B_COLUMNS) + one * MAX_RECORDS).encode())
    assert len(parsed.rows) == MAX_RECORDS == 2500


def test_one_record_too_many_is_too_large():
    one = "\t".join(row("ABO", "200931446", "ABO", "98989")) + "\r\n"
    with pytest.raises(TooLargeError) as info:
        parse_tab_file((one * (MAX_RECORDS + 1)).encode())
    assert info.value.count == 2501 and info.value.limit == 2500
    assert "2,501" in info.value.message and "2,500" in info.value.message


def test_more_than_ten_megabytes_is_too_large_before_parsing():
    data = b"\x00" * (MAX_BYTES + 1)  # would be NOT_FORMATTED if it were parsed
    with pytest.raises(TooLargeError) as info:
        parse_tab_file(data)
    assert info.value.limit == MAX_BYTES == 10 * 1024 * 1024
    assert "10 MB" in info.value.message


@pytest.mark.parametrize("data", [b"", b"\r\n\r\n", b"\xef\xbb\xbf",
                                  tab_lines(TEMPLATE_B_COLUMNS).encode(),
                                  tab_lines(TEMPLATE_B_COLUMNS[:12]).encode("utf-16")])
def test_no_records(data):
    with pytest.raises(FileFormatError) as info:
        parse_tab_file(data)
    assert info.value.message == NO_RECORDS


PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.mark.parametrize("data", [
    PNG,
    seed_like().encode().replace(b"Vincent", b"Vin\x00cent").replace(b"ABO\t2", b"AB\x00\t2"),
    seed_like().encode("utf-16-le"),  # UTF-16 without a BOM: NUL bytes everywhere
    b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(1, 32)) * 20,  # an .xlsx / zip
    b"Learner Template B\t" + bytes(range(1, 9)) * 50,  # mostly control characters
])
def test_binary_content_is_not_formatted(data):
    with pytest.raises(FileFormatError) as info:
        parse_tab_file(data)
    assert info.value.message == NOT_FORMATTED


def test_xml_sent_as_tab_is_not_formatted():
    xml = b'<?xml version="1.0"?>\n<ActivityReports xmlns="http://ns.medbiq.org/activityreport/v1/">'
    with pytest.raises(FileFormatError) as info:
        parse_tab_file(xml)
    assert info.value.message == NOT_FORMATTED


def test_other_template_is_not_formatted():
    with pytest.raises(FileFormatError) as info:
        parse_tab_file(tab_lines(["Learner Template A", "ABO", "200931446"]).encode())
    assert info.value.message == NOT_FORMATTED


# Seed 001 line 221: "PARS will not reject entire files due to data entry errors": a row whose
# column 1 is not the template (a note, a totals row, a typo) is that row's error 803.
@pytest.mark.parametrize("first", ["Some notes", "Learner Template A", "Totals"])
def test_a_stray_row_is_that_rows_error_not_the_files(first):
    text = seed_like() + tab_lines([first, "ABO", "200931446"])
    parsed = parse_tab_file(text.encode())
    assert [[e.code for e in r.record.format_errors] for r in parsed.rows] == [[], [803]]
    assert parsed.rows[1].columns[0] == first  # the error report shows the row as given


def test_dos_end_of_file_marker_is_ignored():
    assert len(parse_tab_file(seed_like().encode() + b"\x1a").rows) == 1


# Every value is bounded where it enters (review H3): a cell over MAX_FIELD is that row's error
# 804 saying which column (never the value), and the value goes no further (review 2 row 8: "PARS
# will not reject entire files due to data entry errors").
@pytest.mark.parametrize("column", range(1, 17))
def test_a_cell_longer_than_the_field_limit_is_that_rows_error(column):
    cells = ["ABO", "200931446", "ABO", "98989", "Vincent", "Van Gogh", "03/30", "2/10/2019", "Add", "0.25",
             "ABO MOC Part II", "", "", "", "", ""]
    cells[column - 1] = "x" * (MAX_FIELD + 1)
    parsed = parse_tab_file((seed_like() + tab_lines(row(*cells))).encode())
    assert [[e.code for e in r.record.format_errors] for r in parsed.rows] == [[], [804]]
    hint = parsed.rows[1].record.format_errors[0].hint or ""
    assert hint == f'Column "{TEMPLATE_B_COLUMNS[column]}" has 301 characters; a value may have at most {MAX_FIELD}.'
    record = parsed.rows[1].record.model_dump(exclude={"format_errors"})
    assert all(len(v) <= MAX_FIELD for v in [*record.values(), *record["credit_types"]] if isinstance(v, str))
    assert all(len(c) <= MAX_FIELD for c in parsed.rows[1].columns)


def test_a_cell_of_exactly_the_field_limit_is_read():
    text = seed_like(first="é" * MAX_FIELD)
    assert parse_tab_file(text.encode()).rows[0].record.first_name == "é" * MAX_FIELD


def test_a_huge_cell_is_that_rows_error_and_goes_no_further():
    # The review's 1.2 MB row: nine cells of 131,000 characters (just under csv's own limit).
    [only] = parse_tab_file(tab_lines(row(*(["y" * 131_000] * 9))).encode()).rows
    assert [e.code for e in only.record.format_errors] == [804]
    assert "131,000 characters" in (only.record.format_errors[0].hint or "")
    record = only.record.model_dump(exclude={"format_errors"})
    assert all(len(v) <= MAX_FIELD for v in [*record.values(), *record["credit_types"]] if isinstance(v, str))
    assert all(len(c) <= MAX_FIELD for c in only.columns)


def test_rows_past_the_record_limit_are_counted_not_kept():
    line = tab_lines(row("ABO", "200931446", "ABO", "98989", "A", "B", "03/30", "2/10/2019", "Add", "0.25", "T"))
    with pytest.raises(TooLargeError) as info:
        parse_tab_file((line * (MAX_RECORDS * 3)).encode())
    assert info.value.count == MAX_RECORDS * 3


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_millions_of_lines_are_refused_before_they_are_read(newline):
    from pars_intake.domain.tabfile import MAX_LINES

    assert len(parse_tab_file((seed_like() + newline * (MAX_LINES - 10)).encode()).rows) == 1
    with pytest.raises(FileFormatError) as info:
        parse_tab_file((seed_like() + newline * (MAX_LINES + 1)).encode())
    assert info.value.message == NOT_FORMATTED
